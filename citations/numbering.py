"""Citation numbering by order of first appearance, and AMA-style range collapsing.

Numbers are assigned to *sources*, not keys: ``resolve(key)`` maps every cited
key to a hashable source id (or ``None`` when the key is unknown), so a source
cited as ``@trapp1998`` and later as ``@doi:10.1056/...`` keeps number 1.

Anchor ids for backlinks follow ``cite-{number}-{k}``, where ``k`` counts the
markers citing that number, in document order, from 1.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from citations.markers import Marker

__all__ = [
    "NumberedSource",
    "Numbering",
    "UnresolvedCitation",
    "anchor_id",
    "collapse_ranges",
    "number_citations",
    "number_groups",
]

EN_DASH = "\u2013"


class NumberedSource(NamedTuple):
    """A numbered reference: its number, the resolved source id and the key first used."""

    number: int
    source_id: Hashable
    first_key: str


@dataclass(frozen=True)
class UnresolvedCitation:
    """A cited key that ``resolve`` could not map to a source."""

    marker: Marker
    key: str

    @property
    def position(self) -> int:
        """Offset of the marker in the source text."""
        return self.marker.start

    @property
    def line(self) -> int:
        """1-based line of the marker."""
        return self.marker.line

    @property
    def column(self) -> int:
        """1-based column of the marker."""
        return self.marker.column


@dataclass
class Numbering:
    """The outcome of numbering the markers of one article.

    ``marker_numbers[i]`` holds the numbers cited by ``markers[i]`` in item order
    without duplicates (unresolved items are left out); ``marker_anchors[i]``
    maps each of those numbers to the anchor id of that citing place.
    """

    marker_numbers: list[tuple[int, ...]] = field(default_factory=list)
    marker_anchors: list[dict[int, str]] = field(default_factory=list)
    sources: list[NumberedSource] = field(default_factory=list)
    unresolved: list[UnresolvedCitation] = field(default_factory=list)
    backlinks: dict[int, list[str]] = field(default_factory=dict)
    numbers_by_source: dict[Hashable, int] = field(default_factory=dict, repr=False)

    def number_for(self, source_id: Hashable) -> int | None:
        """Return the number given to ``source_id``, or None if it was not cited."""
        return self.numbers_by_source.get(source_id)


def anchor_id(number: int, occurrence: int) -> str:
    """Return the id of the ``occurrence``-th place (1-based) citing ``number``."""
    return f"cite-{number}-{occurrence}"


def number_citations(
    markers: Sequence[Marker], resolve: Callable[[str], Hashable | None]
) -> Numbering:
    """Number the sources cited by ``markers`` in order of first appearance."""
    result = Numbering()
    numbers_by_source = result.numbers_by_source
    for marker in markers:
        numbers: list[int] = []
        for item in marker.items:
            source_id = resolve(item.key)
            if source_id is None:
                result.unresolved.append(UnresolvedCitation(marker=marker, key=item.key))
                continue
            number = numbers_by_source.get(source_id)
            if number is None:
                number = len(numbers_by_source) + 1
                numbers_by_source[source_id] = number
                result.sources.append(NumberedSource(number, source_id, item.key))
            if number not in numbers:
                numbers.append(number)
        anchors: dict[int, str] = {}
        for number in numbers:
            places = result.backlinks.setdefault(number, [])
            places.append(anchor_id(number, len(places) + 1))
            anchors[number] = places[-1]
        result.marker_numbers.append(tuple(numbers))
        result.marker_anchors.append(anchors)
    return result


def number_groups(numbers: Iterable[int]) -> list[tuple[int, int]]:
    """Split numbers into display groups ``(first, last)`` following AMA conventions.

    The numbers are sorted and de-duplicated. A run of three or more consecutive
    numbers becomes one group ``(first, last)``; a run of exactly two stays as
    two single groups, because AMA writes "1, 2" rather than "1-2".
    """
    ordered = sorted(set(numbers))
    groups: list[tuple[int, int]] = []
    index = 0
    while index < len(ordered):
        end = index
        while end + 1 < len(ordered) and ordered[end + 1] == ordered[end] + 1:
            end += 1
        if end - index >= 2:
            groups.append((ordered[index], ordered[end]))
        else:
            groups.extend((n, n) for n in ordered[index : end + 1])
        index = end + 1
    return groups


def collapse_ranges(numbers: Iterable[int]) -> str:
    """Format numbers AMA-style: ``[1, 2, 3, 5, 6]`` becomes ``"1\u20133, 5, 6"``.

    Sorted and de-duplicated; runs of three or more consecutive numbers collapse
    to ``first\u2013last`` with an en dash, runs of two are written out ("5, 6"),
    and groups are separated by ", ". An empty input gives "".
    """
    return ", ".join(
        str(first) if first == last else f"{first}{EN_DASH}{last}"
        for first, last in number_groups(numbers)
    )
