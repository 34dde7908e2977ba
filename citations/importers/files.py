"""The public entry point: decode an upload, detect its format, run its parser."""

from __future__ import annotations

import codecs
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from .bibtex import count_bibtex, iter_bibtex, parse_bibtex
from .common import FORMATS, ParsedEntry, UnsupportedEncoding, UnsupportedFormat
from .csljson import count_csl_json, iter_csl_json, parse_csl_json
from .medline import count_medline, iter_medline, parse_medline
from .retraction_watch import (
    count_retraction_watch,
    iter_retraction_watch,
    parse_retraction_watch_entries,
)
from .ris import count_ris, iter_ris, parse_ris

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


_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig", "UTF-8"),
    (codecs.BOM_UTF16_LE, "utf-16", "UTF-16"),
    (codecs.BOM_UTF16_BE, "utf-16", "UTF-16"),
)
# What charset-normalizer calls Latin-1 text: cp1250 and cp1252 decode the letters of
# Western European names (é ü ñ ç) the same way as Latin-1, so it often answers those.
_LATIN = {"latin_1", "iso8859_15", "cp1252", "cp1250", "iso8859_2", "iso8859_10", "cp775"}
_SUPPORTED = "UTF-8, UTF-8 or UTF-16 with a byte-order mark, or Latin-1"


def decode(data: bytes) -> str:
    """The upload as text: a BOM decides, else UTF-8, else Latin-1 when the bytes look like it.

    Raises UnsupportedEncoding for anything else (GBK, Shift-JIS, cp1251, UTF-16 without
    a BOM), rather than storing garbled text. charset-normalizer judges non-UTF-8 bytes.
    """
    for bom, codec, label in _BOMS:
        if data.startswith(bom):
            try:
                return data[len(bom) :].decode(codec if codec != "utf-16" else _utf16(bom))
            except UnicodeDecodeError as exc:
                raise UnsupportedEncoding(
                    f"the file starts with a {label} byte-order mark but is not valid {label} "
                    f"(byte {exc.start + len(bom)})"
                )
    head = data[:2000]
    if head and head.count(0) > len(head) // 4:
        raise UnsupportedEncoding(
            f"the file looks like UTF-16 without a byte-order mark; supported: {_SUPPORTED}"
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is not None and best.encoding not in _LATIN:
        raise UnsupportedEncoding(
            f"the file's encoding is not supported (it looks like {best.encoding}); "
            f"save it as {_SUPPORTED}"
        )
    # Windows-1252 is what Windows tools mean by Latin-1 (curly quotes, dashes).
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _utf16(bom: bytes) -> str:
    return "utf-16-le" if bom == codecs.BOM_UTF16_LE else "utf-16-be"


@dataclass
class OpenedFile:
    """An upload decoded and recognised: how many entries it holds, and its batches."""

    format: str
    total: int
    batches: Iterator[list[ParsedEntry]]


_BATCHED: dict[str, tuple[Callable[[str], int], Callable[[str], Iterator[list[ParsedEntry]]]]] = {
    "bibtex": (count_bibtex, iter_bibtex),
    "ris": (count_ris, iter_ris),
    "wos": (count_ris, iter_ris),
    "medline": (count_medline, iter_medline),
    "csl-json": (count_csl_json, iter_csl_json),
    "retraction-watch": (count_retraction_watch, iter_retraction_watch),
}


def open_file(data: bytes, filename: str = "", fmt: str | None = None) -> OpenedFile:
    """Decode and recognise an upload; its entries come in batches of bounded size.

    Raises UnsupportedFormat (or UnsupportedEncoding) at once, before any entry
    is parsed. Every format comes in batches: a JSON list is streamed (ijson), a
    Retraction Watch CSV is grouped by paper first, keeping a few columns per paper.
    """
    if isinstance(data, str):
        data = data.encode("utf-8")
    text = decode(data)
    if fmt:
        name = fmt.strip().lower()
        name = _FORMAT_ALIASES.get(name, name)
        if name not in _PARSERS:
            raise UnsupportedFormat(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
    else:
        name = detect_format(text, filename)
    if not text.strip():
        return OpenedFile(name, 0, iter([[ParsedEntry(0, "", None, "the file is empty")]]))
    count, batches = _BATCHED.get(name, (None, None))
    if count is None:
        return OpenedFile(name, 0, _guarded(name, lambda: iter([_PARSERS[name](text)])))
    return OpenedFile(name, count(text), _guarded(name, lambda: batches(text)))


def _guarded(name: str, start: Callable[[], Iterator[list[ParsedEntry]]]):
    """The parser's batches; an unexpected parser error ends them with one refusal."""
    try:
        yield from start()
    except Exception as exc:  # noqa: BLE001 - never raise for bad content; report the file
        yield [ParsedEntry(0, "", None, f"could not parse {name} file: {exc}")]


def parse_file(data: bytes, filename: str = "", fmt: str | None = None) -> list[ParsedEntry]:
    """Parse an uploaded file into entries; raises only UnsupportedFormat (or its
    UnsupportedEncoding)."""
    return [entry for batch in open_file(data, filename, fmt).batches for entry in batch]
