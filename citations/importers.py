"""Parsers that turn uploaded citation files into normalised Source records.

Supported formats: BibTeX, RIS (including Web of Science exports), CSL-JSON,
PubMed MEDLINE (``.nbib``/``.txt``) and the Retraction Watch CSV export.

Every parser returns one :class:`ParsedEntry` per entry it saw. An entry either
carries a fully validated ``record`` or an ``error`` saying why it was refused;
it never carries half a record. :func:`parse_file` never raises for bad
content: a file that cannot be read at all becomes a single refused entry.
Only a file whose format cannot be recognised raises :class:`UnsupportedFormat`.

Record fields (the future Source model): ``key, type, title, authors,
container_title, issued, volume, issue, pages, doi, pmid, pmcid, url,
publisher, status, status_notice``.

Status precedence when a record carries several notices: retracted and
withdrawn beat an expression of concern, which beats superseded, which beats a
correction. The notice kept is the most recent one of the winning kind.
"""

from __future__ import annotations

import csv
import functools
import io
import json
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from citations.identifiers import (
    InvalidIdentifier,
    doi_from_text,
    doi_from_url,
    normalize_doi,
    normalize_issued,
    normalize_pmcid,
    normalize_pmid,
)

__all__ = [
    "FORMATS",
    "STATUSES",
    "ParsedEntry",
    "UnsupportedFormat",
    "blank_record",
    "detect_format",
    "finalize_record",
    "parse_bibtex",
    "parse_csl_json",
    "parse_file",
    "parse_medline",
    "parse_retraction_watch",
    "parse_retraction_watch_entries",
    "parse_ris",
    "pick_status",
]

STATUSES = (
    "active",
    "corrected",
    "expression_of_concern",
    "retracted",
    "withdrawn",
    "superseded",
)
# Higher wins when a record carries several notices.
_SEVERITY = {
    "active": 0,
    "corrected": 1,
    "superseded": 2,
    "expression_of_concern": 3,
    "withdrawn": 4,
    "retracted": 4,
}

FORMATS = ("bibtex", "ris", "wos", "csl-json", "medline", "retraction-watch")

_STRING_FIELDS = (
    "key",
    "type",
    "title",
    "container_title",
    "container_title_short",
    "issued",
    "volume",
    "issue",
    "pages",
    "doi",
    "pmid",
    "pmcid",
    "url",
    "publisher",
)


class UnsupportedFormat(ValueError):
    """The uploaded file is not in any format we can recognise."""


@dataclass
class ParsedEntry:
    """One entry of an uploaded file: a validated record, or the reason it was refused."""

    index: int
    key: str
    record: dict | None
    error: str | None
    # Non-fatal observations ("authors taken from editors"), for the import report.
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when the entry produced a record."""
        return self.record is not None and self.error is None


class _EntryError(Exception):
    """Raised inside a parser to refuse one entry with a reason."""


def blank_record() -> dict:
    """Return a record with every field present and empty."""
    record: dict[str, Any] = dict.fromkeys(_STRING_FIELDS, "")
    record["type"] = "article-journal"
    record["authors"] = []
    record["status"] = "active"
    record["status_notice"] = {}
    return record


def _notice(doi: str = "", pmid: str = "", date: str = "", reason: str = "") -> dict:
    return {"doi": doi, "pmid": pmid, "date": date, "reason": reason}


def _clean(value: Any) -> str:
    """Collapse whitespace in a scalar; lists contribute their first non-empty item."""
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        for item in value:
            text = _clean(item)
            if text:
                return text
        return ""
    return " ".join(str(value).split())


def _ascii_slug(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return re.sub(r"[^a-z0-9]", "", decomposed.encode("ascii", "ignore").decode().lower())


def _generate_key(record: Mapping[str, Any]) -> str:
    """Build ``familyYYYYword`` (ascii, lower-case) from the record's first author, year, title."""
    family = ""
    if record.get("authors"):
        first = record["authors"][0]
        name = first.get("family") or first.get("literal") or ""
        words = str(name).split()
        # Corporate names are long; their first word is enough to recognise them.
        family = _ascii_slug(words[0] if first.get("literal") and words else name)
    year = (record.get("issued") or "")[:4]
    word = ""
    # "RETRACTED: Title" (Crossref) should key like "Title" (MEDLINE, BibTeX).
    title = re.sub(
        r"^\s*(?:retracted|withdrawn)\s*:", "", str(record.get("title") or ""), flags=re.I
    )
    for token in re.split(r"[\s\-–—/:]+", title):
        word = _ascii_slug(token)
        if word:
            break
    key = f"{family or 'anon'}{year}{word}"
    if key == "anon" and record.get("doi"):
        key = "doi" + _ascii_slug(record["doi"])[:30]
    return key


_KEY_RE = re.compile(r"^[^\s,{}()\"'#%~\\=]+$")


def _usable_key(key: str) -> bool:
    # Zotero CSL ids are URLs ("http://zotero.org/users/1/items/ABC"); not a citation key.
    return bool(key) and len(key) <= 100 and bool(_KEY_RE.match(key)) and "://" not in key


def finalize_record(raw: Mapping[str, Any]) -> dict:
    """Validate and normalise a record; raise ValueError naming the field when it is unusable."""
    record = blank_record()
    for name in _STRING_FIELDS:
        record[name] = _clean(raw.get(name))
    record["type"] = record["type"] or "article-journal"
    authors = []
    for author in raw.get("authors") or []:
        if not isinstance(author, Mapping):
            continue
        if _clean(author.get("literal")):
            authors.append({"literal": _clean(author.get("literal"))})
        elif _clean(author.get("family")):
            family, given = _clean(author["family"]), _clean(author.get("given"))
            authors.append({"family": family, "given": given})
        elif _clean(author.get("given")):
            # A single-word name ("Plato") arrives as given only; family is what renders.
            authors.append({"family": _clean(author["given"]), "given": ""})
    record["authors"] = authors
    record["issued"] = normalize_issued(raw.get("issued"))

    url_doi = doi_from_url(record["url"])
    if record["doi"]:
        try:
            record["doi"] = normalize_doi(record["doi"])
        except InvalidIdentifier as exc:
            raise ValueError(f"invalid doi {record['doi']!r}: {exc}") from None
    elif url_doi:
        record["doi"] = url_doi
    for name, normalizer in (("pmid", normalize_pmid), ("pmcid", normalize_pmcid)):
        if record[name]:
            try:
                record[name] = normalizer(record[name])
            except InvalidIdentifier as exc:
                raise ValueError(f"invalid {name} {record[name]!r}: {exc}") from None
    # A doi.org URL repeats the DOI; keep url only for genuinely different locations.
    if (
        record["url"]
        and doi_from_url(record["url"]) == record["doi"]
        and re.match(r"^https?://(dx\.)?doi\.org/", record["url"], re.I)
    ):
        record["url"] = ""

    if not (record["title"] or record["doi"] or record["pmid"]):
        raise ValueError("no title, DOI or PMID: nothing identifies this source")

    status = _clean(raw.get("status")) or "active"
    if status not in STATUSES:
        raise ValueError(f"invalid status {status!r}")
    record["status"] = status
    notice = raw.get("status_notice") or {}
    if notice:
        record["status_notice"] = _notice(
            doi=_safe(normalize_doi, notice.get("doi")),
            pmid=_safe(normalize_pmid, notice.get("pmid")),
            date=normalize_issued(notice.get("date")),
            reason=_clean(notice.get("reason")),
        )
    key = _clean(raw.get("key"))
    record["key"] = key if _usable_key(key) else _generate_key(record)
    return record


def _safe(normalizer: Callable[[Any], str], value: Any) -> str:
    """Normalise an identifier inside a notice, dropping it rather than failing the record."""
    if not value:
        return ""
    try:
        return normalizer(value)
    except InvalidIdentifier:
        return ""


def pick_status(events: Iterable[tuple[str, dict]]) -> tuple[str, dict]:
    """Choose the winning status and its most recent notice from (status, notice) events."""
    best_status, best_notice, best_rank = "active", {}, 0
    for status, notice in events:
        rank = _SEVERITY[status]
        if rank > best_rank or (
            rank == best_rank
            and rank > 0
            and (notice.get("date") or "") >= (best_notice.get("date") or "")
        ):
            best_status, best_notice, best_rank = status, notice, rank
    return best_status, best_notice


# ---------------------------------------------------------------------------
# Shared post-processing: validation, keys, duplicates inside one file
# ---------------------------------------------------------------------------


def _finish(
    raw_entries: Iterable[tuple[int, str, dict | None, str | None, list[str]]],
) -> list[ParsedEntry]:
    """Validate raw records, make keys unique and refuse in-file duplicates."""
    results: list[ParsedEntry] = []
    seen_keys: dict[str, str] = {}
    seen_doi: dict[str, str] = {}
    seen_pmid: dict[str, str] = {}
    for index, key, raw, error, warnings in raw_entries:
        if error is not None or raw is None:
            results.append(ParsedEntry(index, key, None, error or "unreadable entry", warnings))
            continue
        try:
            record = finalize_record(raw)
        except ValueError as exc:
            entry_key = key or _clean(raw.get("key"))
            results.append(ParsedEntry(index, entry_key, None, str(exc), warnings))
            continue
        explicit = _usable_key(_clean(raw.get("key")))
        if record["key"] in seen_keys:
            if explicit:
                results.append(
                    ParsedEntry(
                        index,
                        record["key"],
                        None,
                        f"duplicate key {record['key']!r}: already used by entry "
                        f"{seen_keys[record['key']]}",
                        warnings,
                    )
                )
                continue
            # Generated keys collide innocently (two Smith 2020 papers): suffix a, b, c...
            base = record["key"]
            for suffix in "abcdefghijklmnopqrstuvwxyz":
                if base + suffix not in seen_keys:
                    record["key"] = base + suffix
                    break
            else:
                record["key"] = f"{base}_{index}"
        duplicate = None
        if record["doi"] and record["doi"] in seen_doi:
            other = seen_doi[record["doi"]]
            duplicate = f"duplicate DOI {record['doi']}: same as entry {other!r}"
        elif record["pmid"] and record["pmid"] in seen_pmid:
            other = seen_pmid[record["pmid"]]
            duplicate = f"duplicate PMID {record['pmid']}: same as entry {other!r}"
        if duplicate:
            results.append(ParsedEntry(index, record["key"], None, duplicate, warnings))
            continue
        seen_keys[record["key"]] = f"#{index} ({record['key']})"
        if record["doi"]:
            seen_doi[record["doi"]] = record["key"]
        if record["pmid"]:
            seen_pmid[record["pmid"]] = record["key"]
        results.append(ParsedEntry(index, record["key"], record, None, warnings))
    return results


def _split_name(text: str) -> dict:
    """Split ``Family, Given`` or ``Given Family``; text without either becomes a literal."""
    text = _clean(text)
    if not text:
        return {}
    if "," in text:
        family, _, given = text.partition(",")
        return {"family": family.strip(), "given": given.strip()}
    parts = text.split()
    if len(parts) == 1:
        return {"family": parts[0], "given": ""}
    return {"family": parts[-1], "given": " ".join(parts[:-1])}


def _expand_pages(pages: str) -> str:
    """Expand MEDLINE-style abbreviated ranges: ``637-41`` becomes ``637-641``."""
    pages = _clean(pages).replace("--", "-").replace("–", "-")
    match = re.fullmatch(r"([A-Za-z]*)(\d+)\s*-\s*([A-Za-z]*)(\d+)", pages)
    if not match:
        return pages
    prefix, start, end_prefix, end = match.groups()
    if len(end) < len(start):
        end = start[: len(start) - len(end)] + end
    return f"{prefix}{start}-{end_prefix or prefix}{end}"


# ---------------------------------------------------------------------------
# BibTeX
# ---------------------------------------------------------------------------

_BIBTEX_TYPES = {
    "article": "article-journal",
    "book": "book",
    "booklet": "book",
    "inbook": "chapter",
    "incollection": "chapter",
    "inproceedings": "paper-conference",
    "conference": "paper-conference",
    "proceedings": "book",
    "techreport": "report",
    "report": "report",
    "phdthesis": "thesis",
    "mastersthesis": "thesis",
    "thesis": "thesis",
    "online": "webpage",
    "electronic": "webpage",
    "www": "webpage",
    "misc": "article",
    "unpublished": "manuscript",
    "manual": "book",
}


# Text with none of these marks decodes to itself; skipping the LaTeX parser for it
# makes BibTeX import several times faster (most fields are plain text).
_LATEX_MARKS = re.compile(r"[\\{}$~%&`]|--|''")


@functools.lru_cache(maxsize=1)
def _latex_decoder():
    from pylatexenc.latex2text import LatexNodes2Text

    return LatexNodes2Text()


def _latex_to_text(text: str) -> str:
    if not _LATEX_MARKS.search(text):
        return text
    try:
        return _latex_decoder().latex_to_text(text)
    except Exception:  # noqa: BLE001 - malformed LaTeX in a name should not lose the entry
        return text.replace("{", "").replace("}", "")


def _fast_latex_decoding_middleware():
    """bibtexparser's LaTeX decoding, skipping values that contain no LaTeX at all."""
    from bibtexparser import middlewares

    class FastLatexDecoding(middlewares.LatexDecodingMiddleware):
        def _transform_python_value_string(self, python_string: str) -> tuple[str, str]:
            if not _LATEX_MARKS.search(python_string):
                return python_string, ""
            return super()._transform_python_value_string(python_string)

    return FastLatexDecoding()


def _bibtex_person(parts: Any) -> dict | None:
    """Convert bibtexparser NameParts to our author dict; ``{{Group}}`` becomes a literal."""
    first = list(getattr(parts, "first", []) or [])
    von = list(getattr(parts, "von", []) or [])
    last = list(getattr(parts, "last", []) or [])
    jr = list(getattr(parts, "jr", []) or [])
    if not first and not von and not jr and len(last) == 1:
        token = last[0]
        if token.casefold() == "others":
            return None
        if token.startswith("{") and token.endswith("}"):
            # Double-braced names are corporate/collective authors: never split them.
            return {"literal": _clean(_latex_to_text(token[1:-1]))}
    family = " ".join(von + last)
    if jr:
        family = f"{family}, {' '.join(jr)}"
    return {
        "family": _clean(_latex_to_text(family)),
        "given": _clean(_latex_to_text(" ".join(first))),
    }


def _bibtex_value(fields: Mapping[str, Any], *names: str) -> str:
    for name in names:
        if name in fields and not isinstance(fields[name], list):
            value = _clean(fields[name])
            if value:
                return value
    return ""


def _bibtex_record(entry: Any) -> tuple[dict, list[str]]:
    fields = {f.key.lower(): f.value for f in entry.fields}
    warnings: list[str] = []
    etype = entry.entry_type.lower()
    authors = []
    truncated = False
    for people_field in ("author", "editor"):
        people = fields.get(people_field)
        if not people:
            continue
        if isinstance(people, str):
            people = [people]
        for person in people:
            converted = _bibtex_person(person)
            if converted is None:
                truncated = True
            elif converted.get("family") or converted.get("literal"):
                authors.append(converted)
        if authors:
            if people_field == "editor":
                warnings.append("no authors: editors used as authors")
            break
    if truncated:
        warnings.append("author list ends with 'and others': list is truncated")
    container = _bibtex_value(fields, "journal", "journaltitle", "booktitle")
    if etype == "book":
        container = _bibtex_value(fields, "series")
    issued = _bibtex_value(fields, "date")
    if not issued:
        year = _bibtex_value(fields, "year")
        month = _bibtex_value(fields, "month")
        issued = f"{year} {month}".strip() if month and not month.isdigit() else year
        if month.isdigit() and year:
            issued = f"{year}-{int(month):02d}"
    doi = _bibtex_value(fields, "doi")
    url = _bibtex_value(fields, "url", "howpublished")
    if url.startswith("\\url"):
        url = url[4:].strip("{}")
    if not doi and doi_from_url(url):
        warnings.append("DOI taken from the url field")
    record = {
        "key": entry.key,
        "type": _BIBTEX_TYPES.get(etype, "article"),
        "title": _bibtex_value(fields, "title"),
        "authors": authors,
        "container_title": container,
        "issued": issued,
        "volume": _bibtex_value(fields, "volume"),
        "issue": _bibtex_value(fields, "number", "issue"),
        "pages": _expand_pages(_bibtex_value(fields, "pages")),
        "doi": doi,
        "pmid": _bibtex_value(fields, "pmid"),
        "pmcid": _bibtex_value(fields, "pmcid"),
        "url": url,
        "publisher": _bibtex_value(fields, "publisher", "institution", "school", "organization"),
    }
    return record, warnings


def parse_bibtex(text: str) -> list[ParsedEntry]:
    """Parse BibTeX text; failed blocks and duplicate keys become refused entries."""
    import bibtexparser
    from bibtexparser import middlewares

    try:
        library = bibtexparser.parse_string(
            text,
            append_middleware=[
                # Names are split before LaTeX decoding so that the braces marking a
                # collective author ({{Group}}) survive; _bibtex_person decodes names.
                middlewares.SeparateCoAuthors(),
                middlewares.SplitNameParts(),
                _fast_latex_decoding_middleware(),
            ],
        )
    except Exception as exc:  # noqa: BLE001 - the whole file is unreadable; report, don't raise
        return [ParsedEntry(0, "", None, f"could not parse BibTeX file: {exc}")]

    raw: list[tuple[int, str, dict | None, str | None, list[str]]] = []
    index = 0
    for block in library.blocks:
        kind = type(block).__name__
        if kind == "DuplicateBlockKeyBlock":
            index += 1
            raw.append(
                (
                    index,
                    block.key,
                    None,
                    f"duplicate key {block.key!r} (line {block.start_line + 1}): "
                    "an earlier entry already uses it",
                    [],
                )
            )
        elif kind in ("ParsingFailedBlock", "MiddlewareErrorBlock") or (
            kind.endswith("ErrorBlock") or kind.endswith("FailedBlock")
        ):
            raw_text = getattr(block, "raw", "") or ""
            if not raw_text.lstrip().startswith("@"):
                continue
            index += 1
            key_match = re.match(r"\s*@\w+\s*[{(]\s*([^,\s]+)", raw_text)
            reason = str(getattr(block, "error", "") or "syntax error")
            if "BlockAbortedException" in repr(getattr(block, "error", "")) or not reason:
                reason = "unterminated entry (missing closing brace?)"
            raw.append(
                (
                    index,
                    key_match.group(1) if key_match else "",
                    None,
                    f"could not parse entry at line {block.start_line + 1}: {reason}",
                    [],
                )
            )
        elif kind == "Entry":
            index += 1
            try:
                record, warnings = _bibtex_record(block)
            except Exception as exc:  # noqa: BLE001 - one odd entry must not stop the rest
                raw.append((index, block.key, None, f"could not read entry: {exc}", []))
                continue
            raw.append((index, block.key, record, None, warnings))
    if not raw:
        return [ParsedEntry(0, "", None, "no BibTeX entries found")]
    return _finish(raw)


# ---------------------------------------------------------------------------
# RIS and Web of Science
# ---------------------------------------------------------------------------

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
    value = _clean(value)
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
    title = _clean(entry.get("title") or entry.get("primary_title"))
    if not title and entry.get("short_title"):
        title = _clean(entry["short_title"])
        warnings.append("title taken from the short title (ST) field")
    start, end = _clean(entry.get("start_page")), _clean(entry.get("end_page"))
    pages = f"{start}-{end}" if start and end and start != end else start or end
    issued = _clean(entry.get("date")) or _clean(entry.get("year") or entry.get("publication_year"))
    year = _clean(entry.get("year") or entry.get("publication_year"))
    # RIS PY is often "2009///"; DA is the full date when present.
    if year and issued and normalize_issued(issued)[:4] != normalize_issued(year)[:4]:
        issued = year
    urls = entry.get("urls") or []
    url = _clean(urls)
    doi = _clean(entry.get("doi"))
    if not doi and doi_from_url(url):
        warnings.append("DOI taken from the url field")
    record = {
        "key": _clean(entry.get("id") or entry.get("label")),
        "type": _ris_type(entry.get("type_of_reference", "")),
        "title": title,
        "authors": [_split_name(n) for n in names if _clean(n)],
        "container_title": _clean(
            entry.get("secondary_title")
            or entry.get("journal_name")
            or entry.get("alternate_title3")
            or entry.get("alternate_title1")
            or entry.get("alternate_title2")
        ),
        # J2 / JA carry the journal's abbreviation.
        "container_title_short": _clean(
            entry.get("alternate_title3") or entry.get("alternate_title2")
        ),
        "issued": issued,
        "volume": _clean(entry.get("volume") or unknown.get("VO")),
        "issue": _clean(entry.get("number")),
        "pages": _expand_pages(pages),
        "doi": doi,
        "pmid": "",
        "url": url,
        "publisher": _clean(entry.get("publisher")),
    }
    # RIS has no PMID tag; exporters put it in AN or C1-C8 as "PMID: 123" or a bare number.
    for candidate in [entry.get("accession_number")] + list(unknown.get("PM", [])):
        text = _clean(candidate)
        if re.fullmatch(r"(?i)(?:pmid:?\s*)?\d{1,9}", text):
            record["pmid"] = text
            break
    return record, warnings


def _wos_record(entry: Mapping[str, Any]) -> tuple[dict, list[str]]:
    names = entry.get("author_full_name") or entry.get("authors") or []
    if isinstance(names, str):
        names = [names]
    authors = [_split_name(n) for n in names if _clean(n)]
    groups = entry.get("group_authors") or []
    if isinstance(groups, str):
        groups = [groups]
    authors += [{"literal": _clean(g)} for g in groups if _clean(g)]
    start, end = _clean(entry.get("beginning_page")), _clean(entry.get("ending_page"))
    pages = f"{start}-{end}" if start and end else start or _clean(entry.get("article_number"))
    year = _clean(entry.get("publication_year"))
    date = _clean(entry.get("publication_date"))
    issued = f"{year} {date}" if year and date and not re.search(r"\d{4}", date) else year
    wos_types = {"J": "article-journal", "B": "book", "S": "book", "P": "article"}
    record = {
        "key": "",
        "type": wos_types.get(_clean(entry.get("publication_type")), "article-journal"),
        "title": _clean(entry.get("document_title")),
        "authors": authors,
        # SO is upper-case; JI is the ISO abbreviation in normal case.
        "container_title": _clean(
            entry.get("iso_source_abbreviation") or entry.get("publication_name")
        ),
        "issued": issued,
        "volume": _clean(entry.get("volume")),
        "issue": _clean(entry.get("issue")),
        "pages": pages,
        "doi": _clean(entry.get("doi")),
        "pmid": _clean(entry.get("pubmed_id")),
        "url": "",
        "publisher": _clean(entry.get("publisher")),
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
    raw: list[tuple[int, str, dict | None, str | None, list[str]]] = []
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
            raw.append((index, "", None, f"could not parse record {index}: {exc}", []))
            continue
        if not entries:
            raw.append((index, "", None, f"record {index} has no fields", []))
            continue
        record, warnings = (_wos_record if wos else _ris_record)(entries[0])
        raw.append((index, record["key"], record, None, warnings))
    if not raw:
        return [ParsedEntry(0, "", None, "no RIS records found")]
    return _finish(raw)


# ---------------------------------------------------------------------------
# CSL-JSON
# ---------------------------------------------------------------------------


def _csl_record(item: Mapping[str, Any]) -> tuple[dict, list[str]]:
    warnings: list[str] = []
    people = item.get("author") or []
    if not people and item.get("editor"):
        people = item["editor"]
        warnings.append("no authors: editors used as authors")
    authors = []
    for person in people if isinstance(people, list) else []:
        if not isinstance(person, Mapping):
            continue
        if person.get("literal"):
            authors.append({"literal": _clean(person["literal"])})
        else:
            particle = _clean(person.get("non-dropping-particle"))
            family = " ".join(p for p in (particle, _clean(person.get("family"))) if p)
            if person.get("suffix"):
                family = f"{family}, {_clean(person['suffix'])}"
            dropping = _clean(person.get("dropping-particle"))
            given = " ".join(p for p in (_clean(person.get("given")), dropping) if p)
            authors.append({"family": family, "given": given})
    title = item.get("title") or ""
    record = {
        "key": _clean(item.get("citation-key") or item.get("citation_key") or item.get("id")),
        "type": _clean(item.get("type")) or "article",
        "title": title,
        "authors": authors,
        "container_title": item.get("container-title") or item.get("collection-title") or "",
        "container_title_short": item.get("container-title-short")
        or item.get("journalAbbreviation")
        or "",
        "issued": item.get("issued") or "",
        "volume": item.get("volume"),
        "issue": item.get("issue"),
        "pages": _expand_pages(_clean(item.get("page"))),
        "doi": item.get("DOI") or item.get("doi") or "",
        "pmid": item.get("PMID") or item.get("pmid") or "",
        "pmcid": item.get("PMCID") or item.get("pmcid") or "",
        "url": item.get("URL") or item.get("url") or "",
        "publisher": item.get("publisher"),
    }
    return record, warnings


def parse_csl_json(text: str) -> list[ParsedEntry]:
    """Parse CSL-JSON: a list of items or a single item object."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        return [ParsedEntry(0, "", None, f"invalid JSON: {exc}")]
    if isinstance(data, Mapping) and isinstance(data.get("items"), list):
        data = data["items"]
    if isinstance(data, Mapping):
        data = [data]
    if not isinstance(data, list) or not data:
        return [ParsedEntry(0, "", None, "CSL-JSON must be a non-empty list of items or one item")]
    raw: list[tuple[int, str, dict | None, str | None, list[str]]] = []
    for index, item in enumerate(data, start=1):
        if not isinstance(item, Mapping):
            raw.append((index, "", None, f"item {index} is not a JSON object", []))
            continue
        try:
            record, warnings = _csl_record(item)
        except Exception as exc:  # noqa: BLE001 - an odd item must not stop the others
            raw.append((index, _clean(item.get("id")), None, f"could not read item: {exc}", []))
            continue
        raw.append((index, record["key"], record, None, warnings))
    return _finish(raw)


# ---------------------------------------------------------------------------
# PubMed MEDLINE
# ---------------------------------------------------------------------------

_MEDLINE_LINE_RE = re.compile(r"^([A-Z][A-Z0-9]{1,3})\s*-\s?(.*)$")
# Comment/correction tags that change a record's status. CIN ("Comment in") does not.
_MEDLINE_STATUS_TAGS = {
    "RIN": ("retracted", "Retraction in"),
    "ECI": ("expression_of_concern", "Expression of concern in"),
    "EIN": ("corrected", "Erratum in"),
    "CRI": ("superseded", "Corrected and republished in"),
    "UIN": ("superseded", "Update in"),
}
_MEDLINE_NOTICE_TYPES = {
    "retraction of publication": "this record is a retraction notice, not a retracted paper",
    "expression of concern": "this record is an expression-of-concern notice",
    "published erratum": "this record is an erratum notice",
}


def _medline_records(text: str) -> list[list[tuple[str, str]]]:
    """Split MEDLINE text into records of (tag, value) with continuation lines joined."""
    records: list[list[tuple[str, str]]] = []
    current: list[tuple[str, str]] = []
    for line in text.splitlines():
        if not line.strip():
            if current:
                records.append(current)
                current = []
            continue
        match = _MEDLINE_LINE_RE.match(line) if not line[:1].isspace() else None
        if match:
            tag, value = match.groups()
            if tag == "PMID" and current:
                # Records normally end with a blank line; tolerate files that omit it.
                records.append(current)
                current = []
            current.append((tag, value.strip()))
        elif current:
            tag, value = current[-1]
            current[-1] = (tag, f"{value} {line.strip()}".strip())
    if current:
        records.append(current)
    return records


def _medline_cite_notice(cite: str, label: str) -> dict:
    """Extract the notice's DOI, PMID and date from a MEDLINE cross-reference citation."""
    pmid = re.search(r"PMID:\s*(\d+)", cite)
    date = re.match(r"^[^.]*\.\s*(\d{4}(?:\s+[A-Z][a-z]{2}(?:\s+\d{1,2})?)?)", cite)
    return _notice(
        doi=doi_from_text(cite),
        pmid=pmid.group(1) if pmid else "",
        date=normalize_issued(date.group(1)) if date else "",
        reason=f"{label}: {cite}",
    )


def _medline_title(value: str) -> str:
    value = _clean(value)
    # MEDLINE ends every title with a full stop; keep it when it closes an abbreviation (U.S.).
    if value.endswith(".") and not re.search(r"(?:\b\w\.){2,}$|\bet al\.$", value):
        value = value[:-1]
    return value


def _medline_record(fields: list[tuple[str, str]]) -> tuple[dict, list[str]]:
    warnings: list[str] = []
    values: dict[str, list[str]] = {}
    for tag, value in fields:
        values.setdefault(tag, []).append(value)

    def first(*tags: str) -> str:
        for tag in tags:
            for value in values.get(tag, []):
                if _clean(value):
                    return _clean(value)
        return ""

    authors = []
    full_names = values.get("FAU", [])
    for name in full_names or values.get("AU", []):
        name = _clean(name)
        if full_names and "," not in name:
            authors.append({"literal": name})  # collective author listed as FAU
        elif full_names:
            authors.append(_split_name(name))
        else:
            # AU is "Wakefield AJ": initials last, no comma.
            family, _, initials = name.rpartition(" ")
            if family and initials.isupper() and len(initials) <= 4:
                authors.append({"family": family, "given": initials})
            else:
                authors.append({"literal": name})
    seen_literals = {a.get("literal") for a in authors}
    for corporate in values.get("CN", []):
        if _clean(corporate) and _clean(corporate) not in seen_literals:
            authors.append({"literal": _clean(corporate)})

    doi = ""
    for value in values.get("LID", []) + values.get("AID", []):
        if value.rstrip().endswith("[doi]"):
            doi = value.rsplit("[", 1)[0].strip()
            break

    publication_types = [_clean(v).casefold() for v in values.get("PT", [])]
    events: list[tuple[str, dict]] = []
    for tag, (status, label) in _MEDLINE_STATUS_TAGS.items():
        for cite in values.get(tag, []):
            events.append((status, _medline_cite_notice(_clean(cite), label)))
    if "retracted publication" in publication_types and not any(
        s == "retracted" for s, _ in events
    ):
        reason = "PubMed publication type: Retracted Publication"
        events.append(("retracted", _notice(reason=reason)))
    status, notice = pick_status(events)
    for publication_type, note in _MEDLINE_NOTICE_TYPES.items():
        if publication_type in publication_types:
            warnings.append(note)

    record_type = "article-journal"
    if values.get("BTI") and not values.get("TA"):
        record_type = "chapter" if values.get("TI") else "book"
    record = {
        "key": "",
        "type": record_type,
        "title": _medline_title(first("TI", "BTI")),
        "authors": authors,
        # TA is the NLM abbreviation used in medical (Vancouver) citations; JT as fallback.
        "container_title": first("TA", "JT") if record_type == "article-journal" else first("BTI"),
        "container_title_short": first("TA") if record_type == "article-journal" else "",
        "issued": first("DP"),
        "volume": first("VI"),
        "issue": first("IP"),
        "pages": _expand_pages(first("PG")),
        "doi": doi,
        "pmid": first("PMID"),
        "pmcid": first("PMC"),
        "url": "",
        "publisher": first("PB"),
        "status": status,
        "status_notice": notice,
    }
    return record, warnings


def parse_medline(text: str) -> list[ParsedEntry]:
    """Parse PubMed MEDLINE (``.nbib``) text; retraction tags set status and notice."""
    text = text.lstrip("\ufeff")
    records = _medline_records(text)
    if not records:
        return [ParsedEntry(0, "", None, "no MEDLINE records found")]
    raw: list[tuple[int, str, dict | None, str | None, list[str]]] = []
    for index, fields in enumerate(records, start=1):
        try:
            record, warnings = _medline_record(fields)
        except Exception as exc:  # noqa: BLE001 - an odd record must not stop the others
            raw.append((index, "", None, f"could not read MEDLINE record {index}: {exc}", []))
            continue
        raw.append((index, record["key"], record, None, warnings))
    return _finish(raw)


# ---------------------------------------------------------------------------
# Retraction Watch CSV
# ---------------------------------------------------------------------------

_RW_NATURES = {
    "retraction": "retracted",
    "expression of concern": "expression_of_concern",
    "correction": "corrected",
    "reinstatement": "active",
}
# RW writes these for "we have no identifier".
_RW_MISSING = {"", "0", "unavailable", "n/a", "na", "none", "null"}


def _rw_identifier(value: Any, normalizer: Callable[[Any], str]) -> str:
    text = _clean(value)
    if text.casefold() in _RW_MISSING:
        return ""
    try:
        return normalizer(text)
    except InvalidIdentifier:
        return ""


def _rw_rows(text: str) -> tuple[list[tuple[int, dict]], str | None]:
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    fieldnames = [f.strip() for f in reader.fieldnames or []]
    if "OriginalPaperDOI" not in fieldnames and "OriginalPaperPubMedID" not in fieldnames:
        return [], "not a Retraction Watch export: no OriginalPaperDOI/OriginalPaperPubMedID column"
    rows = []
    for number, row in enumerate(reader, start=2):  # line 1 is the header
        rows.append((number, {(k or "").strip(): v for k, v in row.items()}))
    return rows, None


def _rw_fold(events: list[tuple[str, str, dict]]) -> tuple[str, dict]:
    """Apply events in date order; a later reinstatement clears an earlier retraction."""
    status, notice = "active", {}
    for _date, nature, event_notice in sorted(events, key=lambda e: e[0]):
        if nature == "active":
            status, notice = "active", event_notice
        elif _SEVERITY[nature] >= _SEVERITY[status]:
            status, notice = nature, event_notice
    return status, notice


def parse_retraction_watch_entries(text: str) -> list[ParsedEntry]:
    """Parse a Retraction Watch CSV into one record per original paper, with folded status."""
    try:
        rows, problem = _rw_rows(text)
    except csv.Error as exc:
        return [ParsedEntry(0, "", None, f"invalid CSV: {exc}")]
    if problem:
        return [ParsedEntry(0, "", None, problem)]
    refused: list[ParsedEntry] = []
    papers: dict[str, dict[str, Any]] = {}
    for line, row in rows:
        doi = _rw_identifier(row.get("OriginalPaperDOI"), normalize_doi)
        pmid = _rw_identifier(row.get("OriginalPaperPubMedID"), normalize_pmid)
        record_id = _clean(row.get("Record ID"))
        label = f"Retraction Watch record {record_id or '?'} (line {line})"
        if not doi and not pmid:
            refused.append(
                ParsedEntry(
                    line,
                    "",
                    None,
                    f"{label}: no usable OriginalPaperDOI "
                    f"({_clean(row.get('OriginalPaperDOI'))!r}) or OriginalPaperPubMedID",
                )
            )
            continue
        raw_nature = _clean(row.get("RetractionNature"))
        warnings = []
        if not raw_nature:
            # The database only lists retractions; an untagged row is one.
            nature = "retracted"
            warnings.append(f"{label}: RetractionNature is blank; treated as Retraction")
        else:
            nature = _RW_NATURES.get(raw_nature.casefold(), "")
        group_key = f"doi:{doi}" if doi else f"pmid:{pmid}"
        # Merge with an existing group found by the other identifier.
        if pmid and f"pmid:{pmid}" in papers:
            group_key = f"pmid:{pmid}"
        paper = papers.setdefault(
            group_key,
            {"line": line, "row": row, "doi": doi, "pmid": pmid, "events": [], "warnings": []},
        )
        if doi and f"doi:{doi}" not in papers:
            papers[f"doi:{doi}"] = paper
        if pmid and f"pmid:{pmid}" not in papers:
            papers[f"pmid:{pmid}"] = paper
        paper["doi"] = paper["doi"] or doi
        paper["pmid"] = paper["pmid"] or pmid
        paper["warnings"].extend(warnings)
        if not nature:
            paper["warnings"].append(f"{label}: unknown RetractionNature {raw_nature!r}; ignored")
            paper.setdefault("unknown", []).append(raw_nature)
            continue
        date = normalize_issued(row.get("RetractionDate"))
        reason = _clean(row.get("Reason")).strip(";").replace(";", "; ")
        if nature == "active":
            reason = f"Reinstatement: {reason}" if reason else "Reinstatement"
        notice = _notice(
            doi=_rw_identifier(row.get("RetractionDOI"), normalize_doi),
            pmid=_rw_identifier(row.get("RetractionPubMedID"), normalize_pmid),
            date=date,
            reason=reason,
        )
        paper["events"].append((date, nature, notice))

    raw: list[tuple[int, str, dict | None, str | None, list[str]]] = []
    seen: set[int] = set()
    for paper in papers.values():
        if id(paper) in seen:
            continue
        seen.add(id(paper))
        row = paper["row"]
        if not paper["events"]:
            natures = ", ".join(repr(n) for n in paper.get("unknown", []))
            raw.append(
                (
                    paper["line"],
                    "",
                    None,
                    f"Retraction Watch record {_clean(row.get('Record ID'))} "
                    f"(line {paper['line']}): unknown RetractionNature {natures}",
                    paper["warnings"],
                )
            )
            continue
        status, notice = _rw_fold(paper["events"])
        names = [n for n in _clean(row.get("Author")).split(";") if _clean(n)]
        authors = [_split_name(n) for n in names if _clean(n).casefold() not in _RW_MISSING]
        record = {
            "key": "",
            "type": "article-journal",
            "title": _clean(row.get("Title")),
            "authors": authors,
            "container_title": _clean(row.get("Journal")),
            "issued": normalize_issued(row.get("OriginalPaperDate")),
            "doi": paper["doi"],
            "pmid": paper["pmid"],
            "publisher": _clean(row.get("Publisher")),
            "status": status,
            "status_notice": notice,
        }
        raw.append((paper["line"], "", record, None, paper["warnings"]))
    raw.sort(key=lambda item: item[0])
    return sorted(refused + _finish(raw), key=lambda e: e.index)


def parse_retraction_watch(data: bytes | str) -> list[dict]:
    """Return status updates ``{doi, pmid, status, status_notice, title}`` from a RW CSV."""
    text = data.decode("utf-8-sig", errors="replace") if isinstance(data, bytes) else data
    updates = []
    for entry in parse_retraction_watch_entries(text):
        if entry.record is None:
            continue
        record = entry.record
        updates.append(
            {
                "doi": record["doi"],
                "pmid": record["pmid"],
                "status": record["status"],
                "status_notice": record["status_notice"],
                "title": record["title"],
            }
        )
    return updates


# ---------------------------------------------------------------------------
# Format detection and the public entry point
# ---------------------------------------------------------------------------

_EXTENSIONS = {
    "bib": "bibtex",
    "bibtex": "bibtex",
    "ris": "ris",
    "json": "csl-json",
    "csljson": "csl-json",
    "nbib": "medline",
    "medline": "medline",
    "csv": "retraction-watch",
}
_PARSERS: dict[str, Callable[[str], list[ParsedEntry]]] = {
    "bibtex": parse_bibtex,
    "ris": parse_ris,
    "wos": parse_ris,
    "csl-json": parse_csl_json,
    "medline": parse_medline,
    "retraction-watch": parse_retraction_watch_entries,
}
_FORMAT_ALIASES = {
    "bib": "bibtex",
    "json": "csl-json",
    "csl": "csl-json",
    "csljson": "csl-json",
    "nbib": "medline",
    "pubmed": "medline",
    "csv": "retraction-watch",
    "retractionwatch": "retraction-watch",
}


def _sniff(text: str) -> str | None:
    head = text.lstrip("\ufeff \t\r\n")[:4000]
    if head.startswith(("[", "{")):
        return "csl-json"
    if re.search(r"^PMID-\s*\d", head, re.M):
        return "medline"
    if re.search(r"^TY  -", head, re.M):
        return "ris"
    if re.match(r"^(FN |VR |PT [A-Z]\b)", head):
        return "wos"
    first_line = head.splitlines()[0] if head else ""
    if "OriginalPaperDOI" in first_line or "OriginalPaperPubMedID" in first_line:
        return "retraction-watch"
    if re.search(r"^\s*@\w+\s*[{(]", head, re.M):
        return "bibtex"
    return None


def detect_format(data: bytes | str, filename: str = "") -> str:
    """Return the format name for a file from its extension, then its content."""
    text = data.decode("utf-8-sig", errors="replace") if isinstance(data, bytes) else data
    extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    by_extension = _EXTENSIONS.get(extension)
    sniffed = _sniff(text)
    if by_extension == "ris" and sniffed == "wos":
        return "wos"
    if by_extension:
        return by_extension
    # .txt is what PubMed's "Save as MEDLINE" produces, but also RIS/WoS exports.
    if sniffed:
        return sniffed
    raise UnsupportedFormat(
        f"cannot tell the format of {filename or 'the upload'!r}: expected BibTeX (.bib), "
        "RIS (.ris), CSL-JSON (.json), PubMed MEDLINE (.nbib/.txt) or Retraction Watch CSV (.csv)"
    )


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Old EndNote/RIS exports are Windows-1252; latin-1 never fails.
        try:
            return data.decode("cp1252")
        except UnicodeDecodeError:
            return data.decode("latin-1")


def parse_file(data: bytes, filename: str = "", fmt: str | None = None) -> list[ParsedEntry]:
    """Parse an uploaded file into entries; raises only UnsupportedFormat."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    text = _decode(data)
    if fmt:
        name = fmt.strip().lower()
        name = _FORMAT_ALIASES.get(name, name)
        if name not in _PARSERS:
            raise UnsupportedFormat(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
    else:
        name = detect_format(text, filename)
    if not text.strip():
        return [ParsedEntry(0, "", None, "the file is empty")]
    try:
        return _PARSERS[name](text)
    except Exception as exc:  # noqa: BLE001 - never raise for bad content; report the whole file
        return [ParsedEntry(0, "", None, f"could not parse {name} file: {exc}")]
