"""What every importer shares: the record format, validation, keys, in-file duplicates.

Record fields (the Source model's columns): ``key, type, title, authors,
container_title, container_title_short, issued, volume, issue, pages, doi,
pmid, pmcid, url, publisher, status, status_notice``.

Status precedence when a record carries several notices: retracted and
withdrawn beat an expression of concern, which beats superseded, which beats a
correction. The notice kept is the most recent one of the winning kind.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from citations.identifiers import (
    InvalidIdentifier,
    doi_from_url,
    normalize_doi,
    normalize_issued,
    normalize_pmcid,
    normalize_pmid,
)
from citations.statuses import SEVERITY

STATUSES = (
    "active",
    "corrected",
    "expression_of_concern",
    "retracted",
    "withdrawn",
    "superseded",
)

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


class UnsupportedEncoding(UnsupportedFormat):
    """The uploaded file is not UTF-8, UTF-8/UTF-16 with a BOM, or Latin-1."""


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


class RawEntry(NamedTuple):
    """What a format parser makes of one entry, before validation.

    ``record`` is the raw record (not yet normalised) or None when the parser
    could not read the entry, in which case ``error`` says why.
    """

    index: int
    key: str
    record: dict | None
    error: str | None
    warnings: list[str]

    @classmethod
    def refused(cls, index: int, key: str, error: str) -> RawEntry:
        """An entry the parser could not read."""
        return cls(index, key, None, error, [])


def blank_record() -> dict:
    """Return a record with every field present and empty."""
    record: dict[str, Any] = dict.fromkeys(_STRING_FIELDS, "")
    record["type"] = "article-journal"
    record["authors"] = []
    record["status"] = "active"
    record["status_notice"] = {}
    return record


def make_notice(doi: str = "", pmid: str = "", date: str = "", reason: str = "") -> dict:
    return {"doi": doi, "pmid": pmid, "date": date, "reason": reason}


def clean(value: Any) -> str:
    """Collapse whitespace in a scalar; lists contribute their first non-empty item."""
    if type(value) is str:  # nearly every call: skip the checks below
        return " ".join(value.split())
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        for item in value:
            text = clean(item)
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


def finalize_record(raw: Mapping[str, Any], *, nul_free: bool = False) -> dict:
    """Validate and normalise a record; raise ValueError naming the field when it is unusable.

    ``nul_free``: the caller knows the text the record came from holds no NUL byte.
    """
    nul = None if nul_free else _nul_field(raw)
    if nul:
        raise ValueError(f"{nul} contains a NUL byte (\\x00); the entry is refused")
    record = blank_record()
    get = raw.get
    for name in _STRING_FIELDS:
        value = get(name)
        # clean() inlined for the common cases (missing, a string): 14 fields per entry.
        if value is None:
            record[name] = ""
        else:
            record[name] = " ".join(value.split()) if type(value) is str else clean(value)
    record["type"] = record["type"] or "article-journal"
    record["authors"] = _clean_authors(raw.get("authors") or [])
    record["issued"] = normalize_issued(raw.get("issued"))
    _normalize_identifiers(record)
    if not (record["title"] or record["doi"] or record["pmid"]):
        raise ValueError("no title, DOI or PMID: nothing identifies this source")

    status = clean(raw.get("status")) or "active"
    if status not in STATUSES:
        raise ValueError(f"invalid status {status!r}")
    record["status"] = status
    notice = raw.get("status_notice") or {}
    if notice:
        record["status_notice"] = make_notice(
            doi=_safe(normalize_doi, notice.get("doi")),
            pmid=_safe(normalize_pmid, notice.get("pmid")),
            date=normalize_issued(notice.get("date")),
            reason=clean(notice.get("reason")),
        )
    key = clean(raw.get("key"))
    record["key"] = key if _usable_key(key) else _generate_key(record)
    return record


def _clean_authors(people: Iterable[Any]) -> list[dict]:
    """Names as ``{family, given[, suffix][, role]}`` or ``{literal[, role]}``.

    ``role`` is ``"editor"`` for editors (absent for authors); ``{"literal": "et al"}``
    marks a list the source itself truncated (BibTeX ``and others``).
    """
    authors = []
    for author in people:
        if not isinstance(author, Mapping):
            continue
        # Each part cleaned once (a 10 MB file has a hundred thousand names).
        literal = clean(author.get("literal"))
        if literal:
            name = {"literal": literal}
        else:
            family, given = clean(author.get("family")), clean(author.get("given"))
            if family:
                name = {"family": family, "given": given}
            elif given:
                # A single-word name ("Plato") arrives as given only; family is what renders.
                name = {"family": given, "given": ""}
            else:
                continue
            suffix = author.get("suffix")
            if suffix and (suffix := clean(suffix)):
                name["suffix"] = suffix.rstrip(".")  # AMA: "King ML Jr"
        if author.get("role") == "editor":
            name["role"] = "editor"
        authors.append(name)
    return authors


def _nul_field(raw: Mapping[str, Any]) -> str | None:
    """The first field holding a NUL byte, which PostgreSQL cannot store in text or JSON."""
    for name, value in raw.items():
        if _has_nul(value):
            return name
    return None


def _has_nul(value: Any) -> bool:
    if type(value) is str:
        return "\x00" in value
    if type(value) is list and all(type(item) is dict for item in value):  # authors
        return any(_has_nul(item) for item in value)
    if isinstance(value, Mapping):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_has_nul(item) for item in value)
    return False


def _normalize_identifiers(record: dict) -> None:
    """Normalise DOI (or take it from a doi.org URL), PMID and PMCID in place."""
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


def _safe(normalizer: Callable[[Any], str], value: Any) -> str:
    """Normalise an identifier inside a notice, dropping it rather than failing the record."""
    if not value:
        return ""
    try:
        return normalizer(value)
    except InvalidIdentifier:
        return ""


def first_of_repeated(pairs: list[tuple[str, str]]) -> tuple[dict[str, str], list[str]]:
    """A tagged record's single-valued tags given more than once (``TI`` twice).

    Returns each tag's first non-empty value and a warning for each tag whose values
    differ, for the report: the first is kept, as BibTeX keeps the first of a field
    given twice. ``pairs`` are (tag, value) in file order, single-valued tags only.
    The common case, no tag repeated with another value, costs two dict builds.
    """
    if dict(pairs) == dict(reversed(pairs)):
        return {}, []
    kept: dict[str, str] = {}
    warnings: list[str] = []
    for tag, value in pairs:
        value = clean(value)
        if not value:
            continue
        if tag not in kept:
            kept[tag] = value
        elif value != kept[tag]:
            warning = f"tag {tag!r} given twice: the first is kept"
            if warning not in warnings:
                warnings.append(warning)
    return kept, warnings


def pick_status(events: Iterable[tuple[str, dict]]) -> tuple[str, dict]:
    """Choose the winning status and its most recent notice from (status, notice) events."""
    best_status, best_notice, best_rank = "active", {}, 0
    for status, notice in events:
        rank = SEVERITY[status]
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


def finish(
    raw_entries: Iterable[RawEntry],
    *,
    keys_are_labels: bool = True,
    seen: SeenInFile | None = None,
    nul_free: bool = False,
) -> list[ParsedEntry]:
    """Validate raw records, make keys unique and refuse in-file duplicates.

    ``keys_are_labels`` False (RIS ``ID``, a record number) gives a repeated key a
    fresh suffix instead of refusing the entry as a BibTeX duplicate key is refused.
    Pass the same ``seen`` for every batch of one file, and ``nul_free`` when the
    batch's text holds no NUL byte (each record's fields need not be searched then).
    """
    seen = SeenInFile() if seen is None else seen
    results: list[ParsedEntry] = []
    for index, key, raw, error, warnings in raw_entries:
        key = key.replace("\x00", "\\x00")  # a refused entry's key goes into the report
        if error is not None or raw is None:
            results.append(ParsedEntry(index, key, None, error or "unreadable entry", warnings))
            continue
        try:
            record = finalize_record(raw, nul_free=nul_free)
        except ValueError as exc:
            entry_key = key or clean(raw.get("key")).replace("\x00", "\\x00")
            results.append(ParsedEntry(index, entry_key, None, str(exc), warnings))
            continue
        explicit = keys_are_labels and _usable_key(clean(raw.get("key")))
        problem = seen.claim(index, record, explicit=explicit)
        if problem:
            results.append(ParsedEntry(index, record["key"], None, problem, warnings))
        else:
            results.append(ParsedEntry(index, record["key"], record, None, warnings))
    return results


def finish_in_batches(
    raw_entries: Iterable[RawEntry], size: int, *, nul_free: bool
) -> Iterator[list[ParsedEntry]]:
    """:func:`finish` over a stream of raw entries, ``size`` at a time, one file's
    ``SeenInFile`` for every batch. Yields nothing for an empty stream."""
    seen, raw = SeenInFile(), []
    for entry in raw_entries:
        raw.append(entry)
        if len(raw) >= size:
            yield finish(raw, seen=seen, nul_free=nul_free)
            raw = []
    if raw:
        yield finish(raw, seen=seen, nul_free=nul_free)


@dataclass
class SeenInFile:
    """Keys, DOIs and PMIDs already taken by earlier entries of the same file."""

    keys: dict[str, str] = field(default_factory=dict)
    doi: dict[str, str] = field(default_factory=dict)
    pmid: dict[str, str] = field(default_factory=dict)

    def claim(self, index: int, record: dict, *, explicit: bool) -> str | None:
        """Give the record a unique key and remember it; or say why it is a duplicate."""
        if record["key"] in self.keys:
            if explicit:
                return (
                    f"duplicate key {record['key']!r}: already used by entry "
                    f"{self.keys[record['key']]}"
                )
            record["key"] = self._suffixed(record["key"], index)
        if record["doi"] and record["doi"] in self.doi:
            return f"duplicate DOI {record['doi']}: same as entry {self.doi[record['doi']]!r}"
        if record["pmid"] and record["pmid"] in self.pmid:
            return f"duplicate PMID {record['pmid']}: same as entry {self.pmid[record['pmid']]!r}"
        self.keys[record["key"]] = f"#{index} ({record['key']})"
        if record["doi"]:
            self.doi[record["doi"]] = record["key"]
        if record["pmid"]:
            self.pmid[record["pmid"]] = record["key"]
        return None

    def _suffixed(self, base: str, index: int) -> str:
        # Generated keys collide innocently (two Smith 2020 papers): suffix a, b, c...
        for suffix in "abcdefghijklmnopqrstuvwxyz":
            if base + suffix not in self.keys:
                return base + suffix
        return f"{base}_{index}"


SUFFIXES = frozenset({"jr", "sr", "ii", "iii", "iv", "v", "2nd", "3rd", "4th"})
# Initials written after the family name: "E.", "AJ", "E.F.", "J-P".
_INITIALS = re.compile(r"^(?:[A-Z]\.?-?){1,4}$")


def is_suffix(word: str) -> bool:
    """``Jr``, ``Jr.``, ``III``, ``3rd``...: a generational suffix, printed after the initials."""
    return word.rstrip(".,").casefold() in SUFFIXES


def split_name(text: str, role: str = "") -> dict:
    """Split ``Family, Given[, Suffix]``, ``Family Initials`` or ``Given Family``.

    RIS writes ``King, Martin L., Jr.``; BibTeX-style ``King, Jr., Martin`` also occurs.
    A name without a comma whose last word is initials (``Fanning E.``) is family first.
    """
    text = clean(text)
    if not text:
        return {}
    parts = [p.strip() for p in text.split(",")]
    suffix = ""
    if len(parts) >= 3 and is_suffix(parts[1]):
        family, suffix, given = parts[0], parts[1], ", ".join(parts[2:])
    elif len(parts) >= 2:
        family, given = parts[0], ", ".join(parts[1:])
        if len(parts) >= 3 and is_suffix(parts[-1]):
            given, suffix = ", ".join(parts[1:-1]), parts[-1]
    else:
        words = text.split()
        if len(words) > 1 and is_suffix(words[-1]):
            suffix, words = words[-1], words[:-1]
        if len(words) == 1:
            family, given = words[0], ""
        elif _INITIALS.match(words[-1]):
            family, given = " ".join(words[:-1]), words[-1]
        else:
            family, given = words[-1], " ".join(words[:-1])
    name = {"family": family, "given": given}
    if suffix:
        name["suffix"] = suffix
    if role:
        name["role"] = role
    return name


def expand_pages(pages: str) -> str:
    """Expand MEDLINE-style abbreviated ranges: ``637-41`` becomes ``637-641``."""
    pages = clean(pages).replace("--", "-").replace("–", "-")
    match = re.fullmatch(r"([A-Za-z]*)(\d+)\s*-\s*([A-Za-z]*)(\d+)", pages)
    if not match:
        return pages
    prefix, start, end_prefix, end = match.groups()
    if len(end) < len(start):
        end = start[: len(start) - len(end)] + end
    return f"{prefix}{start}-{end_prefix or prefix}{end}"
