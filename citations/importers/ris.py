"""RIS (rispy) and Web of Science tagged exports, parsed one record at a time."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from citations.identifiers import doi_from_url, normalize_issued

from .common import ParsedEntry, RawEntry, clean, expand_pages, finish, split_name

_RIS_TYPES = {
    "JOUR": "article-journal",
    "JFULL": "article-journal",
    "EJOUR": "article-journal",
    "ABST": "article-journal",
    "MGZN": "article-magazine",
    "NEWS": "article-newspaper",
    "BOOK": "book",
    "EBOOK": "book",
    "EDBOOK": "book",
    "CHAP": "chapter",
    "ECHAP": "chapter",
    "CONF": "paper-conference",
    "CPAPER": "paper-conference",
    "RPRT": "report",
    "GOVDOC": "report",
    "THES": "thesis",
    "ELEC": "webpage",
    "WEB": "webpage",
    "BLOG": "post-weblog",
    "DATA": "dataset",
    "UNPB": "manuscript",
    "GEN": "article",
}


def _ris_type(value: str) -> str:
    value = clean(value)
    if value.upper() in _RIS_TYPES:
        return _RIS_TYPES[value.upper()]
    # Some tools write the type name instead of the code ("Journal Article").
    lowered = value.casefold()
    for word, csl in (
        ("journal", "article-journal"),
        ("chapter", "chapter"),
        ("book", "book"),
        ("conference", "paper-conference"),
        ("report", "report"),
        ("thesis", "thesis"),
        ("web", "webpage"),
    ):
        if word in lowered:
            return csl
    return "article"


def _ris_record(entry: Mapping[str, Any]) -> tuple[dict, list[str]]:
    warnings: list[str] = []
    names = entry.get("authors") or entry.get("first_authors") or []
    if not names and entry.get("secondary_authors"):
        names = entry["secondary_authors"]
        warnings.append("no authors: editors used as authors")
    unknown = entry.get("unknown_tag") or {}
    title = clean(entry.get("title") or entry.get("primary_title"))
    if not title and entry.get("short_title"):
        title = clean(entry["short_title"])
        warnings.append("title taken from the short title (ST) field")
    start, end = clean(entry.get("start_page")), clean(entry.get("end_page"))
    pages = f"{start}-{end}" if start and end and start != end else start or end
    issued = clean(entry.get("date")) or clean(entry.get("year") or entry.get("publication_year"))
    year = clean(entry.get("year") or entry.get("publication_year"))
    # RIS PY is often "2009///"; DA is the full date when present.
    if year and issued and normalize_issued(issued)[:4] != normalize_issued(year)[:4]:
        issued = year
    urls = entry.get("urls") or []
    url = clean(urls)
    doi = clean(entry.get("doi"))
    if not doi and doi_from_url(url):
        warnings.append("DOI taken from the url field")
    record = {
        "key": clean(entry.get("id") or entry.get("label")),
        "type": _ris_type(entry.get("type_of_reference", "")),
        "title": title,
        "authors": [split_name(n) for n in names if clean(n)],
        "container_title": clean(
            entry.get("secondary_title")
            or entry.get("journal_name")
            or entry.get("alternate_title3")
            or entry.get("alternate_title1")
            or entry.get("alternate_title2")
        ),
        # J2 / JA carry the journal's abbreviation.
        "container_title_short": clean(
            entry.get("alternate_title3") or entry.get("alternate_title2")
        ),
        "issued": issued,
        "volume": clean(entry.get("volume") or unknown.get("VO")),
        "issue": clean(entry.get("number")),
        "pages": expand_pages(pages),
        "doi": doi,
        "pmid": "",
        "url": url,
        "publisher": clean(entry.get("publisher")),
    }
    # RIS has no PMID tag; exporters put it in AN or C1-C8 as "PMID: 123" or a bare number.
    for candidate in [entry.get("accession_number")] + list(unknown.get("PM", [])):
        text = clean(candidate)
        if re.fullmatch(r"(?i)(?:pmid:?\s*)?\d{1,9}", text):
            record["pmid"] = text
            break
    return record, warnings


def _wos_record(entry: Mapping[str, Any]) -> tuple[dict, list[str]]:
    names = entry.get("author_full_name") or entry.get("authors") or []
    if isinstance(names, str):
        names = [names]
    authors = [split_name(n) for n in names if clean(n)]
    groups = entry.get("group_authors") or []
    if isinstance(groups, str):
        groups = [groups]
    authors += [{"literal": clean(g)} for g in groups if clean(g)]
    start, end = clean(entry.get("beginning_page")), clean(entry.get("ending_page"))
    pages = f"{start}-{end}" if start and end else start or clean(entry.get("article_number"))
    year = clean(entry.get("publication_year"))
    date = clean(entry.get("publication_date"))
    issued = f"{year} {date}" if year and date and not re.search(r"\d{4}", date) else year
    wos_types = {"J": "article-journal", "B": "book", "S": "book", "P": "article"}
    record = {
        "key": "",
        "type": wos_types.get(clean(entry.get("publication_type")), "article-journal"),
        "title": clean(entry.get("document_title")),
        "authors": authors,
        # SO is upper-case; JI is the ISO abbreviation in normal case.
        "container_title": clean(
            entry.get("iso_source_abbreviation") or entry.get("publication_name")
        ),
        "issued": issued,
        "volume": clean(entry.get("volume")),
        "issue": clean(entry.get("issue")),
        "pages": pages,
        "doi": clean(entry.get("doi")),
        "pmid": clean(entry.get("pubmed_id")),
        "url": "",
        "publisher": clean(entry.get("publisher")),
    }
    return record, []


def _split_records(text: str, end_tag: re.Pattern[str]) -> list[str]:
    """Split a tagged file into per-record chunks, so one bad record cannot sink the rest."""
    chunks, current = [], []
    for line in text.splitlines():
        current.append(line)
        if end_tag.match(line):
            chunks.append("\n".join(current) + "\n")
            current = []
    if any(line.strip() for line in current):
        chunks.append("\n".join(current) + "\n")
    return chunks


def parse_ris(text: str) -> list[ParsedEntry]:
    """Parse RIS text (or a Web of Science tagged export) one record at a time."""
    import rispy

    text = text.lstrip("\ufeff")
    wos = bool(re.match(r"^\s*(FN |VR |PT [A-Z]\b)", text))
    raw: list[RawEntry] = []
    if wos:
        # WoS files open with FN/VR header lines and close with EF; records end with ER.
        body = "\n".join(
            line for line in text.splitlines() if not re.match(r"^(FN|VR|EF)(\s|$)", line)
        )
        chunks = _split_records(body, re.compile(r"^ER\s*$"))
        implementation = rispy.WokParser
    else:
        chunks = _split_records(text, re.compile(r"^ER\s{2}-"))
        implementation = rispy.RisParser
    chunks = [c for c in chunks if c.strip()]
    for index, chunk in enumerate(chunks, start=1):
        try:
            entries = rispy.loads(chunk, implementation=implementation)
        except Exception as exc:  # noqa: BLE001 - rispy raises plain IOError/ValueError/KeyError
            raw.append(RawEntry.refused(index, "", f"could not parse record {index}: {exc}"))
            continue
        if not entries:
            raw.append(RawEntry.refused(index, "", f"record {index} has no fields"))
            continue
        record, warnings = (_wos_record if wos else _ris_record)(entries[0])
        raw.append(RawEntry(index, record["key"], record, None, warnings))
    if not raw:
        return [ParsedEntry(0, "", None, "no RIS records found")]
    return finish(raw)
