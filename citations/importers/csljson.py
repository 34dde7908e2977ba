"""CSL-JSON: a list of items (Zotero, Mendeley, citeproc exports) or one item."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from .common import ParsedEntry, RawEntry, clean, expand_pages, finish
from .crossref import is_crossref, parse_crossref


def _csl_name(person: Mapping[str, Any], role: str) -> dict:
    if person.get("literal"):
        name = {"literal": clean(person["literal"])}
    else:
        particle = clean(person.get("non-dropping-particle"))
        family = " ".join(p for p in (particle, clean(person.get("family"))) if p)
        dropping = clean(person.get("dropping-particle"))
        given = " ".join(p for p in (clean(person.get("given")), dropping) if p)
        name = {"family": family, "given": given}
        if person.get("suffix"):
            name["suffix"] = clean(person["suffix"])
    if role == "editor":
        name["role"] = "editor"
    return name


def csl_people(item: Mapping[str, Any]) -> list[dict]:
    """Authors, then editors (``role: editor``), from CSL name lists."""
    people = []
    for role in ("author", "editor"):
        names = item.get(role) or []
        for person in names if isinstance(names, list) else []:
            if isinstance(person, Mapping):
                people.append(_csl_name(person, role))
    return people


def _csl_record(item: Mapping[str, Any]) -> tuple[dict, list[str]]:
    record = {
        "key": clean(item.get("citation-key") or item.get("citation_key") or item.get("id")),
        "type": clean(item.get("type")) or "article",
        "title": item.get("title") or "",
        "authors": csl_people(item),
        "container_title": item.get("container-title") or item.get("collection-title") or "",
        "container_title_short": item.get("container-title-short")
        or item.get("journalAbbreviation")
        or "",
        "issued": item.get("issued") or "",
        "volume": item.get("volume"),
        "issue": item.get("issue"),
        # Zotero exports an article number (eLife's e80092) as CSL "number".
        "pages": expand_pages(clean(item.get("page")))
        or (clean(item.get("number")) if clean(item.get("type")) == "article-journal" else ""),
        "doi": item.get("DOI") or item.get("doi") or "",
        "pmid": item.get("PMID") or item.get("pmid") or "",
        "pmcid": item.get("PMCID") or item.get("pmcid") or "",
        "url": item.get("URL") or item.get("url") or "",
        "publisher": item.get("publisher"),
    }
    return record, []


def _complete_items(text: str) -> tuple[list[Any], str]:
    """The items of a JSON list that was cut off, and what went wrong after the last one."""
    decoder = json.JSONDecoder()
    items: list[Any] = []
    position = text.index("[") + 1
    while True:
        while position < len(text) and text[position] in " \t\r\n,":
            position += 1
        if position >= len(text) or text[position] == "]":
            return items, "the list is not closed"
        try:
            item, position = decoder.raw_decode(text, position)
        except json.JSONDecodeError as exc:
            return (
                items,
                f"item {len(items) + 1} is truncated or invalid ({exc.msg}, line {exc.lineno})",
            )
        items.append(item)


def _load(text: str) -> tuple[Any, list[RawEntry]]:
    """The JSON document; for a truncated list, the complete items and one refused entry."""
    try:
        return json.loads(text), []
    except json.JSONDecodeError as exc:
        if not text.lstrip().startswith("["):
            return None, [RawEntry.refused(0, "", f"invalid JSON: {exc}")]
        items, problem = _complete_items(text)
        return items, [RawEntry.refused(len(items) + 1, "", problem)]


def parse_csl_json(text: str) -> list[ParsedEntry]:
    """Parse CSL-JSON (a list of items or one item) or a Crossref ``/works`` answer."""
    data, broken = _load(text)
    if data is None:
        return [ParsedEntry(*broken[0])]
    if is_crossref(data):
        return parse_crossref(data)
    if isinstance(data, Mapping) and isinstance(data.get("items"), list):
        data = data["items"]
    if isinstance(data, Mapping):
        data = [data]
    if not isinstance(data, list) or not (data or broken):
        return [ParsedEntry(0, "", None, "CSL-JSON must be a non-empty list of items or one item")]
    raw: list[RawEntry] = []
    for index, item in enumerate(data, start=1):
        if not isinstance(item, Mapping):
            raw.append(RawEntry.refused(index, "", f"item {index} is not a JSON object"))
            continue
        try:
            record, warnings = _csl_record(item)
        except Exception as exc:  # noqa: BLE001 - an odd item must not stop the others
            reason = f"could not read item: {exc}"
            raw.append(RawEntry.refused(index, clean(item.get("id")), reason))
            continue
        raw.append(RawEntry(index, record["key"], record, None, warnings))
    return finish(raw + broken)
