"""Normalisation of bibliographic identifiers, titles and dates.

Everything here is pure string handling with no Django or network access, so the
importers, the metadata lookup and the Source model can share one definition of
"the same DOI", "the same title" and "the same date".

Decisions worth knowing:

* DOIs are stored lower-case. DOIs are case-insensitive by specification, and
  exporters disagree on case (``10.1016/S0140-...`` vs ``10.1016/s0140-...``).
* PMIDs are stored as their decimal string without leading zeros.
* PMCIDs are stored as ``PMC`` + digits. A bare number is accepted and
  prefixed, because the only place we call this is on a field already known
  to hold a PMCID (RIS/CSL ``PMCID``, MEDLINE ``PMC``), so there is no
  ambiguity with a PMID.
* Dates are ISO partial strings (``1998``, ``1998-02``, ``1998-02-28``) or "".
"""

from __future__ import annotations

import datetime as _dt
import functools
import re
import unicodedata
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote

__all__ = [
    "InvalidIdentifier",
    "doi_from_text",
    "doi_from_url",
    "duplicate_signature",
    "normalize_doi",
    "normalize_issued",
    "normalize_pmcid",
    "normalize_pmid",
    "normalize_title",
    "normalize_url",
]


class InvalidIdentifier(ValueError):
    """An identifier (DOI, PMID, PMCID) that cannot be normalised."""


# Registrant codes are 4-9 digits, optionally with dot-separated sub-codes (10.1000.10/x).
_DOI_RE = re.compile(r"^10\.\d{4,9}(?:\.\d+)*/\S+$")
_DOI_SEARCH_RE = re.compile(r"10\.\d{4,9}(?:\.\d+)*/[^\s\"'<>]+")
_DOI_PREFIX_RE = re.compile(
    r"^(?:"
    r"(?:https?://)?(?:dx\.|www\.)?doi\.org/"
    r"|info:doi/"
    r"|urn:doi:"
    r"|doi\s*[:=]\s*"
    r"|doi\s+"
    r")",
    re.IGNORECASE,
)


def normalize_doi(value: Any) -> str:
    """Return the canonical lower-case DOI (``10.NNNN/suffix``) or raise InvalidIdentifier."""
    if value is None:
        raise InvalidIdentifier("DOI is empty")
    text = str(value).strip()
    if not text:
        raise InvalidIdentifier("DOI is empty")
    # Prefixes can stack ("doi: https://doi.org/10..."), so strip until nothing changes.
    previous = None
    while previous != text:
        previous = text
        text = _DOI_PREFIX_RE.sub("", text).strip()
    if "%" in text:
        # Resolver URLs are often percent-encoded (10.1000%2Fabc).
        text = unquote(text)
    text = text.lower()
    if not _DOI_RE.match(text):
        raise InvalidIdentifier(f"{str(value).strip()!r} is not a DOI (expected 10.NNNN/...)")
    return text


def doi_from_url(url: Any) -> str:
    """Extract a normalised DOI from a resolver or publisher URL; return "" when there is none."""
    if not url:
        return ""
    text = unquote(str(url).strip())
    match = _DOI_SEARCH_RE.search(text)
    if not match:
        return ""
    candidate = match.group(0)
    # Query strings and fragments are never part of a DOI found in a URL.
    candidate = re.split(r"[?#&]", candidate, maxsplit=1)[0]
    candidate = candidate.rstrip(".,;")
    # Publisher landing pages append view suffixes after the DOI.
    candidate = re.sub(r"/(?:abstract|full|pdf|epdf|fulltext|html)$", "", candidate, flags=re.I)
    try:
        return normalize_doi(candidate)
    except InvalidIdentifier:
        return ""


def doi_from_text(text: Any) -> str:
    """Extract the first DOI from free text such as a MEDLINE citation; "" when there is none."""
    if not text:
        return ""
    match = _DOI_SEARCH_RE.search(str(text))
    if not match:
        return ""
    # A DOI at the end of a sentence carries the full stop with it.
    candidate = match.group(0).rstrip(".,;")
    try:
        return normalize_doi(candidate)
    except InvalidIdentifier:
        return ""


_PMID_PREFIX_RE = re.compile(r"^(?:pmid|pubmed(?:\s*id)?)\s*[:=]?\s*", re.IGNORECASE)


def normalize_pmid(value: Any) -> str:
    """Return a PubMed ID as a decimal string; accepts ``PMID: 123`` and ``pmid:123``."""
    if value is None or isinstance(value, bool):
        raise InvalidIdentifier("PMID is empty")
    if isinstance(value, int):
        text = str(value)
    else:
        text = _PMID_PREFIX_RE.sub("", str(value).strip()).strip()
    if not text:
        raise InvalidIdentifier("PMID is empty")
    if not text.isascii() or not text.isdigit():
        raise InvalidIdentifier(f"{str(value).strip()!r} is not a PMID (expected digits only)")
    number = int(text)
    if number <= 0:
        raise InvalidIdentifier(f"{str(value).strip()!r} is not a PMID (must be positive)")
    return str(number)


def normalize_pmcid(value: Any) -> str:
    """Return a PubMed Central ID as ``PMC<digits>``; ``pmc123`` and bare ``123`` are accepted."""
    if value is None or isinstance(value, bool):
        raise InvalidIdentifier("PMCID is empty")
    text = str(value).strip()
    if not text:
        raise InvalidIdentifier("PMCID is empty")
    match = re.fullmatch(r"(?:pmcid\s*:\s*)?(?:pmc)?\s*(\d+)(?:\.\d+)?", text, re.IGNORECASE)
    if not match or int(match.group(1)) <= 0:
        raise InvalidIdentifier(f"{text!r} is not a PMCID (expected PMC followed by digits)")
    return f"PMC{int(match.group(1))}"


def _strip_accents(text: str) -> str:
    if text.isascii():  # nothing to decompose: most titles and names
        return text
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


# Elsevier and others prefix retracted titles in Crossref; the status field carries that fact.
_TITLE_MARK_RE = re.compile(r"^\s*(?:retracted|withdrawn)\s*:\s*", re.IGNORECASE)


def normalize_title(title: Any) -> str:
    """Return a comparison form of a title: casefolded, no accents, punctuation or brackets."""
    if not title:
        return ""
    text = str(title)
    text = (text if text.isascii() else unicodedata.normalize("NFKC", text)).strip()
    text = _TITLE_MARK_RE.sub("", text)
    text = text.rstrip(". ")
    # MEDLINE wraps translated titles in square brackets: "[Original title]."
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    text = _strip_accents(text).casefold()
    text = re.sub(r"[^\w\s]|_", " ", text)
    return " ".join(text.split())


_MONTHS = {
    name: number
    for number, names in enumerate(
        [
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ],
        start=1,
    )
    for name in names
}


def _iso(year: int, month: int | None = None, day: int | None = None) -> str:
    """Format the longest valid prefix of (year, month, day) as an ISO partial date."""
    if not 1 <= year <= 9999:
        return ""
    if month is None or not 1 <= month <= 12:
        return f"{year:04d}"
    if day is not None:
        try:
            _dt.date(year, month, day)
        except ValueError:
            day = None
    if day is None:
        return f"{year:04d}-{month:02d}"
    return f"{year:04d}-{month:02d}-{day:02d}"


def _int_or_none(value: Any) -> int | None:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return None


def _issued_from_parts(parts: Any) -> str:
    if not isinstance(parts, list | tuple) or not parts:
        return ""
    numbers = [_int_or_none(p) for p in parts[:3]]
    if numbers[0] is None:
        return ""
    month = numbers[1] if len(numbers) > 1 else None
    day = numbers[2] if len(numbers) > 2 else None
    return _iso(numbers[0], month, day)


@functools.lru_cache(maxsize=4096)
def _issued_from_string(text: str) -> str:
    # Cached: an import's dates repeat (years, months), and each is read twice.
    text = text.strip()
    if not text:
        return ""
    # ISO and ISO-like: 1998, 1998-02, 1998-02-28, 1998/02/28, 2017-08-15T00:00:00Z
    match = re.match(r"^(\d{4})(?:[-/.](\d{1,2})(?:[-/.](\d{1,2}))?)?(?:$|[T ]\d{1,2}:\d{2})", text)
    if match:
        year, month, day = (_int_or_none(g) for g in match.groups())
        return _iso(year or 0, month, day)
    # Compact MEDLINE/WoS dates: 19980317, 199803
    match = re.fullmatch(r"(\d{4})(\d{2})(\d{2})?", text)
    if match:
        year, month, day = (_int_or_none(g) for g in match.groups())
        return _iso(year or 0, month, day)
    # US-style M/D/YYYY, as in the Retraction Watch CSV ("3/6/2004 0:00").
    match = re.match(r"^(\d{1,2})/(\d{1,2})/(\d{4})\b", text)
    if match:
        month, day, year = (int(g) for g in match.groups())
        return _iso(year, month, day)
    # MEDLINE: "1998 Feb 28", "2016 Nov", "1998 Feb-Mar", "2004 Spring", "2000 Dec 30-2001 Jan 5"
    match = re.match(r"^(\d{4})\s+([A-Za-z]+)\.?(?:\s+(\d{1,2}))?", text)
    if match:
        year = int(match.group(1))
        word = match.group(2).casefold()
        month = _MONTHS.get(word)
        if month is None:
            # Seasons ("Spring") and unknown words: the year is all we can honestly keep.
            return _iso(year)
        day = _int_or_none(match.group(3)) if match.group(3) else None
        return _iso(year, month, day)
    # "28 Feb 1998", "Feb 28, 1998", "February 1998"
    match = re.match(r"^(\d{1,2})\s+([A-Za-z]+)\.?,?\s+(\d{4})$", text)
    if match and match.group(2).casefold() in _MONTHS:
        return _iso(int(match.group(3)), _MONTHS[match.group(2).casefold()], int(match.group(1)))
    match = re.match(r"^([A-Za-z]+)\.?(?:\s+(\d{1,2}))?,?\s+(\d{4})$", text)
    if match and match.group(1).casefold() in _MONTHS:
        day = int(match.group(2)) if match.group(2) else None
        return _iso(int(match.group(3)), _MONTHS[match.group(1).casefold()], day)
    # Last resort: keep a plausible year rather than lose the date altogether.
    match = re.search(r"\b(1[5-9]\d\d|2[01]\d\d)\b", text)
    return _iso(int(match.group(1))) if match else ""


def normalize_issued(value: Any) -> str:
    """Return an ISO partial date (``1998``, ``1998-02``, ``1998-02-28``) or "" if unknown.

    Accepts CSL date objects (``{"date-parts": [[1998, 2]]}``, ``{"raw": ...}``,
    ``{"literal": ...}``), date-parts lists, ints, ISO strings, MEDLINE ``DP``
    values (``1998 Feb 28``), compact ``19980228`` and US ``2/28/1998``. Invalid
    months/days are dropped rather than guessed.
    """
    if value is None or value == "":
        return ""
    if isinstance(value, bool):
        return ""
    if isinstance(value, _dt.datetime | _dt.date):
        return value.strftime("%Y-%m-%d")
    if isinstance(value, int):
        return _iso(value)
    if isinstance(value, Mapping):
        parts = value.get("date-parts")
        if isinstance(parts, list) and parts:
            # Ranges are [[start], [end]]; the start is the publication date.
            first = parts[0] if isinstance(parts[0], list | tuple) else parts
            result = _issued_from_parts(first)
            if result:
                return result
        for key in ("raw", "literal", "date-time"):
            if value.get(key):
                return _issued_from_string(str(value[key]))
        if value.get("year"):
            return _iso(_int_or_none(value["year"]) or 0, _int_or_none(value.get("month")))
        return ""
    if isinstance(value, list | tuple):
        if value and isinstance(value[0], list | tuple):
            return _issued_from_parts(value[0])
        return _issued_from_parts(value)
    return _issued_from_string(str(value))


def duplicate_signature(record: Mapping[str, Any]) -> tuple[str, str, str]:
    """Return (normalised title, year, casefolded first-author family) for duplicate checks."""
    title = normalize_title(record.get("title") or "")
    year = normalize_issued(record.get("issued") or "")[:4]
    family = ""
    authors = record.get("authors") or []
    if authors:
        first = authors[0] or {}
        name = first.get("family") or first.get("literal") or ""
        family = " ".join(_strip_accents(str(name)).casefold().split())
    return (title, year, family)


#: A source's ``url``: absolute http(s), a host of letters, digits, dots and hyphens
#: (internationalised names in their xn-- form), an optional port, then no spaces,
#: control characters or ``<>"\\^`{|}``. It becomes a link on reader pages and in
#: JSON-LD, so ``javascript:``, ``data:`` and the like never pass. The API's schema
#: publishes the same pattern.
URL_RE = re.compile(
    r"^[hH][tT][tT][pP][sS]?://[A-Za-z0-9.-]+(?::[0-9]{1,5})?"
    r"(?:[/?#][^\x00-\x20\x7f<>\"\\^`{|}]*)?$"
)
#: URL_RE, or empty: the pattern of the ``url`` field in the OpenAPI schema.
URL_PATTERN = "^(?:" + URL_RE.pattern[1:-1] + ")?$"
URL_MAX_LENGTH = 1000


def normalize_url(value: Any) -> str:
    """A source URL, stripped; "" stays "". The one rule for import, API and rendering."""
    text = str(value or "").strip()
    if not text:
        return ""
    if len(text) > URL_MAX_LENGTH:
        raise InvalidIdentifier(f"the URL is longer than {URL_MAX_LENGTH} characters")
    if not URL_RE.match(text):
        raise InvalidIdentifier(
            f"{text[:80]!r} is not an http(s) URL with a host (and no spaces or control characters)"
        )
    return text
