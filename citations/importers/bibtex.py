"""BibTeX (bibtexparser 2): entries, names split by bibtexparser, LaTeX decoded."""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from typing import Any

from citations.identifiers import doi_from_url

from .common import ParsedEntry, RawEntry, clean, expand_pages, finish

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
            return {"literal": clean(_latex_to_text(token[1:-1]))}
    family = " ".join(von + last)
    if jr:
        family = f"{family}, {' '.join(jr)}"
    return {
        "family": clean(_latex_to_text(family)),
        "given": clean(_latex_to_text(" ".join(first))),
    }


def _bibtex_value(fields: Mapping[str, Any], *names: str) -> str:
    for name in names:
        if name in fields and not isinstance(fields[name], list):
            value = clean(fields[name])
            if value:
                return value
    return ""


def _bibtex_people(fields: Mapping[str, Any], warnings: list[str]) -> list[dict]:
    """Authors, else editors (with a warning); notes an ``and others`` truncation."""
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
    return authors


def _bibtex_issued(fields: Mapping[str, Any]) -> str:
    issued = _bibtex_value(fields, "date")
    if not issued:
        year = _bibtex_value(fields, "year")
        month = _bibtex_value(fields, "month")
        issued = f"{year} {month}".strip() if month and not month.isdigit() else year
        if month.isdigit() and year:
            issued = f"{year}-{int(month):02d}"
    return issued


def _bibtex_record(entry: Any) -> tuple[dict, list[str]]:
    fields = {f.key.lower(): f.value for f in entry.fields}
    warnings: list[str] = []
    etype = entry.entry_type.lower()
    authors = _bibtex_people(fields, warnings)
    container = _bibtex_value(fields, "journal", "journaltitle", "booktitle")
    if etype == "book":
        container = _bibtex_value(fields, "series")
    issued = _bibtex_issued(fields)
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
        "pages": expand_pages(_bibtex_value(fields, "pages")),
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

    raw: list[RawEntry] = []
    for block in library.blocks:
        entry = _block_entry(block, len(raw) + 1)
        if entry is not None:
            raw.append(entry)
    if not raw:
        return [ParsedEntry(0, "", None, "no BibTeX entries found")]
    return finish(raw)


def _block_entry(block: Any, index: int) -> RawEntry | None:
    """The raw entry for one bibtexparser block; None for comments, @string and the like."""
    kind = type(block).__name__
    if kind == "DuplicateBlockKeyBlock":
        return RawEntry.refused(
            index,
            block.key,
            f"duplicate key {block.key!r} (line {block.start_line + 1}): "
            "an earlier entry already uses it",
        )
    if kind.endswith("ErrorBlock") or kind.endswith("FailedBlock"):
        raw_text = getattr(block, "raw", "") or ""
        if not raw_text.lstrip().startswith("@"):
            return None
        key_match = re.match(r"\s*@\w+\s*[{(]\s*([^,\s]+)", raw_text)
        reason = str(getattr(block, "error", "") or "syntax error")
        if "BlockAbortedException" in repr(getattr(block, "error", "")) or not reason:
            reason = "unterminated entry (missing closing brace?)"
        return RawEntry.refused(
            index,
            key_match.group(1) if key_match else "",
            f"could not parse entry at line {block.start_line + 1}: {reason}",
        )
    if kind != "Entry":
        return None
    try:
        record, warnings = _bibtex_record(block)
    except Exception as exc:  # noqa: BLE001 - one odd entry must not stop the rest
        return RawEntry.refused(index, block.key, f"could not read entry: {exc}")
    return RawEntry(index, block.key, record, None, warnings)
