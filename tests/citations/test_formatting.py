"""Tests for citations.formatting: citeproc reference entries and identifier links."""

import json
import re
from pathlib import Path

import pytest

from citations.formatting import (
    UnknownStyleError,
    available_styles,
    format_entries,
    from_csl_json,
    reference_links,
    to_csl_json,
)

# Our copies of the checked demo records (shared/data/demo), shipped with the seed data.
DEMO = Path(__file__).resolve().parents[2] / "workflows" / "demo"


def load(name):
    return [from_csl_json(item) for item in json.loads((DEMO / name).read_text("utf-8"))]


@pytest.fixture(scope="module")
def records():
    return load("ms-sources.json") + load("retracted-example.json")


def text_of(html):
    return re.sub(r"<[^>]+>", "", html)


def test_from_csl_json_converts_demo_record_to_our_fields(records):
    trapp = records[0]
    assert trapp["key"] == "trapp1998"
    assert trapp["authors"][0] == {"family": "Trapp", "given": "B. D."}
    assert trapp["issued"] == "1998-01-29"
    assert trapp["pages"] == "278-285"
    assert trapp["doi"] == "10.1056/NEJM199801293380502"
    assert trapp["pmid"] == "9445407"
    assert records[1]["issued"] == "2009-05"


def test_to_csl_json_maps_fields_and_partial_dates():
    csl = to_csl_json(
        {
            "key": "k",
            "type": "book",
            "title": "T",
            "authors": [{"family": "Doe", "given": "J"}, {"literal": "WHO"}],
            "issued": "1998-01",
            "pages": "1-2",
            "doi": "10.1000/x",
            "pmid": "1",
            "url": "https://example.org",
        }
    )
    assert csl["id"] == "k" and csl["type"] == "book"
    assert csl["author"] == [{"family": "Doe", "given": "J"}, {"literal": "WHO"}]
    assert csl["issued"] == {"date-parts": [[1998, 1]]}
    assert (csl["page"], csl["DOI"], csl["PMID"], csl["URL"]) == (
        "1-2",
        "10.1000/x",
        "1",
        "https://example.org",
    )


def test_to_csl_json_drops_unsafe_urls_and_unknown_types():
    csl = to_csl_json({"type": "nonsense", "title": "T", "url": "javascript:alert(1)"})
    assert "URL" not in csl
    assert csl["type"] == "article"


def test_ama_entries_for_demo_records(records):
    entries = format_entries(records)
    assert text_of(entries[0]) == (
        "Trapp BD, Peterson J, Ransohoff RM, Rudick R, Mörk S, Bö L. Axonal transection in the "
        "lesions of multiple sclerosis. N Engl J Med. 1998;338(5):278-285. "
        "doi:10.1056/NEJM199801293380502"
    )
    # AMA lists three authors then "et al" when there are more than six.
    assert text_of(entries[1]).startswith(
        "Frischer JM, Bramow S, Dal-Bianco A, et al. The relation"
    )
    assert "2020;16(3):171-182" in entries[2]
    assert text_of(entries[3]).endswith("1998;351(9103):637-641. doi:10.1016/s0140-6736(97)11096-0")


def test_entries_come_back_in_input_order_without_numbers(records):
    entries = format_entries(list(reversed(records)))
    assert entries[0].startswith("Wakefield AJ")
    assert entries[-1].startswith("Trapp BD")
    assert not any(re.match(r"\s*\[?\d", entry) for entry in entries)


def test_ama_uses_journal_abbreviation_when_given(records):
    assert records[0]["container_title_short"] == "N Engl J Med"
    (entry,) = format_entries([records[0]])
    assert "<i>N Engl J Med</i>. 1998;" in entry
    (entry,) = format_entries([{**records[0], "container_title_short": ""}])
    assert "<i>New England Journal of Medicine</i>. 1998;" in entry


def test_printed_doi_is_linked(records):
    entry = format_entries(records[3:])[0]
    assert (
        'doi:<a href="https://doi.org/10.1016/s0140-6736(97)11096-0">'
        "10.1016/s0140-6736(97)11096-0</a>"
    ) in entry


def test_vancouver_prints_full_dates_and_linked_pubmed_ids(records):
    entries = format_entries(records, style="vancouver")
    assert "1998 Jan 29;338(5):278\u201385" in entries[0]
    assert "2009 May;132(Pt 5):1175\u201389" in entries[1]
    assert 'PMID: <a href="https://pubmed.ncbi.nlm.nih.gov/9445407/">9445407</a>' in entries[0]
    assert 'href="https://pmc.ncbi.nlm.nih.gov/articles/PMC2677799/"' in entries[1]


def test_reference_links_skip_identifiers_the_style_already_printed(records):
    trapp = records[0]
    (ama,) = format_entries([trapp])
    assert reference_links(trapp, ama) == (
        ' PubMed: <a href="https://pubmed.ncbi.nlm.nih.gov/9445407/">9445407</a>'
    )
    (nlm,) = format_entries([trapp], style="nlm-citation-sequence")
    assert reference_links(trapp, nlm) == ""


def test_reference_links_without_entry_list_every_identifier(records):
    links = reference_links(records[1])
    assert links == (
        ' doi:<a href="https://doi.org/10.1093/brain/awp070">10.1093/brain/awp070</a>'
        ' PubMed: <a href="https://pubmed.ncbi.nlm.nih.gov/19339255/">19339255</a>'
        ' PMC: <a href="https://pmc.ncbi.nlm.nih.gov/articles/PMC2677799/">PMC2677799</a>'
    )


def test_reference_links_escape_hostile_identifiers():
    links = reference_links({"doi": '10.1000/"><script>x</script>', "pmid": "<b>1</b>"})
    assert "<script" not in links and "<b>" not in links
    assert "%3Cscript%3E" in links


@pytest.mark.parametrize(
    "record",
    [
        {"title": "Only a title"},
        {
            "type": "report",
            "title": "Report",
            "authors": [{"literal": "World Health Organization"}],
            "issued": "1998",
        },
        {"type": "webpage", "title": "Page", "issued": "1998-01", "url": "https://example.org"},
        {"type": "chapter", "title": "Chapter", "container_title": "Book", "issued": "1998-01-29"},
        {"type": "book", "title": "Book", "issued": "not a date", "authors": ["Plain Name", None]},
        {"type": "article-journal", "title": "Bad month", "issued": "2020-13-40"},
        {},
    ],
)
@pytest.mark.parametrize("style", ["american-medical-association", "vancouver"])
def test_sparse_records_format_without_crashing(record, style):
    (entry,) = format_entries([record], style=style)
    assert isinstance(entry, str)
    if record.get("title"):
        assert record["title"] in entry


def test_title_only_record_prints_title_once():
    (entry,) = format_entries([{"title": "Only a title"}])
    assert entry == "Only a title."


def test_literal_author_and_partial_date_are_printed():
    (entry,) = format_entries(
        [
            {
                "type": "report",
                "title": "Report",
                "authors": [{"literal": "World Health Organization"}],
                "issued": "1998-01",
            }
        ],
        style="vancouver",
    )
    assert text_of(entry).startswith("World Health Organization. Report")
    assert "1998 Jan" in entry


def test_markup_in_record_fields_is_escaped():
    (entry,) = format_entries(
        [
            {
                "type": "article-journal",
                "title": "<script>alert(1)</script> & <img src=x onerror=alert(1)>",
                "container_title": "J <b>Bold</b>",
                "authors": [{"family": "<i>Evil</i>", "given": "A"}],
            }
        ]
    )
    assert "<script" not in entry and "<img" not in entry and "<b>" not in entry
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;img" in entry


def test_non_http_url_is_never_linked_or_printed():
    (entry,) = format_entries([{"type": "webpage", "title": "Page", "url": "javascript:alert(1)"}])
    assert "javascript" not in entry


def test_http_url_is_linked_with_escaped_ampersand():
    (entry,) = format_entries(
        [{"type": "webpage", "title": "Page", "url": "https://example.org/?a=1&b=2"}]
    )
    assert (
        '<a href="https://example.org/?a=1&amp;b=2">https://example.org/?a=1&amp;b=2</a>' in entry
    )


def test_available_styles_include_ama_and_vancouver():
    styles = available_styles()
    assert styles["american-medical-association"].startswith("AMA Manual of Style")
    assert "vancouver" in styles and "nlm-citation-sequence" in styles
    for name in styles:
        assert format_entries([{"title": "T"}], style=name) == ["T."]


@pytest.mark.parametrize("style", ["no-such-style", "../../etc/passwd", ""])
def test_unknown_style_is_rejected(style):
    with pytest.raises(UnknownStyleError):
        format_entries([{"title": "T"}], style=style)
