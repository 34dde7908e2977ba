"""Tests for citations.importers against our own small fixtures."""

from pathlib import Path

import pytest

from citations.importers import (
    ParsedEntry,
    UnsupportedFormat,
    detect_format,
    parse_file,
)

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def _parse(name: str) -> list[ParsedEntry]:
    return parse_file((FIXTURES / name).read_bytes(), name)


def _by_key(entries: list[ParsedEntry]) -> dict[str, ParsedEntry]:
    return {e.key: e for e in entries}


# --- format detection -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("filename", "content", "expected"),
    [
        ("refs.bib", b"@article{a, title={T}}", "bibtex"),
        ("refs.ris", b"TY  - JOUR\nER  - \n", "ris"),
        ("refs.json", b"[]", "csl-json"),
        ("pubmed.nbib", b"PMID- 1\n", "medline"),
        ("pubmed-export.txt", b"PMID- 1\nTI  - T\n", "medline"),
        ("savedrecs.txt", b"FN Clarivate Analytics Web of Science\nVR 1.0\nPT J\n", "wos"),
        ("export.txt", b"TY  - JOUR\nER  - \n", "ris"),
        ("rw.csv", b"Record ID,OriginalPaperDOI\n", "retraction-watch"),
        ("", b"  @book{x, title={T}}", "bibtex"),
        ("", b'{"title": "x"}', "csl-json"),
    ],
)
def test_detect_format_uses_extension_then_content(filename, content, expected):
    assert detect_format(content, filename) == expected


def test_parse_file_raises_unsupported_format_for_unrecognisable_content():
    with pytest.raises(UnsupportedFormat, match="notes.txt"):
        parse_file(b"just some notes\nnothing bibliographic", "notes.txt")


def test_parse_file_rejects_unknown_explicit_format():
    with pytest.raises(UnsupportedFormat):
        parse_file(b"x", "x.bib", fmt="endnote-xml")


def test_explicit_format_overrides_extension():
    entries = parse_file(b"PMID- 123\nTI  - A title.\n", "download.dat", fmt="nbib")
    assert entries[0].record["pmid"] == "123"


@pytest.mark.parametrize(
    ("filename", "content"),
    [
        ("bad.json", b"[{not json"),
        ("empty.bib", b""),
        ("comment-only.bib", b"% nothing here\n"),
        ("empty.json", b"[]"),
        ("numbers.json", b"[1, 2]"),
        ("garbage.nbib", b"\x00\xff\xfe garbage"),
        ("bad.csv", b"a,b\n1,2\n"),
    ],
)
def test_bad_content_never_raises_and_is_reported_as_refused(filename, content):
    entries = parse_file(content, filename)
    assert entries
    assert all(e.record is None and e.error for e in entries)


# --- BibTeX ---------------------------------------------------------------------------


def test_bibtex_decodes_latex_and_keeps_collective_author_whole():
    good = _by_key(_parse("irregular.bib"))["good2019"]
    assert good.ok
    record = good.record
    assert record["title"] == "Café workers and DNA damage"
    assert record["authors"] == [
        {"family": "Müller", "given": "Józef"},
        {"literal": "World Health Organization"},
    ]
    assert record["issued"] == "2019-03"
    assert record["pages"] == "101-109"
    assert record["doi"] == "10.1000/abc.123"
    assert record["status"] == "active"
    assert record["status_notice"] == {}


def test_bibtex_invalid_doi_refuses_only_that_entry_naming_field_and_value():
    entries = _by_key(_parse("irregular.bib"))
    assert entries["baddoi2020"].record is None
    assert "doi" in entries["baddoi2020"].error
    assert "not-a-doi" in entries["baddoi2020"].error
    assert entries["after2022"].ok


def test_bibtex_entry_without_title_doi_or_pmid_is_refused():
    entry = _by_key(_parse("irregular.bib"))["notitle2021"]
    assert entry.record is None
    assert "title" in entry.error


def test_bibtex_unclosed_brace_mid_file_refuses_that_entry_and_keeps_later_ones():
    entries = _by_key(_parse("irregular.bib"))
    assert entries["unclosed2017"].record is None
    assert "line" in entries["unclosed2017"].error
    assert entries["pmidonly2018"].ok
    assert entries["pmidonly2018"].record["pmid"] == "29000001"
    assert entries["after2022"].ok


def test_bibtex_entries_are_indexed_in_file_order():
    entries = _parse("irregular.bib")
    assert [e.index for e in entries] == list(range(1, len(entries) + 1))


def test_bibtex_duplicate_key_keeps_first_and_refuses_second():
    text = (
        b"@article{k1, title={Kept}, year={2020}}\n"
        b"@article{k1, title={Dropped}, year={2021}}\n"
        b"@article{k2, title={Other}, year={2021}}\n"
    )
    entries = parse_file(text, "dup.bib")
    assert [e.ok for e in entries] == [True, False, True]
    assert entries[0].record["title"] == "Kept"
    assert "duplicate key" in entries[1].error


def test_bibtex_two_entries_on_one_line_both_parse():
    text = b"@article{a1, title={One}, year={2020}}@article{a2, title={Two}, year={2021}}"
    entries = parse_file(text, "x.bib")
    assert [e.record["title"] for e in entries] == ["One", "Two"]


def test_same_doi_twice_in_a_file_refuses_the_second_copy():
    text = (
        b"@article{a, title={A}, doi={10.5678/shared}}\n"
        b"@article{b, title={B}, doi={https://doi.org/10.5678/SHARED}}\n"
    )
    entries = parse_file(text, "x.bib")
    assert entries[0].ok
    assert entries[1].record is None
    assert "duplicate DOI" in entries[1].error


def test_bibtex_doi_only_in_url_is_extracted():
    text = b"@article{u, title={T}, url={https://doi.org/10.1234/urlonly.2019}}"
    (entry,) = parse_file(text, "x.bib")
    assert entry.record["doi"] == "10.1234/urlonly.2019"
    assert entry.record["url"] == ""  # a doi.org URL only repeats the DOI
    assert any("url" in w for w in entry.warnings)


def test_bibtex_editors_stay_editors_and_and_others_gives_et_al():
    # Issue 11 (12, 10): editors were stored as authors and "and others" dropped.
    text = (
        b"@book{e, editor={Hidalgo, Pablo}, title={Methods}, year={2015}, publisher={AP}}\n"
        b"@article{o, author={Gil, Miguel and others}, title={Truncated}, year={2020}}\n"
    )
    edited, truncated = parse_file(text, "x.bib")
    assert edited.record["authors"] == [{"family": "Hidalgo", "given": "Pablo", "role": "editor"}]
    assert edited.record["type"] == "book"
    assert truncated.record["authors"] == [
        {"family": "Gil", "given": "Miguel"},
        {"literal": "et al"},
    ]
    assert any("others" in w for w in truncated.warnings)


def test_missing_key_is_generated_from_author_year_and_title_word():
    text = b"PMID- 1\nDP  - 1998 Feb\nTI  - \xc3\x89tude of things.\nFAU - M\xc3\xbcller, Hans\n"
    (entry,) = parse_file(text, "x.nbib")
    assert entry.key == "muller1998etude"
    assert entry.record["key"] == "muller1998etude"


def test_colliding_generated_keys_get_letter_suffixes():
    text = (
        b"PMID- 1\nDP  - 2020\nTI  - Same start one.\nAU  - Smith J\n\n"
        b"PMID- 2\nDP  - 2020\nTI  - Same start two.\nAU  - Smith J\n"
    )
    keys = [e.key for e in parse_file(text, "x.nbib")]
    assert keys == ["smith2020same", "smith2020samea"]


# --- RIS ------------------------------------------------------------------------------


def test_ris_parses_records_and_refuses_only_the_bad_one():
    entries = _parse("two_records.ris")
    assert [e.ok for e in entries] == [True, False, True]
    first = entries[0].record
    assert first["key"] == "ris-one"
    assert first["authors"][0] == {"family": "Ångström", "given": "Åsa"}
    assert first["issued"] == "2015-06-01"
    assert first["pages"] == "401-409"
    assert first["container_title"] == "Scandinavian Journal of Public Health"
    assert first["doi"] == "10.1177/1403494815571234"
    assert "11.5555/not.a.doi" in entries[1].error


def test_ris_keeps_editors_as_editors_when_no_authors():
    # Issue 11 (12): editors stay editors (they were stored as authors).
    entry = _parse("two_records.ris")[2]
    assert entry.record["type"] == "book"
    assert entry.record["authors"] == [{"family": "Editor", "given": "Only", "role": "editor"}]
    assert entry.record["publisher"] == "Example Press"


def test_ris_with_bom_and_windows_line_endings_parses():
    text = "\ufeffTY  - JOUR\r\nTI  - Überblick\r\nDO  - 10.1000/x1\r\nER  - \r\n".encode()
    (entry,) = parse_file(text, "x.ris")
    assert entry.record["title"] == "Überblick"
    assert entry.record["doi"] == "10.1000/x1"


def test_ris_in_cp1252_is_decoded():
    text = "TY  - JOUR\nTI  - Caf\u00e9\nER  - \n".encode("cp1252")
    (entry,) = parse_file(text, "x.ris")
    assert entry.record["title"] == "Café"


# --- CSL-JSON -------------------------------------------------------------------------


def test_csl_json_single_object_is_accepted_and_url_ids_replaced_by_keys():
    (entry,) = _parse("single.json")
    record = entry.record
    assert record["key"] == "vandijk2021a"  # Zotero's URL id is not a citation key
    assert record["authors"] == [{"family": "van Dijk", "given": "Anna"}]
    assert record["issued"] == "2021"  # month 13 dropped, not guessed
    assert record["pmid"] == "34000001"
    assert record["pmcid"] == "PMC8000001"


def test_csl_json_literal_author_is_kept():
    text = b'[{"id": "g", "title": "T", "author": [{"literal": "WHO"}], "DOI": "10.1/x"}]'
    (entry,) = parse_file(text, "x.json")
    assert entry.ok is False  # 10.1 is too short a registrant code
    text = b'[{"id": "g", "title": "T", "author": [{"literal": "WHO"}], "DOI": "10.1000/x"}]'
    (entry,) = parse_file(text, "x.json")
    assert entry.record["authors"] == [{"literal": "WHO"}]


# --- MEDLINE --------------------------------------------------------------------------


def test_medline_erratum_marks_corrected_but_comment_does_not():
    paper = _parse("records.nbib")[0].record
    assert paper["status"] == "corrected"
    assert paper["status_notice"]["pmid"] == "11111113"
    assert paper["status_notice"]["doi"] == "10.9999/erratum.1"
    assert paper["status_notice"]["date"] == "2002-03"
    assert paper["pages"] == "12-18"
    assert paper["title"] == "A paper with an erratum and a comment"
    assert paper["container_title"] == "Test J"


def test_medline_retracted_without_notice_pmid_still_retracted():
    paper = _parse("records.nbib")[1].record
    assert paper["status"] == "retracted"
    assert paper["status_notice"]["pmid"] == ""
    assert paper["status_notice"]["date"] == "2007-06-01"
    assert paper["authors"] == [{"family": "Doe", "given": "J"}]
    assert paper["issued"] == "2005"


def test_medline_notice_record_stays_active_with_warning():
    notice = _parse("records.nbib")[2]
    assert notice.record["status"] == "active"
    assert notice.record["authors"] == [{"literal": "The Editors"}]
    assert notice.warnings


def test_medline_without_blank_line_between_records_still_splits():
    text = b"PMID- 1\nTI  - One.\nPMID- 2\nTI  - Two.\n"
    assert [e.record["pmid"] for e in parse_file(text, "x.nbib")] == ["1", "2"]


# --- Retraction Watch -----------------------------------------------------------------


def test_retraction_watch_folds_rows_per_paper_and_retraction_wins():
    entries = _parse("rw_small.csv")
    assert len(entries) == 2
    paper = entries[0].record
    assert paper["doi"] == "10.9999/paper-a"
    assert paper["pmid"] == "27000000"
    assert paper["status"] == "retracted"
    assert paper["status_notice"] == {
        "doi": "10.9999/retr",
        "pmid": "27000001",
        "date": "2016-05-06",
        "reason": "Fabrication",
    }
    assert paper["authors"] == [
        {"family": "Author", "given": "Ann"},
        {"family": "Builder", "given": "Bob"},
    ]


def test_retraction_watch_pmid_only_row_and_unavailable_sentinels():
    record = _parse("rw_small.csv")[1].record
    assert record["doi"] == ""
    assert record["pmid"] == "28000000"
    assert record["status"] == "expression_of_concern"
    assert record["authors"] == []


def test_retraction_watch_csv_gives_one_status_update_per_paper_through_parse_file():
    # The status updates come through the normal import path (parse_file), which
    # a Retraction Watch CSV takes like any other upload.
    updates = [e.record for e in _parse("rw_small.csv") if e.ok]
    assert [(u["doi"], u["pmid"], u["status"]) for u in updates] == [
        ("10.9999/paper-a", "27000000", "retracted"),
        ("", "28000000", "expression_of_concern"),
    ]
