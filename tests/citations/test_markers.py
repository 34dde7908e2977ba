"""Tests for citations.markers: pandoc-style citation markers in Markdown."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from citations.markers import CiteItem, MarkerSyntaxError, check_markers, find_markers


def keys(markdown):
    return [[item.key for item in marker.items] for marker in find_markers(markdown)]


def test_single_key_marker_is_found_with_position():
    text = "Axons are cut [@trapp1998]."
    (marker,) = find_markers(text)
    assert marker.items == (CiteItem("trapp1998", ""),)
    assert (marker.start, marker.end) == (14, 26)
    assert text[marker.start : marker.end] == marker.text == "[@trapp1998]"
    assert (marker.line, marker.column) == (1, 15)


def test_multiple_keys_are_split_on_semicolons():
    assert keys("[@a; @b;@c]") == [["a", "b", "c"]]


def test_locator_after_comma_is_captured():
    (marker,) = find_markers("[@trapp1998, p. 280; @frischer2009, fig. 2]")
    assert marker.items == (CiteItem("trapp1998", "p. 280"), CiteItem("frischer2009", "fig. 2"))


def test_line_and_column_are_one_based_and_count_crlf_as_a_break():
    (marker,) = find_markers("first\r\nsecond [@k]\n")
    assert (marker.line, marker.column, marker.start) == (2, 8, 14)


def test_key_with_internal_punctuation_is_kept_whole():
    assert keys("[@smith:2004-a.b]") == [["smith:2004-a.b"]]


@pytest.mark.parametrize(
    "doi",
    [
        "10.1016/s0140-6736(97)11096-0",
        "10.1056/NEJM199801293380502",
        "10.1002/(SICI)1097-4636(199706)35:4<463::AID-JBM5>3.0.CO;2-2",
        "10.1000/a[b]c",
    ],
)
def test_real_world_doi_keys_are_kept_intact(doi):
    assert keys(f"See [@doi:{doi}].") == [[f"doi:{doi}"]]


def test_doi_ends_at_item_separator_and_locator():
    (marker,) = find_markers(
        "[@doi:10.1016/s0140-6736(97)11096-0, p. 638; @doi:10.1093/brain/awp070]"
    )
    assert marker.items == (
        CiteItem("doi:10.1016/s0140-6736(97)11096-0", "p. 638"),
        CiteItem("doi:10.1093/brain/awp070", ""),
    )


def test_doi_and_pmid_prefixes_are_lower_cased():
    assert keys("[@DOI:10.1093/brain/awp070; @PMID:9445407]") == [
        ["doi:10.1093/brain/awp070", "pmid:9445407"]
    ]


def test_markers_are_returned_in_document_order():
    assert keys("[@b] text [@a]\n\nmore [@c]") == [["b"], ["a"], ["c"]]


def test_marker_in_code_span_is_not_a_citation():
    assert keys("Use `[@key]` or ``x [@key2] y`` but cite [@real].") == [["real"]]


def test_marker_in_fenced_code_block_is_not_a_citation():
    text = "Intro [@a]\n\n```markdown\n[@b]\n```\n\n~~~\n[@c]\n~~~\nAfter [@d]"
    assert keys(text) == [["a"], ["d"]]


def test_marker_in_indented_code_block_is_not_a_citation():
    assert keys("Para.\n\n    [@code]\n\nText [@real]") == [["real"]]


def test_marker_in_fenced_block_inside_list_is_not_a_citation():
    assert keys("- item\n\n  ```\n  [@code]\n  ```\n- cite [@real]") == [["real"]]


def test_escaped_bracket_is_not_a_citation():
    assert keys(r"Literal \[@key] here") == []


def test_double_backslash_does_not_escape_the_bracket():
    assert keys(r"Path C:\\[@key]") == [["key"]]


@pytest.mark.parametrize(
    "text",
    [
        "write to a@b.com",
        "[link](http://x)",
        "[@key](http://example.org)",
        "[@key]: http://example.org",
        "email [a@b.com]",
        "[see @key]",
        "no brackets @key here",
    ],
)
def test_text_that_is_not_a_citation_is_ignored(text):
    assert find_markers(text) == []
    assert check_markers(text) == []


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("[@]", "missing citation key"),
        ("[@key; ]", "expected '@key'"),
        ("[@key", "not closed"),
        ("[@key\nmore]", "not closed"),
        ("[@ key]", "missing citation key"),
        ("[@key, ]", "empty locator"),
        ("[@key.]", "unexpected '.'"),
        ("[@pmid:12ab]", "digits only"),
        ("[@doi:nonsense]", "DOI like"),
    ],
)
def test_malformed_marker_raises_with_location(text, fragment):
    with pytest.raises(MarkerSyntaxError) as caught:
        find_markers("Intro line\nSee " + text)
    error = caught.value
    assert fragment in error.message
    assert (error.line, error.column, error.position) == (2, 5, 15)
    assert error.text.startswith("[@")


def test_check_markers_reports_every_problem_without_raising():
    text = "ok [@a]\nbad [@]\nalso [@b; ] and [@c]"
    problems = check_markers(text)
    assert [(p["marker"], p["line"], p["column"]) for p in problems] == [
        ("[@]", 2, 5),
        ("[@b; ]", 3, 6),
    ]
    assert all(p["error"] and p["position"] >= 0 for p in problems)
    assert problems[0]["position"] == text.index("[@]")


def test_marker_after_a_malformed_one_on_the_same_line_is_still_found():
    problems = check_markers("[@a [@b]")
    assert len(problems) == 1
    with pytest.raises(MarkerSyntaxError):
        find_markers("[@a [@b]")


def test_malformed_marker_in_code_is_ignored():
    assert check_markers("`[@]` and\n\n    [@key\n") == []


@settings(max_examples=400, deadline=None)
@given(st.text())
def test_find_markers_only_ever_raises_marker_syntax_error(text):
    try:
        markers = find_markers(text)
    except MarkerSyntaxError as error:
        assert 0 <= error.position < len(text)
        assert text[error.position : error.position + 2] == "[@"
    else:
        for marker in markers:
            assert text[marker.start : marker.end] == marker.text
            assert marker.items


_MARKDOWNISH = st.text(
    alphabet=st.sampled_from(list("[]@;,:.-_/()`\\ \n\r\t>#*~ab1090doipm")), max_size=80
)


@settings(max_examples=600, deadline=None)
@given(_MARKDOWNISH)
def test_marker_like_noise_never_crashes_and_check_agrees_with_find(text):
    problems = check_markers(text)
    try:
        find_markers(text)
    except MarkerSyntaxError as error:
        assert problems and problems[0]["position"] == error.position
    else:
        assert problems == []
