"""CSL-JSON: a list of items (Zotero, Mendeley, citeproc exports) or one item."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from .common import ParsedEntry, RawEntry, clean, expand_pages, finish


def _csl_record(item: Mapping[str, Any]) -> tuple[dict, list[str]]:
    warnings: list[str] = []
    people = item.get("author") or []
    if not people and item.get("editor"):
        people = item["editor"]
        warnings.append("no authors: editors used as authors")
    authors = []
    for person in people if isinstance(people, list) else []:
        if not isinstance(person, Mapping):
            continue
        if person.get("literal"):
            authors.append({"literal": clean(person["literal"])})
        else:
            particle = clean(person.get("non-dropping-particle"))
            family = " ".join(p for p in (particle, clean(person.get("family"))) if p)
            if person.get("suffix"):
                family = f"{family}, {clean(person['suffix'])}"
            dropping = clean(person.get("dropping-particle"))
            given = " ".join(p for p in (clean(person.get("given")), dropping) if p)
            authors.append({"family": family, "given": given})
    title = item.get("title") or ""
    record = {
        "key": clean(item.get("citation-key") or item.get("citation_key") or item.get("id")),
        "type": clean(item.get("type")) or "article",
        "title": title,
        "authors": authors,
        "container_title": item.get("container-title") or item.get("collection-title") or "",
        "container_title_short": item.get("container-title-short")
        or item.get("journalAbbreviation")
        or "",
        "issued": item.get("issued") or "",
        "volume": item.get("volume"),
        "issue": item.get("issue"),
        "pages": expand_pages(clean(item.get("page"))),
        "doi": item.get("DOI") or item.get("doi") or "",
        "pmid": item.get("PMID") or item.get("pmid") or "",
        "pmcid": item.get("PMCID") or item.get("pmcid") or "",
        "url": item.get("URL") or item.get("url") or "",
        "publisher": item.get("publisher"),
    }
    return record, warnings


def parse_csl_json(text: str) -> list[ParsedEntry]:
    """Parse CSL-JSON: a list of items or a single item object."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        return [ParsedEntry(0, "", None, f"invalid JSON: {exc}")]
    if isinstance(data, Mapping) and isinstance(data.get("items"), list):
        data = data["items"]
    if isinstance(data, Mapping):
        data = [data]
    if not isinstance(data, list) or not data:
        return [ParsedEntry(0, "", None, "CSL-JSON must be a non-empty list of items or one item")]
    raw: list[RawEntry] = []
    for index, item in enumerate(data, start=1):
        if not isinstance(item, Mapping):
            raw.append(RawEntry.refused(index, "", f"item {index} is not a JSON object"))
            continue
        try:
            record, warnings = _csl_record(item)
        except Exception as exc:  # noqa: BLE001 - an odd item must not stop the others
            raw.append(
                RawEntry.refused(index, clean(item.get("id")), f"could not read item: {exc}")
            )
            continue
        raw.append(RawEntry(index, record["key"], record, None, warnings))
    return finish(raw)
