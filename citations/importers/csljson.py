"""CSL-JSON: a list of items (Zotero, Mendeley, citeproc exports) or one item."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

from .common import ParsedEntry, RawEntry, clean, expand_pages, finish, finish_in_batches
from .crossref import CROSSREF_KEYS, crossref_entry, is_crossref, parse_crossref


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


def _csl_entry(index: int, item: Any) -> RawEntry:
    if not isinstance(item, Mapping):
        return RawEntry.refused(index, "", f"item {index} is not a JSON object")
    try:
        record, warnings = _csl_record(item)
    except Exception as exc:  # noqa: BLE001 - an odd item must not stop the others
        return RawEntry.refused(index, clean(item.get("id")), f"could not read item: {exc}")
    return RawEntry(index, record["key"], record, None, warnings)


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
    raw = [_csl_entry(index, item) for index, item in enumerate(data, start=1)]
    return finish(raw + broken)


# --- in batches (background jobs) -------------------------------------------------------------

#: Items parsed and stored at a time: a 10 MB list never becomes Python objects at once.
BATCH_SIZE = 2000


def _list_path(data: bytes) -> tuple[str, bool] | None:
    """Where the file's list of items is (an ijson prefix) and whether they are Crossref works.

    A top-level list (CSL items, or Crossref works, told apart by the first item as
    :func:`parse_csl_json` does), ``{"items": [...]}``, or a Crossref work list
    (``{"message-type": ..., "message": {"items": [...]}}``). None for anything else
    (one item, an odd shape, a file broken near its start): that is parsed whole.
    """
    import ijson

    top_keys: set[str] = set()
    try:
        for prefix, event, value in ijson.parse(data):
            if (prefix, event) == ("", "start_array"):
                first = next(ijson.items(data, "item", use_float=True), None)
                return "item", is_crossref([first])
            if prefix == "" and event == "map_key":
                top_keys.add(value)
            elif (prefix, event) == ("items", "start_array"):
                if top_keys & {"message-type", "message", *CROSSREF_KEYS}:
                    return None
                return "items.item", False
            elif (prefix, event) == ("message.items", "start_array"):
                return ("message.items.item", True) if "message-type" in top_keys else None
            elif prefix == "" and event == "end_map":
                return None
    except ijson.JSONError:
        return None
    return None


def count_csl_json(text: str) -> int:
    """How many items the file's list holds (0 when it is not a list: one batch then)."""
    import ijson

    data = text.encode("utf-8")
    found = _list_path(data)
    if found is None:
        return 0
    path, depth, count = found[0], 0, 0
    try:
        for prefix, event, _value in ijson.parse(data):
            if prefix != path or event == "map_key":
                continue  # inside an item, or an item's keys
            if event in ("start_map", "start_array"):
                depth += 1
            elif event in ("end_map", "end_array"):
                depth -= 1
                count += depth == 0
            else:
                count += 1  # a scalar item (refused, but an entry)
    except ijson.JSONError:
        pass  # a truncated file: the complete items
    return count


def _raw_items(text: str, data: bytes, path: str, entry) -> Iterator[RawEntry]:
    """The list's items as raw entries, streamed; a file cut off inside an item ends
    with that item refused by its number."""
    import ijson

    items = ijson.items(data, path, use_float=True)
    index = 0
    while True:
        try:
            item = next(items)
        except StopIteration:
            return
        except ijson.JSONError:
            tail = text.rstrip(" \t\r\n,")
            problem = (
                "the list is not closed"
                if tail.endswith("}")
                else f"item {index + 1} is truncated or invalid (the file ends inside it)"
            )
            yield RawEntry.refused(index + 1, "", problem)
            return
        index += 1
        yield entry(index, item)


def iter_csl_json(text: str, size: int | None = None) -> Iterator[list[ParsedEntry]]:
    """Parse CSL-JSON or Crossref JSON in batches of ``size`` items, streaming the list.

    The same entries as :func:`parse_csl_json` for the same file; a file cut off in
    the middle of its list keeps the complete items and refuses the rest with the
    item's number.
    """
    size = size or BATCH_SIZE
    data = text.encode("utf-8")  # ijson reads bytes
    found = _list_path(data)
    if found is None:
        del data
        yield parse_csl_json(text)
        return
    path, crossref = found
    entry = crossref_entry if crossref else _csl_entry
    # JSON can also spell a NUL byte as an escape.
    nul_free = b"\x00" not in data and b"\\u0000" not in data
    entries = _raw_items(text, data, path, entry)
    any_batch = False
    for batch in finish_in_batches(entries, size, nul_free=nul_free):
        any_batch = True
        yield batch
    if not any_batch:
        message = (
            "the Crossref answer holds no works"
            if crossref
            else "CSL-JSON must be a non-empty list of items or one item"
        )
        yield [ParsedEntry(0, "", None, message)]
