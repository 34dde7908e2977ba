"""Parsers that turn uploaded citation files into normalised Source records.

Supported formats: BibTeX, RIS (including Web of Science exports), CSL-JSON,
PubMed MEDLINE (``.nbib``/``.txt``) and the Retraction Watch CSV export; one
module per format, sharing :mod:`citations.importers.common`.

Every parser returns one :class:`ParsedEntry` per entry it saw. An entry either
carries a fully validated ``record`` or an ``error`` saying why it was refused;
it never carries half a record. :func:`parse_file` never raises for bad
content: a file that cannot be read at all becomes a single refused entry.
Only a file whose format cannot be recognised raises :class:`UnsupportedFormat`.
"""

from .bibtex import parse_bibtex
from .common import (
    FORMATS,
    STATUSES,
    ParsedEntry,
    RawEntry,
    UnsupportedEncoding,
    UnsupportedFormat,
    blank_record,
    finalize_record,
    pick_status,
)
from .csljson import parse_csl_json
from .files import OpenedFile, detect_format, open_file, parse_file
from .medline import parse_medline
from .retraction_watch import parse_retraction_watch_entries
from .ris import parse_ris

__all__ = [
    "FORMATS",
    "OpenedFile",
    "STATUSES",
    "ParsedEntry",
    "RawEntry",
    "UnsupportedEncoding",
    "UnsupportedFormat",
    "blank_record",
    "detect_format",
    "finalize_record",
    "open_file",
    "parse_bibtex",
    "parse_csl_json",
    "parse_file",
    "parse_medline",
    "parse_retraction_watch_entries",
    "parse_ris",
    "pick_status",
]
