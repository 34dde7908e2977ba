"""PubMed MEDLINE (``.nbib``/``.txt``); retraction tags set status and notice."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator

from citations.identifiers import doi_from_text, normalize_issued

from .common import (
    ParsedEntry,
    RawEntry,
    clean,
    expand_pages,
    finish_in_batches,
    first_of_repeated,
    is_suffix,
    make_notice,
    pick_status,
    split_name,
)

_MEDLINE_LINE_RE = re.compile(r"^([A-Z][A-Z0-9]{1,3})\s*-\s?(.*)$")
# Comment/correction tags that change a record's status. CIN ("Comment in") does not.
_MEDLINE_STATUS_TAGS = {
    "RIN": ("retracted", "Retraction in"),
    "ECI": ("expression_of_concern", "Expression of concern in"),
    "EIN": ("corrected", "Erratum in"),
    "CRI": ("superseded", "Corrected and republished in"),
    "UIN": ("superseded", "Update in"),
}
_MEDLINE_NOTICE_TYPES = {
    "retraction of publication": "this record is a retraction notice, not a retracted paper",
    "expression of concern": "this record is an expression-of-concern notice",
    "published erratum": "this record is an erratum notice",
}


def _medline_records(text: str) -> Iterator[list[tuple[str, str]]]:
    """Split MEDLINE text into records of (tag, value) with continuation lines joined."""
    current: list[tuple[str, str]] = []
    for line in io.StringIO(text):
        line = line.rstrip("\r\n")
        if not line.strip():
            if current:
                yield current
                current = []
            continue
        match = _MEDLINE_LINE_RE.match(line) if not line[:1].isspace() else None
        if match:
            tag, value = match.groups()
            if tag == "PMID" and current:
                # Records normally end with a blank line; tolerate files that omit it.
                yield current
                current = []
            current.append((tag, value.strip()))
        elif current:
            tag, value = current[-1]
            current[-1] = (tag, f"{value} {line.strip()}".strip())
    if current:
        yield current


def _medline_cite_notice(cite: str, label: str) -> dict:
    """Extract the notice's DOI, PMID and date from a MEDLINE cross-reference citation."""
    pmid = re.search(r"PMID:\s*(\d+)", cite)
    date = re.match(r"^[^.]*\.\s*(\d{4}(?:\s+[A-Z][a-z]{2}(?:\s+\d{1,2})?)?)", cite)
    return make_notice(
        doi=doi_from_text(cite),
        pmid=pmid.group(1) if pmid else "",
        date=normalize_issued(date.group(1)) if date else "",
        reason=f"{label}: {cite}",
    )


def _medline_title(value: str) -> str:
    value = clean(value)
    # MEDLINE ends every title with a full stop; keep it when it closes an abbreviation (U.S.).
    if value.endswith(".") and not re.search(r"(?:\b\w\.){2,}$|\bet al\.$", value):
        value = value[:-1]
    return value


class _Fields(dict):
    """A MEDLINE record's values by tag, in file order (tags repeat: AU, FAU, PT...)."""

    @classmethod
    def of(cls, fields: list[tuple[str, str]]) -> _Fields:
        values = cls()
        for tag, value in fields:
            values.setdefault(tag, []).append(value)
        return values

    def all(self, tag: str) -> list[str]:
        return self.get(tag, [])

    def first(self, *tags: str) -> str:
        for tag in tags:
            for value in self.all(tag):
                if clean(value):
                    return clean(value)
        return ""


def _au_name(name: str, role: str = "") -> dict:
    """``Wakefield AJ`` / ``Doe J 3rd``: family, initials, optional suffix; else a literal."""
    words = clean(name).split()
    suffix = words.pop() if len(words) > 2 and is_suffix(words[-1]) else ""
    if len(words) >= 2 and words[-1].isupper() and len(words[-1]) <= 4:
        person = {"family": " ".join(words[:-1]), "given": words[-1]}
        if suffix:
            person["suffix"] = suffix
    else:
        person = {"literal": clean(name)}
    if role:
        person["role"] = role
    return person


def _fau_name(full: str, short: str, role: str = "") -> dict:
    """``FAU - Smith, Anna``; a FAU without a comma (``Xiaodong Lv``) is split by its AU."""
    if "," in full:
        return split_name(full, role)
    words = full.split()
    family = short.split()[0] if short else ""
    if len(words) >= 2 and family and words[-1].casefold() == family.casefold():
        person = {"family": words[-1], "given": " ".join(words[:-1])}
        return {**person, "role": role} if role else person
    person = {"literal": full}  # a collective author written as FAU
    return {**person, "role": role} if role else person


def _medline_authors(fields: list[tuple[str, str]]) -> list[dict]:
    """Authors (FAU, else AU) and corporate authors (CN) in file order, then editors.

    Each FAU is followed by its AU (the short form); a record may have AU only.
    Editors (FED/ED) of a book chapter get ``role: editor``.
    """
    people: list[dict] = []
    pending: dict[str, tuple[int, str]] = {}  # role -> (position, FAU) awaiting its AU
    for tag, value in fields:
        value = clean(value)
        role = "editor" if tag in ("FED", "ED") else ""
        if not value:
            continue
        if tag in ("FAU", "FED"):
            pending[role] = (len(people), value)
            people.append(_fau_name(value, "", role))
        elif tag in ("AU", "ED"):
            if role in pending:
                position, full = pending.pop(role)
                people[position] = _fau_name(full, value, role)
            else:
                people.append(_au_name(value, role))
        elif tag == "CN" and {"literal": value} not in people:
            people.append({"literal": value})
    return [p for p in people if p.get("role") != "editor"] + [
        p for p in people if p.get("role") == "editor"
    ]


def _medline_status(values: _Fields, warnings: list[str]) -> tuple[str, dict]:
    publication_types = [clean(v).casefold() for v in values.all("PT")]
    events: list[tuple[str, dict]] = []
    for tag, (status, label) in _MEDLINE_STATUS_TAGS.items():
        for cite in values.all(tag):
            events.append((status, _medline_cite_notice(clean(cite), label)))
    if "retracted publication" in publication_types and not any(
        s == "retracted" for s, _ in events
    ):
        reason = "PubMed publication type: Retracted Publication"
        events.append(("retracted", make_notice(reason=reason)))
    for publication_type, note in _MEDLINE_NOTICE_TYPES.items():
        if publication_type in publication_types:
            warnings.append(note)
    return pick_status(events)


# An article number in LID "[pii]" (eLife's e80092); a PII such as S0140-6736(20)31180-6
# is a publisher's item id, not something a reference prints.
_ARTICLE_NUMBER = re.compile(r"^[A-Za-z]{0,2}\d{1,9}$")


def _article_number(values: _Fields) -> str:
    for value in values.all("LID"):
        if value.rstrip().endswith("[pii]"):
            number = value.rsplit("[", 1)[0].strip()
            if _ARTICLE_NUMBER.match(number):
                return number
    return ""


#: The single-valued MEDLINE tags a record is read from (AU, LID, PT... repeat by design).
_MEDLINE_SINGLE = frozenset(["TI", "BTI", "DP", "VI", "IP", "PG", "TA", "JT", "PMID", "PMC", "PB"])


def _medline_record(fields: list[tuple[str, str]]) -> tuple[dict, list[str]]:
    # The first non-empty value of each tag is read; a second, different one is reported.
    _, warnings = first_of_repeated([p for p in fields if p[0] in _MEDLINE_SINGLE])
    values = _Fields.of(fields)
    first = values.first
    doi = ""
    for value in values.all("LID") + values.all("AID"):
        if value.rstrip().endswith("[doi]"):
            doi = value.rsplit("[", 1)[0].strip()
            break
    status, notice = _medline_status(values, warnings)
    record_type = "article-journal"
    if values.all("BTI") and not values.all("TA"):
        record_type = "chapter" if values.all("TI") else "book"
    record = {
        "key": "",
        "type": record_type,
        "title": _medline_title(first("TI", "BTI")),
        "authors": _medline_authors(fields),
        # TA is the NLM abbreviation used in medical (Vancouver) citations; JT as fallback.
        "container_title": first("TA", "JT") if record_type == "article-journal" else first("BTI"),
        "container_title_short": first("TA") if record_type == "article-journal" else "",
        "issued": first("DP"),
        "volume": first("VI"),
        "issue": first("IP"),
        "pages": expand_pages(first("PG")) or _article_number(values),
        "doi": doi,
        "pmid": first("PMID"),
        "pmcid": first("PMC"),
        "url": "",
        "publisher": first("PB"),
        "status": status,
        "status_notice": notice,
    }
    return record, warnings


#: Records parsed at a time: bounds the memory a 10 MB file needs.
BATCH_SIZE = 2000


def count_medline(text: str) -> int:
    """How many records a MEDLINE text holds (one PMID line each)."""
    return len(re.findall(r"^PMID-", text, re.M)) or (1 if text.strip() else 0)


def _medline_entry(index: int, fields: list[tuple[str, str]]) -> RawEntry:
    try:
        record, warnings = _medline_record(fields)
    except Exception as exc:  # noqa: BLE001 - an odd record must not stop the others
        return RawEntry.refused(index, "", f"could not read MEDLINE record {index}: {exc}")
    return RawEntry(index, record["key"], record, None, warnings)


def iter_medline(text: str, size: int | None = None) -> Iterator[list[ParsedEntry]]:
    """Parse PubMed MEDLINE text in batches of ``size`` records."""
    records = enumerate(_medline_records(text.lstrip("\ufeff")), start=1)
    entries = (_medline_entry(index, fields) for index, fields in records)
    found = False
    for batch in finish_in_batches(entries, size or BATCH_SIZE, nul_free="\x00" not in text):
        found = True
        yield batch
    if not found:
        yield [ParsedEntry(0, "", None, "no MEDLINE records found")]


def parse_medline(text: str) -> list[ParsedEntry]:
    """Parse PubMed MEDLINE (``.nbib``) text; retraction tags set status and notice."""
    return [entry for batch in iter_medline(text) for entry in batch]
