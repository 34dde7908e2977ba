"""The BibTeX name fast paths give what bibtexparser's own name rules give.

``_split_people`` and ``_name_parts`` skip bibtexparser's state machines for plain
names (the 10 MB import spent a quarter of its parse there); every name of every
BibTeX fixture, and a set of awkward ones, must come out as bibtexparser splits it.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from bibtexparser.middlewares.names import (
    parse_single_name_into_parts,
    split_multiple_persons_names,
)

from citations.importers.bibtex import _bibtex_person, _name_parts, _split_people

FIXTURES = Path(__file__).parent / "fixtures"
AWKWARD = [
    "Family1, Given", "van Eijck, C", "Given Family", "Jean-Paul Sartre", "Émile Zola",
    "Ludwig van Beethoven", "1st Name", "A. B. Smith", "Smith,  J. R.", "O'Neil, J",
    "de la Fontaine, Jean", "Müller, Jürgen", "King, Jr., Martin Luther", "Doe, III, J",
    "others", "Plato", "{World Health Organization}", "{{WHO}}", "M{\\\"u}ller, J{\\'e}r{\\^o}me",
    "Donald~E. Knuth", "Smith, ", ", John", "a b c", "Van Gogh Vincent", "ÉCOLE normale",
    "Lv, Xiaodong", "Gamernyk RV", "Fanning E.", "Smith,\tJohn\nPaul", "Jr, Sammy",
]  # fmt: skip
LISTS = [
    "A and B AND C", "A  and\nB", "A and", "and B", "A andB and C", "A and and B",
    "A\tand\tB", "A~and~B", " A and B ", "{Simon and Schuster} and Doe, J", "", "  ",
    "Family1, Given and Second, Person and Other, Person", "A aNd B",
]  # fmt: skip


def _fixture_names() -> list[str]:
    names = set()
    for path in FIXTURES.rglob("*.bib"):
        text = path.read_text(encoding="utf-8", errors="replace")
        for match in re.finditer(r"(?im)^\s*(?:author|editor)\s*=\s*[{\"](.*)[}\"],?\s*$", text):
            names.update(split_multiple_persons_names(match.group(1)))
    return sorted(names)


def _library(name: str):
    try:
        return _bibtex_person(parse_single_name_into_parts(name), "author")
    except Exception as exc:  # noqa: BLE001 - the same error must come from both
        return type(exc)


def _ours(name: str):
    try:
        return _bibtex_person(_name_parts(name), "author")
    except Exception as exc:  # noqa: BLE001
        return type(exc)


@pytest.mark.parametrize("name", AWKWARD)
def test_an_awkward_name_is_split_as_bibtexparser_splits_it(name):
    assert _ours(name) == _library(name)


def test_every_fixture_name_is_split_as_bibtexparser_splits_it():
    names = _fixture_names()
    assert len(names) > 20  # the fixtures really were read
    assert [(n, _ours(n)) for n in names] == [(n, _library(n)) for n in names]


@pytest.mark.parametrize("value", LISTS)
def test_a_name_list_is_split_as_bibtexparser_splits_it(value):
    assert _split_people(value) == split_multiple_persons_names(value)
