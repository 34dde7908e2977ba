"""Retraction Watch CSV export: one record per original paper, events folded in order."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from typing import Any

from citations.identifiers import InvalidIdentifier, normalize_doi, normalize_issued, normalize_pmid

from .common import (
    SEVERITY,
    ParsedEntry,
    RawEntry,
    SeenInFile,
    clean,
    finish,
    make_notice,
    split_name,
)

_RW_NATURES = {
    "retraction": "retracted",
    "expression of concern": "expression_of_concern",
    "correction": "corrected",
    "reinstatement": "active",
}
# RW writes these for "we have no identifier".
_RW_MISSING = {"", "0", "unavailable", "n/a", "na", "none", "null"}


def _rw_identifier(value: Any, normalizer: Callable[[Any], str]) -> str:
    text = clean(value)
    if text.casefold() in _RW_MISSING:
        return ""
    try:
        return normalizer(text)
    except InvalidIdentifier:
        return ""


#: Papers per batch of a job; the file's rows are grouped first (a paper's notices may
#: be anywhere in it), keeping only the columns a record needs.
BATCH_SIZE = 2000
_KEPT = ("Record ID", "Title", "Author", "Journal", "OriginalPaperDate", "Publisher")


def _rw_rows(text: str) -> tuple[Iterator[tuple[int, dict]], str | None]:
    """The rows as ``(number, row)``, read as they are needed, or why there are none."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    fieldnames = [f.strip() for f in reader.fieldnames or []]
    if "OriginalPaperDOI" not in fieldnames and "OriginalPaperPubMedID" not in fieldnames:
        return iter(
            ()
        ), "not a Retraction Watch export: no OriginalPaperDOI/OriginalPaperPubMedID column"
    rows = (
        (number, {(k or "").strip(): v for k, v in row.items()})
        for number, row in enumerate(reader, start=2)  # line 1 is the header
    )
    return rows, None


def _rw_fold(events: list[tuple[str, str, dict]]) -> tuple[str, dict]:
    """Apply events in date order; a later reinstatement clears an earlier retraction."""
    status, notice = "active", {}
    for _date, nature, event_notice in sorted(events, key=lambda e: e[0]):
        if nature == "active":
            status, notice = "active", event_notice
        elif SEVERITY[nature] >= SEVERITY[status]:
            status, notice = nature, event_notice
    return status, notice


def _rw_nature(row: dict, label: str, warnings: list[str]) -> tuple[str, str]:
    """The row's status ('' when unknown) and the nature as written."""
    raw_nature = clean(row.get("RetractionNature"))
    if not raw_nature:
        # The database only lists retractions; an untagged row is one.
        warnings.append(f"{label}: RetractionNature is blank; treated as Retraction")
        return "retracted", raw_nature
    return _RW_NATURES.get(raw_nature.casefold(), ""), raw_nature


def _rw_event(row: dict, nature: str) -> tuple[str, str, dict]:
    date = normalize_issued(row.get("RetractionDate"))
    reason = clean(row.get("Reason")).strip(";").replace(";", "; ")
    if nature == "active":
        reason = f"Reinstatement: {reason}" if reason else "Reinstatement"
    notice = make_notice(
        doi=_rw_identifier(row.get("RetractionDOI"), normalize_doi),
        pmid=_rw_identifier(row.get("RetractionPubMedID"), normalize_pmid),
        date=date,
        reason=reason,
    )
    return date, nature, notice


class _Papers:
    """Rows grouped by original paper: one group per DOI or PMID, joined when a row has both."""

    def __init__(self) -> None:
        self.groups: dict[str, dict[str, Any]] = {}

    def group(self, line: int, row: dict, doi: str, pmid: str) -> dict[str, Any]:
        group_key = f"doi:{doi}" if doi else f"pmid:{pmid}"
        # Merge with an existing group found by the other identifier.
        if pmid and f"pmid:{pmid}" in self.groups:
            group_key = f"pmid:{pmid}"
        paper = self.groups.setdefault(
            group_key,
            {"line": line, "row": row, "doi": doi, "pmid": pmid, "events": [], "warnings": []},
        )
        if doi and f"doi:{doi}" not in self.groups:
            self.groups[f"doi:{doi}"] = paper
        if pmid and f"pmid:{pmid}" not in self.groups:
            self.groups[f"pmid:{pmid}"] = paper
        paper["doi"] = paper["doi"] or doi
        paper["pmid"] = paper["pmid"] or pmid
        return paper

    def each(self) -> list[dict[str, Any]]:
        """Every group once, in the order first seen."""
        unique = {id(paper): paper for paper in self.groups.values()}
        return list(unique.values())


def _rw_paper_entry(paper: dict[str, Any]) -> RawEntry:
    row = paper["row"]
    if not paper["events"]:
        natures = ", ".join(repr(n) for n in paper.get("unknown", []))
        return RawEntry(
            paper["line"],
            "",
            None,
            f"Retraction Watch record {clean(row.get('Record ID'))} "
            f"(line {paper['line']}): unknown RetractionNature {natures}",
            paper["warnings"],
        )
    status, notice = _rw_fold(paper["events"])
    names = [n for n in clean(row.get("Author")).split(";") if clean(n)]
    authors = [split_name(n) for n in names if clean(n).casefold() not in _RW_MISSING]
    record = {
        "key": "",
        "type": "article-journal",
        "title": clean(row.get("Title")),
        "authors": authors,
        "container_title": clean(row.get("Journal")),
        "issued": normalize_issued(row.get("OriginalPaperDate")),
        "doi": paper["doi"],
        "pmid": paper["pmid"],
        "publisher": clean(row.get("Publisher")),
        "status": status,
        "status_notice": notice,
    }
    return RawEntry(paper["line"], "", record, None, paper["warnings"])


def count_retraction_watch(text: str) -> int:
    """How many rows the export holds: at most as many entries (a paper's notices fold)."""
    try:
        return max(0, sum(1 for _row in csv.reader(io.StringIO(text.lstrip("\ufeff")))) - 1)
    except csv.Error:
        return 0


def iter_retraction_watch(text: str, size: int | None = None) -> Iterator[list[ParsedEntry]]:
    """Parse a Retraction Watch CSV into one record per original paper, with folded status,
    in batches of ``size`` entries (in the order of the papers' first rows)."""
    size = size or BATCH_SIZE
    try:
        entries = _rw_entries(text)
    except csv.Error as exc:
        yield [ParsedEntry(0, "", None, f"invalid CSV: {exc}")]
        return
    if isinstance(entries, str):
        yield [ParsedEntry(0, "", None, entries)]
        return
    seen, nul_free = SeenInFile(), "\x00" not in text
    for start in range(0, len(entries), size):
        yield finish(entries[start : start + size], seen=seen, nul_free=nul_free)
    if not entries:
        yield []


def _rw_entries(text: str) -> list[RawEntry] | str:
    """Every paper's raw entry and every refused row, by line; or why the file is unusable."""
    rows, problem = _rw_rows(text)
    if problem:
        return problem
    refused: list[RawEntry] = []
    papers = _Papers()
    for line, full_row in rows:
        doi = _rw_identifier(full_row.get("OriginalPaperDOI"), normalize_doi)
        pmid = _rw_identifier(full_row.get("OriginalPaperPubMedID"), normalize_pmid)
        label = f"Retraction Watch record {clean(full_row.get('Record ID')) or '?'} (line {line})"
        if not doi and not pmid:
            reason = (
                f"{label}: no usable OriginalPaperDOI "
                f"({clean(full_row.get('OriginalPaperDOI'))!r}) or OriginalPaperPubMedID"
            )
            refused.append(RawEntry.refused(line, "", reason))
            continue
        warnings: list[str] = []
        nature, raw_nature = _rw_nature(full_row, label, warnings)
        row = {name: full_row[name] for name in _KEPT if name in full_row}
        paper = papers.group(line, row, doi, pmid)
        paper["warnings"].extend(warnings)
        if not nature:
            paper["warnings"].append(f"{label}: unknown RetractionNature {raw_nature!r}; ignored")
            paper.setdefault("unknown", []).append(raw_nature)
            continue
        paper["events"].append(_rw_event(full_row, nature))
    raw = [_rw_paper_entry(paper) for paper in papers.each()]
    return sorted(refused + raw, key=lambda e: e.index)


def parse_retraction_watch_entries(text: str) -> list[ParsedEntry]:
    """Parse a Retraction Watch CSV into one record per original paper, with folded status."""
    return [entry for batch in iter_retraction_watch(text) for entry in batch]
