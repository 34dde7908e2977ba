"""Runs the importers over every real-world file kept in tests/citations/fixtures/real-world."""

import json
from pathlib import Path

import pytest

from citations.importers import ParsedEntry, parse_file
from citations.lookup import crossref_message_to_record
from tests.helpers import REAL_WORLD, real_world_files

# Crossref responses are lookup payloads, not upload formats; they are checked separately.
_NOT_UPLOADS = ("compare_crossref_", "crossref_")


def _upload_files() -> list[Path]:
    return [p for p in real_world_files() if not p.name.startswith(_NOT_UPLOADS)]


def _parse(name: str) -> list[ParsedEntry]:
    path = REAL_WORLD / name
    return parse_file(path.read_bytes(), path.name)


def _only_record(name: str) -> dict:
    entries = _parse(name)
    assert len(entries) == 1, entries
    assert entries[0].ok, entries[0].error
    return entries[0].record


@pytest.mark.parametrize("path", _upload_files(), ids=lambda p: p.name)
def test_every_real_world_file_parses_without_raising_and_entries_are_whole(path):
    entries = parse_file(path.read_bytes(), path.name)
    assert entries
    assert any(e.ok for e in entries), [e.error for e in entries]
    for entry in entries:
        # Either a complete record or a reason: never half an entry.
        assert (entry.record is None) != (entry.error is None)
        if entry.record is not None:
            assert entry.record["title"] or entry.record["doi"] or entry.record["pmid"]
            assert entry.record["key"]
            assert entry.record["status"] in {
                "active",
                "corrected",
                "expression_of_concern",
                "retracted",
                "withdrawn",
                "superseded",
            }


def test_every_json_in_folder_is_either_crossref_or_csl():
    for path in REAL_WORLD.glob("*.json"):
        data = json.loads(path.read_text(encoding="utf-8"))
        assert isinstance(data, list | dict)


def test_wakefield_medline_is_retracted_with_2010_notice():
    record = _only_record("compare_pubmed_wakefield_retracted.txt")
    assert record["pmid"] == "9500320"
    assert record["doi"] == "10.1016/s0140-6736(97)11096-0"
    assert record["status"] == "retracted"
    assert record["status_notice"]["pmid"] == "20137807"
    assert record["status_notice"]["doi"] == "10.1016/s0140-6736(10)60175-4"
    assert record["status_notice"]["date"] == "2010-02-06"
    assert record["pages"] == "637-641"
    assert record["issued"] == "1998-02-28"
    assert record["volume"] == "351"
    assert record["issue"] == "9103"
    assert len(record["authors"]) == 13
    assert record["authors"][0] == {"family": "Wakefield", "given": "A J"}
    assert record["title"].startswith("Ileal-lymphoid-nodular hyperplasia")
    assert "  " not in record["title"]


def test_retraction_notice_record_is_not_itself_retracted():
    entries = _parse("pubmed_retraction_notice.txt")
    record = entries[0].record
    assert record["pmid"] == "20137807"
    assert record["status"] == "active"
    assert record["authors"] == [{"literal": "Editors of The Lancet"}]
    assert any("retraction notice" in w for w in entries[0].warnings)


def test_eci_medline_is_expression_of_concern():
    record = _only_record("pubmed_eci_concern.txt")
    assert record["status"] == "expression_of_concern"
    assert record["status_notice"]["pmid"] == "34710116"
    assert record["status_notice"]["doi"] == "10.1371/journal.pone.0256488"
    assert record["pmcid"] == "PMC3669410"
    assert record["doi"] == "10.1371/journal.pone.0064723"
    assert record["pages"] == "e64723"


def test_abbreviated_title_keeps_final_abbreviation_period():
    record = _only_record("pubmed_abbreviated_title.txt")
    assert record["title"].endswith("in the U.S.")
    assert record["container_title"] == "Am J Ind Med"
    assert record["issued"] == "2016-11"


def test_translated_title_keeps_brackets_and_expands_pages():
    record = _only_record("pubmed_translated_title.txt")
    assert record["title"].startswith("[Occupational exposure")
    assert record["pages"] == "623-630"


def test_wrapped_collective_author_is_one_literal():
    record = _only_record("pubmed_wrapped_authors.txt")
    assert record["authors"][:2] == [
        {"family": "Espinosa", "given": "Ana"},
        {"family": "Kogevinas", "given": "Manolis"},
    ]
    assert record["authors"][2]["literal"].startswith("MCC-Spain Multi Case-Control")
    assert record["authors"][2]["literal"].endswith("Epidemiology and Public Health")


def test_sample_bib_parses_good_entries_and_refuses_broken_ones_with_reasons():
    entries = _parse("sample.bib")
    ok = {e.key: e.record for e in entries if e.ok}
    refused = {e.key: e.error for e in entries if not e.ok}
    assert set(ok) == {
        "oneline1",
        "oneline2",
        "atsign2021",
        "lancetdoi2003",
        "urlonlydoi2019",
        "editedvolume2015",
        "collectiveauthor2018",
        "etal2020",
        "shareddoia2021",
        "dupkey2022",
    }
    assert ok["dupkey2022"]["title"] == "The entry that should survive"
    assert "duplicate key" in refused["dupkey2022"]
    assert "duplicate DOI" in refused["shareddoib2021"]
    assert "unterminated" in refused["malformed2023"]
    assert ok["urlonlydoi2019"]["doi"] == "10.1234/urlonly.2019"
    assert ok["lancetdoi2003"]["doi"] == "10.1016/s0140-6736(03)14065-2"
    assert ok["atsign2021"]["title"] == "Response to @mentions in social media surveillance"
    assert ok["collectiveauthor2018"]["authors"] == [
        {"literal": "The Endogenous Hormones and Breast Cancer Collaborative Group"}
    ]
    # Editors stay editors (issue 11, defect 12).
    assert ok["editedvolume2015"]["authors"] == [
        {"family": "Hidalgo", "given": "Pablo", "role": "editor"}
    ]
    # "and others" prints as et al (issue 11, defect 10).
    assert ok["etal2020"]["authors"][-2:] == [
        {"family": "Huerta", "given": "Consuelo"},
        {"literal": "et al"},
    ]


def test_zotero_csl_keeps_literal_author_and_string_date_parts():
    entries = _parse("zotero_csl_export.json")
    records = {e.key: e.record for e in entries}
    assert all(e.ok for e in entries)
    assert records["ehbccg2002"]["authors"] == [
        {"literal": "The Endogenous Hormones and Breast Cancer Collaborative Group"}
    ]
    assert records["papantoniou2017"]["issued"] == "2017-08-15"
    assert records["papantoniou2017"]["url"] == ""  # doi.org URL only repeats the DOI
    assert records["hidalgo2015"]["issued"] == "2015"
    # Editors stay editors (issue 11, defect 12).
    assert records["hidalgo2015"]["authors"] == [
        {"family": "Hidalgo", "given": "Manuel", "role": "editor"}
    ]


def test_ris_with_bom_parses_doi_only_record():
    record = _only_record("example_bom.ris")
    assert record["doi"] == "10.1186/s40981-020-0316-0"
    assert record["type"] == "article-journal"


def test_ris_with_utf8_characters_keeps_cyrillic_title_and_names():
    record = _only_record("example_utf_chars.ris")
    assert record["title"].startswith("Состояние рецепторного аппарата")
    assert record["authors"][0] == {"family": "Dobrokhotova", "given": "Yu E."}
    assert record["volume"] == "8"
    assert record["pages"] == "52-57"
    assert record["container_title"] == "Gynecology, Obstetrics and Perinatology"


def test_web_of_science_export_parses_both_records():
    entries = _parse("example_wos.ris")
    assert [e.record["doi"] for e in entries] == ["10.1021/bi049798f", "10.1021/bi0497291"]
    assert [e.record["pmid"] for e in entries] == ["15170338", "15170339"]
    assert entries[0].record["authors"][0] == {"family": "Parkes-Loach", "given": "PS"}
    assert entries[0].record["pages"] == "7003-7016"
    assert entries[0].record["issued"] == "2004-06-08"


def test_retraction_watch_sample_statuses():
    entries = _parse("retraction_watch_sample.csv")
    by_doi = {e.record["doi"]: e.record for e in entries if e.ok}
    refused = [e.error for e in entries if not e.ok]
    wakefield = by_doi["10.1016/s0140-6736(97)11096-0"]
    assert wakefield["status"] == "retracted"  # the 2004 correction is superseded
    assert wakefield["pmid"] == "9500320"
    assert wakefield["status_notice"]["pmid"] == "20137807"
    assert wakefield["status_notice"]["date"] == "2010-02-06"
    assert by_doi["10.1371/journal.pone.0064723"]["status"] == "expression_of_concern"
    assert by_doi["10.3390/nano14090769"]["status"] == "corrected"
    assert by_doi["10.1016/j.heliyon.2023.e18637"]["status"] == "active"
    # Retracted in 2020, reinstated in 2022: the later reinstatement wins.
    assert by_doi["10.9999/reinstated-paper"]["status"] == "active"
    assert by_doi["10.9999/blank-nature-paper"]["status"] == "retracted"
    assert len(refused) == 3
    assert any("90003" in r and "OriginalPaperDOI" in r for r in refused)
    assert any("90004" in r and "Unavailable" in r for r in refused)
    assert any("90005" in r and "Republication" in r for r in refused)


def test_retraction_watch_updates_keyed_by_doi_and_pmid_through_parse_file():
    updates = [e.record for e in _parse("retraction_watch_sample.csv") if e.ok]
    by_pmid = {u["pmid"]: u for u in updates if u["pmid"]}
    assert by_pmid["9500320"]["status"] == "retracted"
    assert by_pmid["23741377"]["status"] == "expression_of_concern"


@pytest.mark.parametrize(
    ("name", "status", "notice_doi"),
    [
        (
            "compare_crossref_wakefield_retracted.json",
            "retracted",
            "10.1016/s0140-6736(10)60175-4",
        ),
        (
            "compare_crossref_expression_of_concern.json",
            "expression_of_concern",
            "10.1371/journal.pone.0256488",
        ),
        (
            "crossref_reciprocal_retracted_paper.json",
            "retracted",
            "10.1016/s0140-6736(20)31324-6",
        ),
    ],
)
def test_crossref_payloads_give_status_and_latest_notice(name, status, notice_doi):
    data = json.loads((REAL_WORLD / name).read_text(encoding="utf-8"))
    record = crossref_message_to_record(data.get("message", data))
    assert record["status"] == status
    assert record["status_notice"]["doi"] == notice_doi
