"""Tests for citations.numbering: first-appearance numbering and range collapsing."""

import pytest

from citations.markers import find_markers
from citations.numbering import collapse_ranges, number_citations, number_groups

SOURCES = {
    "trapp1998": "S-trapp",
    "doi:10.1056/NEJM199801293380502": "S-trapp",
    "frischer2009": "S-frischer",
    "sastre2020": "S-sastre",
    "wakefield1998": "S-wakefield",
}


def numbering(markdown):
    return number_citations(find_markers(markdown), SOURCES.get)


def test_sources_are_numbered_by_first_appearance():
    result = numbering("[@frischer2009] then [@trapp1998; @sastre2020]")
    assert result.sources == [
        (1, "S-frischer", "frischer2009"),
        (2, "S-trapp", "trapp1998"),
        (3, "S-sastre", "sastre2020"),
    ]
    assert result.marker_numbers == [(1,), (2, 3)]


def test_repeated_source_reuses_its_number():
    result = numbering("[@trapp1998] [@frischer2009] [@trapp1998]")
    assert result.marker_numbers == [(1,), (2,), (1,)]
    assert len(result.sources) == 2


def test_source_cited_under_another_key_reuses_its_number():
    result = numbering("[@trapp1998] [@frischer2009] [@doi:10.1056/NEJM199801293380502]")
    assert result.marker_numbers == [(1,), (2,), (1,)]
    assert result.sources[0].first_key == "trapp1998"


def test_same_source_twice_in_one_marker_is_listed_once():
    result = numbering("[@trapp1998; @doi:10.1056/NEJM199801293380502; @frischer2009]")
    assert result.marker_numbers == [(1, 2)]


def test_backlink_anchors_count_each_citing_place():
    result = numbering(
        "[@trapp1998] [@frischer2009; @trapp1998] [@doi:10.1056/NEJM199801293380502]"
    )
    assert result.backlinks == {1: ["cite-1-1", "cite-1-2", "cite-1-3"], 2: ["cite-2-1"]}
    assert result.marker_anchors[1] == {2: "cite-2-1", 1: "cite-1-2"}


def test_unresolved_keys_are_reported_with_positions_and_get_no_number():
    text = "Known [@trapp1998].\nUnknown [@ghost2001; @frischer2009]"
    result = numbering(text)
    (missing,) = result.unresolved
    assert missing.key == "ghost2001"
    assert (missing.line, missing.column) == (2, 9)
    assert missing.position == text.index("[@ghost2001")
    assert result.marker_numbers == [(1,), (2,)]


def test_number_for_returns_none_for_uncited_source():
    result = numbering("[@trapp1998]")
    assert result.number_for("S-trapp") == 1
    assert result.number_for("S-wakefield") is None


@pytest.mark.parametrize(
    ("numbers", "expected"),
    [
        ([], ""),
        ([4], "4"),
        ([1, 2], "1, 2"),
        ([1, 2, 3], "1\u20133"),
        ([1, 2, 3, 5], "1\u20133, 5"),
        ([5, 3, 1, 2, 2], "1\u20133, 5"),
        ([1, 2, 4, 5, 6, 9, 10], "1, 2, 4\u20136, 9, 10"),
        ([7, 8, 9, 10, 11], "7\u201311"),
        ((n for n in (3, 1)), "1, 3"),
    ],
)
def test_collapse_ranges_follows_ama_convention(numbers, expected):
    assert collapse_ranges(numbers) == expected


def test_number_groups_keep_two_runs_as_singles():
    assert number_groups([1, 2, 4, 5, 6]) == [(1, 1), (2, 2), (4, 6)]
