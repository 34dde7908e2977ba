"""Crossref REST ``/works`` JSON: a ``/works/{doi}`` answer, its ``message``, or a work list.

Used for uploads and by the metadata lookup (:mod:`citations.lookup`). A work's
status comes from :func:`citations.registries.crossref_status`, the integrity
watch's reading of ``updated-by``/``update-to``/``relation`` (a retraction notice
is never taken for the paper it retracts), so an import and a check agree.

Titles lose their JATS/HTML markup (``<i>``, ``&amp;``) and text garbled by a
wrong decoding upstream (``CastaÃ±o``) is repaired with ftfy.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from typing import Any

from citations.identifiers import normalize_issued
from citations.registries import crossref_status

from .common import ParsedEntry, RawEntry, clean, finalize_record, finish

__all__ = ["crossref_message_to_record", "is_crossref", "parse_crossref"]

_CROSSREF_TYPES = {
    "journal-article": "article-journal",
    "book": "book",
    "monograph": "book",
    "edited-book": "book",
    "reference-book": "book",
    "book-chapter": "chapter",
    "book-section": "chapter",
    "book-part": "chapter",
    "proceedings-article": "paper-conference",
    "report": "report",
    "report-component": "report",
    "dissertation": "thesis",
    "posted-content": "article",
    "dataset": "dataset",
    "reference-entry": "entry",
    "standard": "standard",
    "peer-review": "review",
}
_CHAPTERS = {"book-chapter", "book-section", "book-part", "reference-entry"}
# Keys only Crossref's work objects carry (CSL-JSON has none of them).
CROSSREF_KEYS = ("indexed", "reference-count", "is-referenced-by-count", "deposited", "member")
_TAG = re.compile(r"<[^>]{0,200}>")


def _text(value: Any) -> str:
    """Crossref text without markup or entities, with mojibake repaired."""
    import ftfy

    text = value[0] if isinstance(value, list) and value else value
    text = "" if text is None or isinstance(text, list) else str(text)
    return clean(ftfy.fix_text(html.unescape(_TAG.sub("", text))))


def _date_parts(value: Any) -> str:
    return normalize_issued(value) if isinstance(value, Mapping) else ""


def _people(message: Mapping[str, Any]) -> list[dict]:
    """Authors, then editors (``role: editor``); ``name`` is a collective author."""
    people = []
    for role in ("author", "editor"):
        for person in message.get(role) or []:
            if not isinstance(person, Mapping):
                continue
            if person.get("name") and not person.get("family"):
                name = {"literal": _text(person["name"])}
            else:
                name = {"family": _text(person.get("family")), "given": _text(person.get("given"))}
                if person.get("suffix"):
                    name["suffix"] = _text(person["suffix"])
            if role == "editor":
                name["role"] = "editor"
            people.append(name)
    return people


def _raw_record(message: Mapping[str, Any]) -> dict:
    issued = ""
    for key in ("issued", "published-print", "published-online", "published", "created"):
        issued = _date_parts(message.get(key))
        if issued:
            break
    # The integrity watch's reading of a record's standing (a notice is never
    # taken for the paper it retracts), so imports and checks agree.
    status, notice = crossref_status(message)
    kind = str(message.get("type") or "")
    containers = [c for c in message.get("container-title") or [] if isinstance(c, str)]
    # A chapter's container-title lists the series first and the book last.
    container = containers[-1] if kind in _CHAPTERS and containers else _text(containers)
    return {
        "key": "",
        "type": _CROSSREF_TYPES.get(kind, "article"),
        "title": _text(message.get("title")),
        "authors": _people(message),
        "container_title": _text(container),
        "container_title_short": _text(message.get("short-container-title")),
        "issued": issued,
        "volume": message.get("volume") or "",
        "issue": message.get("issue") or "",
        "pages": message.get("page") or message.get("article-number") or "",
        "doi": str(message.get("DOI") or ""),
        "url": "",
        "publisher": _text(message.get("publisher")),
        "status": status,
        "status_notice": notice,
    }


def crossref_message_to_record(message: Mapping[str, Any]) -> dict:
    """Convert a Crossref ``/works`` ``message`` object to a normalised record."""
    return finalize_record(_raw_record(message))


def _messages(data: Any) -> list[Any]:
    if isinstance(data, Mapping) and "message" in data:
        message = data["message"]
        if isinstance(message, Mapping) and isinstance(message.get("items"), list):
            return message["items"]  # message-type work-list
        return [message]
    return data if isinstance(data, list) else [data]


def is_crossref(data: Any) -> bool:
    """True for a Crossref answer (``message-type``) or work object(s)."""
    if isinstance(data, Mapping) and "message-type" in data:
        return True
    first = data[0] if isinstance(data, list) and data else data
    return isinstance(first, Mapping) and any(key in first for key in CROSSREF_KEYS)


def crossref_entry(index: int, message: Any) -> RawEntry:
    """The raw entry for one Crossref work object (the ``index``-th of the file)."""
    if not isinstance(message, Mapping):
        return RawEntry.refused(index, "", f"item {index} is not a Crossref work object")
    return RawEntry(index, "", _raw_record(message), None, [])


def parse_crossref(data: Any) -> list[ParsedEntry]:
    """Entries from a Crossref answer, its message, a work list or a list of messages."""
    raw = [crossref_entry(index, message) for index, message in enumerate(_messages(data), 1)]
    if not raw:
        return [ParsedEntry(0, "", None, "the Crossref answer holds no works")]
    return finish(raw)
