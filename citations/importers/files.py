"""The public entry point: decode an upload, detect its format, run its parser."""

from __future__ import annotations

import re
from collections.abc import Callable

from .bibtex import parse_bibtex
from .common import FORMATS, ParsedEntry, UnsupportedFormat
from .csljson import parse_csl_json
from .medline import parse_medline
from .retraction_watch import parse_retraction_watch_entries
from .ris import parse_ris

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
