"""Tests for citations.identifiers: DOI/PMID/PMCID, titles, dates, duplicate signatures."""

import pytest

from citations.identifiers import (
    InvalidIdentifier,
    doi_from_text,
    doi_from_url,
    duplicate_signature,
    normalize_doi,
    normalize_issued,
    normalize_pmcid,
    normalize_pmid,
    normalize_title,
)


@pytest.mark.parametrize(
    "value",
    [
        "10.1016/S0140-6736(97)11096-0",
        " doi:10.1016/S0140-6736(97)11096-0 ",
        "DOI: 10.1016/s0140-6736(97)11096-0",
        "https://doi.org/10.1016/S0140-6736(97)11096-0",
        "http://dx.doi.org/10.1016/S0140-6736(97)11096-0",
        "doi.org/10.1016/S0140-6736(97)11096-0",
        "info:doi/10.1016/S0140-6736(97)11096-0",
        "https://doi.org/10.1016%2FS0140-6736(97)11096-0",
    ],
)
def test_normalize_doi_strips_prefixes_and_lowercases(value):
    assert normalize_doi(value) == "10.1016/s0140-6736(97)11096-0"


@pytest.mark.parametrize(
    "value", ["", None, "not-a-doi", "11.1234/x", "10.12/x", "10.1234/", "10.1234/a b"]
)
def test_normalize_doi_rejects_non_dois_with_invalid_identifier(value):
    with pytest.raises(InvalidIdentifier):
        normalize_doi(value)


def test_invalid_identifier_is_a_value_error_and_names_the_value():
    with pytest.raises(ValueError, match="not-a-doi"):
        normalize_doi("not-a-doi")


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://doi.org/10.1234/urlonly.2019", "10.1234/urlonly.2019"),
        (
            "https://journals.example.org/doi/full/10.1177/1403494815571234?src=x",
            "10.1177/1403494815571234",
        ),
        ("https://onlinelibrary.wiley.com/doi/10.1002/ajim.22619/abstract", "10.1002/ajim.22619"),
        ("https://example.org/paper/42", ""),
        ("", ""),
        (None, ""),
    ],
)
def test_doi_from_url_extracts_doi_or_returns_empty(url, expected):
    assert doi_from_url(url) == expected


def test_doi_from_text_drops_sentence_full_stop():
    cite = "Lancet. 1998 Feb 28;351(9103):637-41. doi: 10.1016/s0140-6736(97)11096-0."
    assert doi_from_text(cite) == "10.1016/s0140-6736(97)11096-0"


@pytest.mark.parametrize("value", ["123", " PMID: 123", "pmid:123", "PMID 123", 123, "000123"])
def test_normalize_pmid_accepts_prefixes_and_returns_digits(value):
    assert normalize_pmid(value) == "123"


@pytest.mark.parametrize("value", ["", None, "PMID:", "abc", "12a3", "0", "-5", True])
def test_normalize_pmid_rejects_non_positive_or_non_digit_values(value):
    with pytest.raises(InvalidIdentifier):
        normalize_pmid(value)


@pytest.mark.parametrize(
    "value", ["PMC3669410", "pmc3669410", "3669410", " PMC 3669410 ", "PMCID: PMC3669410"]
)
def test_normalize_pmcid_returns_pmc_prefixed_digits(value):
    assert normalize_pmcid(value) == "PMC3669410"


@pytest.mark.parametrize("value", ["", "PMC", "PMCabc", "PM123", "PMC0"])
def test_normalize_pmcid_rejects_malformed_values(value):
    with pytest.raises(InvalidIdentifier):
        normalize_pmcid(value)


def test_normalize_title_ignores_case_accents_punctuation_and_trailing_period():
    assert (
        normalize_title("  Café  Workers: DNA-damage, revisited. ")
        == "cafe workers dna damage revisited"
    )


def test_normalize_title_drops_translation_brackets():
    assert normalize_title("[Occupational exposure to pesticides].") == normalize_title(
        "Occupational exposure to pesticides"
    )


def test_normalize_title_ignores_crossref_retracted_prefix():
    assert normalize_title("RETRACTED: Ileal-lymphoid-nodular hyperplasia.") == normalize_title(
        "Ileal-lymphoid-nodular hyperplasia"
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1998, "1998"),
        ("1998", "1998"),
        ("1998-02", "1998-02"),
        ("1998-02-28", "1998-02-28"),
        ("1998/2/28", "1998-02-28"),
        ("1998 Feb 28", "1998-02-28"),
        ("2016 Nov", "2016-11"),
        ("1998 Feb-Mar", "1998-02"),
        ("2004 Spring", "2004"),
        ("19980317", "1998-03-17"),
        ("2/6/2010 0:00", "2010-02-06"),
        ("2017-08-15T10:00:00Z", "2017-08-15"),
        ({"date-parts": [[2017, 8, 15]]}, "2017-08-15"),
        ({"date-parts": [["2017", "8"]]}, "2017-08"),
        ({"date-parts": [[2002, 13, 1]]}, "2002"),
        ({"date-parts": [[2001, 2, 30]]}, "2001-02"),
        ({"raw": "2015"}, "2015"),
        ({"literal": "Spring 1999"}, "1999"),
        ([[1998, 2]], "1998-02"),
        ("", ""),
        (None, ""),
        ("0:00", ""),
        ("n.d.", ""),
    ],
)
def test_normalize_issued_returns_iso_partial_dates(value, expected):
    assert normalize_issued(value) == expected


def test_duplicate_signature_matches_across_formats():
    medline = {
        "title": "Ileal-lymphoid-nodular hyperplasia, non-specific colitis.",
        "issued": "1998-02-28",
        "authors": [{"family": "Wakefield", "given": "A J"}],
    }
    crossref = {
        "title": "RETRACTED: Ileal-lymphoid-nodular hyperplasia, non-specific colitis",
        "issued": "1998-02",
        "authors": [{"family": "WAKEFIELD", "given": "AJ"}],
    }
    assert duplicate_signature(medline) == duplicate_signature(crossref)
    assert duplicate_signature(medline) == (
        "ileal lymphoid nodular hyperplasia non specific colitis",
        "1998",
        "wakefield",
    )


def test_duplicate_signature_uses_literal_author_and_tolerates_missing_fields():
    assert duplicate_signature({"authors": [{"literal": "WHO"}]}) == ("", "", "who")
    assert duplicate_signature({}) == ("", "", "")
