"""Three-way merge of an article body, line by line (diff3's rule).

Two editors start from the same revision (the base). Where only one of them changed a
run of lines, the merge takes that change; where both made the same change, it is taken
once; where both changed the same lines differently, that region is a conflict and the
merge keeps *mine* there (the editor decides).

Written on the standard library's ``difflib`` rather than taken from a package: the
maintained one (``merge3``, from Breezy) is GPL-2.0, and this project is proprietary.
"""

from __future__ import annotations

from dataclasses import dataclass
from difflib import SequenceMatcher


@dataclass(frozen=True)
class Merge:
    """The merged text, how many regions both sides changed differently, and whether any
    of their changes came in."""

    text: str
    conflicts: int
    took_theirs: bool = False

    @property
    def clean(self) -> bool:
        return self.conflicts == 0


def _matches(base: list[str], other: list[str]) -> list[tuple[int, int, int]]:
    return SequenceMatcher(None, base, other, autojunk=False).get_matching_blocks()


def _sync_regions(base: list[str], mine: list[str], theirs: list[str]):
    """Runs of base lines that both sides kept, as (base, mine, theirs) start/end triples,
    ending with the ends of the three texts."""
    ours, others = _matches(base, mine), _matches(base, theirs)
    i = j = 0
    while i < len(ours) and j < len(others):
        base_a, mine_at, length_a = ours[i]
        base_b, theirs_at, length_b = others[j]
        low, high = max(base_a, base_b), min(base_a + length_a, base_b + length_b)
        if low < high:
            m, t = mine_at + low - base_a, theirs_at + low - base_b
            yield (low, high), (m, m + high - low), (t, t + high - low)
        if base_a + length_a < base_b + length_b:
            i += 1
        else:
            j += 1
    yield (len(base), len(base)), (len(mine), len(mine)), (len(theirs), len(theirs))


def _lines(text: str) -> list[str]:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    # A form strips the body's final newline and a stored body may keep it: the last line
    # is the same line either way.
    if text and not text.endswith("\n"):
        text += "\n"
    return text.splitlines(keepends=True)


def merge_texts(base: str, mine: str, theirs: str) -> Merge:
    """Merge ``mine`` and ``theirs``, both edited from ``base``.

    Line endings are normalised to ``\\n`` (a browser posts ``\\r\\n``), and the result
    ends with one.
    """
    base_lines, mine_lines, their_lines = _lines(base), _lines(mine), _lines(theirs)
    merged: list[str] = []
    conflicts = 0
    took_theirs = False
    at_base = at_mine = at_theirs = 0
    for (base_start, base_end), (mine_start, mine_end), (theirs_start, theirs_end) in _sync_regions(
        base_lines, mine_lines, their_lines
    ):
        was = base_lines[at_base:base_start]
        my_part = mine_lines[at_mine:mine_start]
        their_part = their_lines[at_theirs:theirs_start]
        if my_part == their_part or their_part == was:
            merged += my_part
        elif my_part == was:
            merged += their_part
            took_theirs = True
        else:
            conflicts += 1
            merged += my_part
        merged += base_lines[base_start:base_end]
        at_base, at_mine, at_theirs = base_end, mine_end, theirs_end
    return Merge("".join(merged), conflicts, took_theirs)
