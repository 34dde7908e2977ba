"""RIS (rispy) and Web of Science tagged exports, parsed one record at a time."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from citations.identifiers import doi_from_url

from .common import (
    ParsedEntry,
    RawEntry,
    SeenInFile,
    clean,
    expand_pages,
    finish,
    first_of_repeated,
    split_name,
)

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


# RIS dates are "YYYY/MM/DD/other"; exporters also write "1999a" (disambiguation) and
# "c1999" (copyright year).
_RIS_DATE = re.compile(r"(?<!\d)(\d{4})(?:[a-z])?(?:/(\d{1,2})?(?:/(\d{1,2})?)?)?")


def _ris_date(value: Any) -> str:
    match = _RIS_DATE.search(clean(value))
    if not match:
        return ""
    year, month, day = match.groups()
    parts = [year] + [f"{int(p):02d}" for p in (month, day) if p and int(p)]
    if not month:
        parts = [year]
    return "-".join(parts)


def _ris_issued(entry: Mapping[str, Any]) -> str:
    """PY (year, often the full date) or DA (the full date) when it is the same year."""
    year = _ris_date(entry.get("year") or entry.get("publication_year"))
    date = _ris_date(entry.get("date"))
    if date and (not year or date[:4] == year[:4]) and len(date) > len(year):
        return date
    return year or date


def _ris_people(entry: Mapping[str, Any], unknown: Mapping[str, Any]) -> list[dict]:
    """Authors (AU, A1), then editors (A2, ED) with ``role: editor``."""
    names = list(entry.get("authors") or []) + list(entry.get("first_authors") or [])
    people = [split_name(n) for n in names if clean(n)]
    editors = list(entry.get("secondary_authors") or []) + list(unknown.get("ED", []))
    people += [split_name(n, role="editor") for n in editors if clean(n)]
    return people


def _ris_journal(entry: Mapping[str, Any]) -> tuple[str, str]:
    """(full name, abbreviation): T2/JF/JO give the name, JA/J2/J1 the abbreviation."""
    abbreviation = clean(entry.get("alternate_title2") or entry.get("alternate_title1"))
    full = clean(
        entry.get("secondary_title") or entry.get("alternate_title3") or entry.get("journal_name")
    )
    if not abbreviation and entry.get("journal_name") and clean(entry["journal_name"]) != full:
        abbreviation = clean(entry["journal_name"])  # JO beside JF is the abbreviation
    return full or abbreviation, abbreviation


def _ris_record(entry: Mapping[str, Any]) -> tuple[dict, list[str]]:
    warnings: list[str] = []
    unknown = entry.get("unknown_tag") or {}
    title = clean(entry.get("title") or entry.get("primary_title"))
    if not title and entry.get("short_title"):
        title = clean(entry["short_title"])
        warnings.append("title taken from the short title (ST) field")
    start, end = clean(entry.get("start_page")), clean(entry.get("end_page"))
    pages = f"{start}-{end}" if start and end and start != end else start or end
    url = clean(entry.get("urls") or [])
    doi = clean(entry.get("doi"))
    if not doi and doi_from_url(url):
        warnings.append("DOI taken from the url field")
    container, short = _ris_journal(entry)
    record = {
        "key": clean(entry.get("id") or entry.get("label")),
        "type": _ris_type(entry.get("type_of_reference", "")),
        "title": title,
        "authors": _ris_people(entry, unknown),
        "container_title": container,
        "container_title_short": short,
        "issued": _ris_issued(entry),
        "volume": clean(entry.get("volume") or unknown.get("VO")),
        "issue": clean(entry.get("number")),
        # C7 is the article number (eLife's e80092) when there are no pages.
        "pages": expand_pages(pages) or clean(entry.get("custom7")),
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


#: Records parsed at a time: bounds the memory a 10 MB file needs.
BATCH_SIZE = 2000
_WOS = re.compile(r"^\s*(FN |VR |PT [A-Z]\b)")
_END_TAG = re.compile(r"^ER\s*(-|$)", re.M)


def _ris_chunks(text: str) -> tuple[list[str], bool]:
    """One text chunk per record, and whether this is a Web of Science export."""
    text = text.lstrip("\ufeff")
    wos = bool(_WOS.match(text))
    if wos:
        # WoS files open with FN/VR header lines and close with EF; records end with ER.
        body = "\n".join(
            line for line in text.splitlines() if not re.match(r"^(FN|VR|EF)(\s|$)", line)
        )
        chunks = _split_records(body, re.compile(r"^ER\s*$"))
    else:
        chunks = _split_records(text, re.compile(r"^ER\s{2}-"))
    return [c for c in chunks if c.strip()], wos


def count_ris(text: str) -> int:
    """How many records an RIS or WoS text holds (ER lines, plus an unfinished last one)."""
    ends = len(_END_TAG.findall(text))
    tail = text[text.rfind("\nER") + 3 :] if ends else text
    return ends + (1 if re.search(r"^(TY|PT)\s", tail, re.M) else 0)


#: The single-valued RIS tags a record is read from. rispy keeps the first of a tag given
#: twice, even an empty one, and says nothing.
_RIS_SINGLE_LINE = re.compile(
    r"^(TY|TI|T1|ST|T2|JF|JO|JA|J1|J2|PY|Y1|DA|VL|IS|SP|EP|C7|DO|PB|ID|AN)  -[ \t]?(.*)$", re.M
)


def _ris_repeats(entry: dict, chunk: str) -> list[str]:
    """Keep the first non-empty value of a single-valued tag given twice, and say so."""
    import rispy

    kept, warnings = first_of_repeated(_RIS_SINGLE_LINE.findall(chunk))
    mapping = rispy.RisParser.DEFAULT_MAPPING
    for tag, value in kept.items():
        # Only where rispy kept an empty first value: its own value keeps any
        # continuation lines, which the one-line pattern does not see.
        if tag in mapping and not clean(entry.get(mapping[tag])):
            entry[mapping[tag]] = value
    return warnings


def _ris_entry(index: int, chunk: str, wos: bool) -> RawEntry:
    import rispy

    if not _END_TAG.search(chunk):
        reason = f"record {index} has no ER line: the file is truncated or the record open"
        return RawEntry.refused(index, "", reason)
    implementation = rispy.WokParser if wos else rispy.RisParser
    try:
        entries = rispy.loads(chunk, implementation=implementation)
    except Exception as exc:  # noqa: BLE001 - rispy raises plain IOError/ValueError/KeyError
        return RawEntry.refused(index, "", f"could not parse record {index}: {exc}")
    if not entries:
        return RawEntry.refused(index, "", f"record {index} has no fields")
    repeats = [] if wos else _ris_repeats(entries[0], chunk)
    record, warnings = (_wos_record if wos else _ris_record)(entries[0])
    return RawEntry(index, record["key"], record, None, repeats + warnings)


def iter_ris(text: str, size: int | None = None) -> Iterator[list[ParsedEntry]]:
    """Parse RIS text (or a Web of Science tagged export) in batches of ``size`` records."""
    size = size or BATCH_SIZE
    chunks, wos = _ris_chunks(text)
    if not chunks:
        yield [ParsedEntry(0, "", None, "no RIS records found")]
        return
    seen = SeenInFile()
    for first in range(0, len(chunks), size):
        raw = [
            _ris_entry(index, chunk, wos)
            for index, chunk in enumerate(chunks[first : first + size], start=first + 1)
        ]
        # RIS ID is a record number in the exporting library, not a citation key.
        nul_free = not any("\x00" in chunk for chunk in chunks[first : first + size])
        yield finish(raw, keys_are_labels=False, seen=seen, nul_free=nul_free)


def parse_ris(text: str) -> list[ParsedEntry]:
    """Parse RIS text (or a Web of Science tagged export) one record at a time."""
    return [entry for batch in iter_ris(text) for entry in batch]
