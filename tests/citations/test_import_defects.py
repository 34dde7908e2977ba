"""Issue 11: importers that survive real reference libraries.

Each test reads a small real-shaped file from ``fixtures/issue11`` (see PROVENANCE.md
there) and checks one rule of PRODUCT.md's Import bullet, usually as the stored
source and the AMA entry an editor would see on the published page.
"""

import logging
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from citations import services
from citations.formatting import format_entries
from citations.importers import UnsupportedFormat, parse_file
from citations.models import Source
from tests.citations.test_lookup import replay_server  # noqa: F401 (fixture)
from tests.helpers import client_for

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "issue11"


def _import(name: str, data: bytes | None = None) -> dict:
    data = (FIXTURES / name).read_bytes() if data is None else data
    return services.source_import(actor=None, data=data, filename=name)


def _records(name: str) -> list[dict]:
    path = FIXTURES / name
    return [e.record for e in parse_file(path.read_bytes(), path.name) if e.ok]


def _ama(source: Source) -> str:
    return format_entries([services.source_to_record(source)])[0]


# --- 1: a NUL byte refuses that entry, never the file --------------------------------------


def test_a_nul_byte_refuses_its_entry_and_the_others_are_stored():
    report = _import("nul_byte.ris")
    assert (report["created"], report["refused"]) == (2, 1)
    refused = next(line for line in report["entries"] if line["outcome"] == "refused")
    assert refused["index"] == 2
    assert "NUL" in refused["reason"] and "title" in refused["reason"]
    assert sorted(Source.objects.values_list("doi", flat=True)) == [
        "10.1056/nejm199801293380502",
        "10.1056/nejmra1401483",
    ]
    assert all("\x00" not in title for title in Source.objects.values_list("title", flat=True))


def test_a_nul_byte_through_the_api_is_no_500(editor):
    upload = SimpleUploadedFile("nul.ris", (FIXTURES / "nul_byte.ris").read_bytes())
    response = client_for(editor).post("/api/v1/sources/import/", {"file": upload})
    assert response.status_code in (200, 201), response.content
    assert Source.objects.count() == 2


# --- 2: field names are case-insensitive ---------------------------------------------------


def test_bibtex_field_names_are_case_insensitive_for_people():
    records = {r["key"]: r for r in _records("wos_field_case.bib")}
    wos = records["ISI:000856754500001"]
    assert [a["family"] for a in wos["authors"]] == ["Gamernyk", "van Eijck", "Jonas"]
    jabref = records["Jabref2019"]
    assert [a["family"] for a in jabref["authors"]] == ["Lee", "Park"]
    assert jabref["container_title"] == "Journal of Neurology"
    book = records["Hidalgo2013"]
    assert book["authors"] == [{"family": "Hidalgo", "given": "M.", "role": "editor"}]


# --- 4: re-importing creates nothing ---------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    ["no_year_no_id.bib", "ris_shapes.ris", "medline_names.nbib", "bibtex_macros.bib"],
)
def test_reimporting_a_file_creates_nothing(name):
    first = _import(name)
    assert first["created"] >= 2
    count = Source.objects.count()
    second = _import(name)
    assert second["created"] == 0, second["entries"]
    assert Source.objects.count() == count
    assert not Source.objects.filter(key__endswith="-2").exists()


# --- 5: run-together initials stay whole -----------------------------------------------------


def test_run_together_initials_print_whole_in_ama():
    _import("medline_names.nbib")
    source = Source.objects.get(pmid="36069758")
    entry = _ama(source)
    assert entry.startswith("Gamernyk RV, van Eijck CH, Doe J 3rd.")


def test_run_together_initials_from_bibtex_print_whole():
    _import("wos_field_case.bib")
    entry = _ama(Source.objects.get(doi="10.7554/elife.80092"))
    assert entry.startswith("Gamernyk RV, van Eijck CH, Jonas P.")


# --- 7: RIS journal names, dates, names, repeated IDs ---------------------------------------


def test_ris_journal_full_name_and_abbreviation_dates_names_and_repeated_ids():
    report = _import("ris_shapes.ris")
    assert report["refused"] == 0, report["entries"]
    first, second, third = (Source.objects.get(pk=line["source"]) for line in report["entries"])
    assert first.container_title == "Journal of Virology"
    assert first.container_title_short == "J Virol"
    assert first.issued == "1998-01-29"
    assert first.authors == [{"family": "Fanning", "given": "E."}]
    assert second.container_title == "Biochemical Journal"
    assert second.container_title_short == "Biochem J"
    assert second.issued == "1999"
    assert second.key != first.key
    assert third.issued == "1999"
    assert _ama(first).startswith("Fanning E. Journal full name and abbreviations. <i>J Virol</i>.")


def test_a_ris_or_medline_tag_given_twice_keeps_the_first_value_and_says_so():
    """The sibling of BibTeX's field given twice: rispy kept the first of a repeated tag
    silently, even an empty one (``TI  - `` then ``TI  - Real`` lost the title), and
    MEDLINE's second TI vanished without a word. Both keep the first non-empty value now
    and the report names the tag; a tag repeated with the same value, or AU repeated, is
    no news."""
    ris = (
        "TY  - JOUR\nTI  - \nTI  - Axonal transection in the lesions of multiple sclerosis\n"
        "AU  - Trapp, B. D.\nAU  - Peterson, J.\nPY  - 1998\nPY  - 1999\n"
        "VL  - 338\nVL  - 338\nER  - \n\n"
        "TY  - JOUR\nTI  - Once only\nAU  - Doe, J.\nAU  - Roe, K.\nPY  - 2001\nER  - \n"
    )
    report = _import("twice.ris", ris.encode())
    assert report["refused"] == 0, report["entries"]
    first, second = report["entries"]
    assert first["reason"] == "tag 'PY' given twice: the first is kept"
    assert second["reason"] is None
    source = Source.objects.get(pk=first["source"])
    assert source.title == "Axonal transection in the lesions of multiple sclerosis"
    assert (source.issued, source.volume) == ("1998", "338")
    assert len(source.authors) == 2
    # A first value that runs on to a continuation line is kept whole.
    wrapped = "TY  - JOUR\nTI  - Long title\ncontinued here\nTI  - Other\nPY  - 2003\nER  - \n"
    (entry,) = parse_file(wrapped.encode(), "wrapped.ris")
    assert (entry.record["title"], entry.warnings) == (
        "Long title continued here",
        ["tag 'TI' given twice: the first is kept"],
    )

    medline = (
        "PMID- 2803071\nTI  - The fatigue severity scale.\n"
        "TI  - Another title.\nDP  - 1989 Oct\nAU  - Krupp LB\nAU  - LaRocca NG\n\n"
        "PMID- 9445017\nTI  - Once only.\nDP  - 1998\nAU  - Doe J\n"
    )
    report = _import("twice.nbib", medline.encode())
    first, second = report["entries"]
    assert first["reason"] == "tag 'TI' given twice: the first is kept"
    assert second["reason"] is None
    assert Source.objects.get(pk=first["source"]).title == "The fatigue severity scale"


# --- 8: article numbers ----------------------------------------------------------------------


def test_article_numbers_are_kept_from_medline_bibtex_and_csl():
    _import("medline_names.nbib")
    medline = Source.objects.get(pmid="36069758")
    assert "<i>eLife</i>. 2022;11:e80092." in _ama(medline)
    wos = _records("wos_field_case.bib")[0]
    assert wos["pages"] == "e80092"
    csl = b'[{"id": "x", "type": "article-journal", "title": "T", "container-title": "eLife",'
    csl += b' "volume": "11", "number": "e80092", "issued": {"date-parts": [[2022]]}}]'
    assert parse_file(csl, "x.json")[0].record["pages"] == "e80092"


# --- 9: encodings and truncated files --------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "family"),
    [("utf16_bom.bib", "Castaño-Vinyals"), ("utf8_bom.ris", "Müller"), ("latin1.ris", "Müller")],
)
def test_supported_encodings_are_detected(name, family):
    records = _records(name)
    assert len(records) == 1
    assert records[0]["authors"][0]["family"] == family


def test_latin1_keeps_every_accent():
    record = _records("latin1.ris")[0]
    assert record["title"] == "Résumé of an EndNote export in Latin-1"
    assert record["authors"][1] == {"family": "Castaño", "given": "José"}


def test_an_unsupported_encoding_is_refused_saying_so():
    with pytest.raises(UnsupportedFormat, match="encoding"):
        parse_file((FIXTURES / "gbk.ris").read_bytes(), "gbk.ris")


def test_an_unsupported_encoding_is_a_400_through_the_api(editor):
    upload = SimpleUploadedFile("gbk.ris", (FIXTURES / "gbk.ris").read_bytes())
    response = client_for(editor).post("/api/v1/sources/import/", {"file": upload})
    assert response.status_code == 400
    assert "encoding" in response.json()["file"][0]
    assert Source.objects.count() == 0


def test_truncated_ris_names_the_record_and_keeps_the_complete_ones():
    entries = parse_file((FIXTURES / "truncated.ris").read_bytes(), "truncated.ris")
    assert [e.ok for e in entries] == [True, True, False]
    assert "record 3 has no ER line" in entries[2].error


def test_truncated_csl_json_keeps_the_complete_items():
    entries = parse_file((FIXTURES / "truncated.json").read_bytes(), "truncated.json")
    assert [e.key for e in entries if e.ok] == ["trapp1998", "reich2018"]
    assert not entries[-1].ok
    assert "item 3" in entries[-1].error and "truncated" in entries[-1].error


# --- 10: BibTeX macros, concatenation, crossref, LaTeX, "and others" ------------------------


def test_bibtex_strings_concatenation_crossref_latex_and_others():
    records = {r["key"]: r for r in _records("bibtex_macros.bib")}
    child = records["child2001"]
    assert child["authors"][0] == {"family": "César", "given": "Jean"}
    authors = [a for a in child["authors"] if a.get("role") != "editor"]
    assert authors[-1] == {"literal": "et al"}
    assert [a for a in child["authors"] if a.get("role")] == [
        {"family": "Lang", "given": "Anthony", "role": "editor"}
    ]
    assert child["title"] == "Sensitivity of α-synuclein assays"
    assert child["container_title"] == "Proceedings of the Movement Disorders Congress"
    assert child["issued"] == "2001-06"
    assert child["publisher"] == "MDS Press"
    assert records["suffix2010"]["container_title"] == "N Engl J Med"


def test_and_others_prints_et_al():
    _import("bibtex_macros.bib")
    entry = _ama(Source.objects.get(key="child2001"))
    assert entry.startswith("César J, Smith A, et al.")


# --- 12: editors, suffixes, corporate authors in order --------------------------------------


def test_suffixes_print_after_the_initials():
    _import("bibtex_macros.bib")
    assert _ama(Source.objects.get(key="suffix2010")).startswith("Doe J III, King ML Jr.")
    _import("ris_shapes.ris")
    book = Source.objects.get(title="A copyright-year book")
    assert _ama(book).startswith("King ML Jr.")


def test_editor_only_book_prints_ed():
    _import("wos_field_case.bib")
    assert _ama(Source.objects.get(key="Hidalgo2013")).startswith("Hidalgo M, ed.")


def test_medline_chapter_keeps_book_editors_as_editors():
    _import("medline_names.nbib")
    chapter = Source.objects.get(pmid="20301331")
    assert [a["family"] for a in chapter.authors if a.get("role") != "editor"] == ["Ong", "Ramsey"]
    entry = _ama(chapter)
    assert entry.startswith("Ong T, Ramsey BW. Cystic Fibrosis. In: Adam MP, Bick S, Mirzaa GM,")
    assert "eds. <i>GeneReviews((R))</i>" in entry


def test_medline_collective_author_keeps_its_place_and_fau_without_comma_is_a_person():
    _import("medline_names.nbib")
    source = Source.objects.get(pmid="31000001")
    assert source.authors == [
        {"family": "Smith", "given": "Anna"},
        {"literal": "ACME Study Group"},
        {"family": "Lv", "given": "Xiaodong"},
        {"family": "Jones", "given": "Bob"},
    ]


# --- 13: LaTeX decoding is quiet -------------------------------------------------------------


def test_bibtex_import_logs_nothing_per_entry(caplog, capsys):
    entries = "\n".join(
        f'@article{{k{n}, author = {{M{{\\"u}}ller, J and Smith, A}}, title = {{T {n}}}, '
        f"journal = {{J}}, year = {{2020}}}}"
        for n in range(50)
    )
    with caplog.at_level(logging.INFO):
        parsed = parse_file(entries.encode(), "many.bib")
    assert all(e.ok for e in parsed)
    assert parsed[0].record["authors"][0] == {"family": "Müller", "given": "J"}
    captured = capsys.readouterr()
    assert "latex_decoding" not in captured.err + captured.out
    assert not [r for r in caplog.records if "latex_decoding" in r.getMessage()]


# --- 11: merges need the same type, and conflicting identifiers are reported ------------------

_JOURNAL = """@article{smith2020journal,
  author = {Smith, Anna and Jones, Bob},
  title = {Deep learning for retinal screening},
  journal = {Ophthalmology},
  year = {2020},
  doi = {10.1016/j.ophtha.2020.01.001},
}
"""
# The same work as a conference paper (IEEE-style export), with its own DOI.
_CONFERENCE = """@inproceedings{smith2020conf,
  author = {Smith, Anna and Jones, Bob},
  title = {Deep Learning for Retinal Screening},
  booktitle = {Proceedings of ISBI 2020},
  year = {2020},
  doi = {10.1109/ISBI45749.2020.9098001},
}
"""


def test_a_conference_paper_does_not_merge_into_its_journal_version():
    _import("journal.bib", _JOURNAL.encode())
    report = _import("conference.bib", _CONFERENCE.encode())
    assert report["created"] == 1, report["entries"]
    journal = Source.objects.get(key="smith2020journal")
    assert journal.doi == "10.1016/j.ophtha.2020.01.001"
    assert Source.objects.get(key="smith2020conf").type == "paper-conference"


def test_a_merge_meeting_a_conflicting_doi_reports_it_and_keeps_the_stored_one():
    _import("journal.bib", _JOURNAL.encode())
    other = _JOURNAL.replace("10.1016/j.ophtha.2020.01.001", "10.1016/j.ophtha.2020.99.999")
    other = other.replace("smith2020journal", "smith2020copy").replace(
        "}\n", "  pmid = {32000001},\n}\n", 1
    )
    report = _import("other.bib", other.encode())
    (line,) = report["entries"]
    assert line["outcome"] == "merged"
    assert "conflicting DOI 10.1016/j.ophtha.2020.99.999" in line["reason"]
    journal = Source.objects.get(key="smith2020journal")
    assert journal.doi == "10.1016/j.ophtha.2020.01.001"
    assert journal.pmid == "32000001"  # an empty field is still filled


# --- 6: Crossref JSON is read as Crossref, not as CSL-JSON -----------------------------------


def test_crossref_answer_upload_keeps_type_retraction_and_collective_author():
    from tests.helpers import REAL_WORLD

    # The Mehra 2020 Lancet paper, as Crossref's bare message object.
    data = (REAL_WORLD / "crossref_reciprocal_retracted_paper.json").read_bytes()
    report = _import("mehra.json", data)
    assert report["created"] == 1, report["entries"]
    paper = Source.objects.get(doi="10.1016/s0140-6736(20)31180-6")
    assert paper.type == "article-journal"
    assert paper.status == "retracted"
    assert paper.notice_doi == "10.1016/s0140-6736(20)31324-6"


def test_crossref_wrapped_response_is_accepted_and_the_notice_is_not_retracted():
    from tests.helpers import REAL_WORLD

    wrapped = (REAL_WORLD / "compare_crossref_wakefield_retracted.json").read_bytes()
    assert _import("wakefield.json", wrapped)["created"] == 1
    assert Source.objects.get(doi="10.1016/s0140-6736(97)11096-0").status == "retracted"
    notice = (REAL_WORLD / "crossref_reciprocal_retraction_notice.json").read_bytes()
    assert _import("notice.json", notice)["created"] == 1
    assert Source.objects.get(doi="10.1016/s0140-6736(20)31324-6").status == "active"


def test_crossref_chapter_title_markup_mojibake_collective_author_and_book_container():
    report = _import("crossref_chapter.json")
    assert report["created"] == 1, report["entries"]
    chapter = Source.objects.get(doi="10.1007/978-1-0716-1234-5_7")
    assert chapter.type == "chapter"
    assert chapter.title == "Measuring N-glycans in serum & plasma"
    assert chapter.container_title == "Glycoproteomics"
    assert chapter.authors == [
        {"family": "Castaño-Vinyals", "given": "Gemma"},
        {"literal": "INTERPHONE Study Group"},
        {"family": "van Eijck", "given": "CH"},
        {"family": "Wuhrer", "given": "Manfred", "role": "editor"},
    ]
    entry = _ama(chapter)
    assert entry.startswith("Castaño-Vinyals G, INTERPHONE Study Group, van Eijck CH.")
    assert "In: Wuhrer M, ed. <i>Glycoproteomics</i>" in entry


def test_lookup_of_the_retraction_notice_does_not_mark_it_retracted(replay_server):  # noqa: F811
    from citations.lookup import lookup_doi

    record = lookup_doi("10.1016/S0140-6736(20)31324-6", base_url=replay_server, timeout=5)
    assert record["status"] == "active"
    assert record["title"].startswith("Retraction—Hydroxychloroquine")


# --- the size limit is the service's rule ----------------------------------------------------


def test_the_service_refuses_a_file_over_the_limit_and_stores_nothing(monkeypatch, editor):
    from django.core.exceptions import ValidationError

    monkeypatch.setattr(services, "IMPORT_MAX_BYTES", 100)
    data = (FIXTURES / "nul_byte.ris").read_bytes()
    with pytest.raises(ValidationError, match="limit is 100 bytes"):
        services.source_import(actor=editor, data=data, filename="big.ris")
    assert Source.objects.count() == 0


def test_the_workspace_form_uses_the_service_limit(monkeypatch, editor):
    from workflows.forms import SourceImportForm

    monkeypatch.setattr(services, "IMPORT_MAX_BYTES", 100)
    upload = SimpleUploadedFile("big.ris", (FIXTURES / "nul_byte.ris").read_bytes())
    form = SourceImportForm(files={"file": upload})
    assert not form.is_valid()
    assert "limit is 100 bytes" in form.errors["file"][0]
    small = SimpleUploadedFile("small.ris", b"TY  - JOUR\nTI  - T\nER  - \n")
    assert SourceImportForm(files={"file": small}).is_valid()
