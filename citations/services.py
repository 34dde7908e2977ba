"""Writes on the source library: create, edit, import with merging, status changes, lookup."""

from __future__ import annotations

import contextlib
import datetime
import functools
import gc
import hashlib
import json
import logging
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, connections, models, transaction
from django.db.models import Count, Q, QuerySet, Value
from django.db.models.base import ModelState
from django.db.models.functions import Coalesce
from django.utils import timezone

from reviewsite import errors
from reviewsite.roles import is_editor, is_managing_editor, is_reviewer

from . import lookup
from .identifiers import (
    InvalidIdentifier,
    duplicate_signature,
    normalize_doi,
    normalize_pmid,
    normalize_url,
)
from .importers import ParsedEntry, finalize_record, open_file
from .models import ImportJob, ImportJobPart, Source, SourceStatusEvent, current_revision_q
from .signals import source_status_changed, source_status_saved

#: Fields of our record format that map one to one onto Source columns.
RECORD_FIELDS = (
    "key", "type", "title", "authors", "container_title", "container_title_short", "issued",
    "volume", "issue", "pages", "doi", "pmid", "pmcid", "url", "publisher",
)  # fmt: skip

#: Largest file the import accepts: source_import refuses bigger ones, and the API,
#: the workspace form and the command say so early with the same message.
IMPORT_MAX_BYTES = 10 * 1024 * 1024


def import_size_problem(size: int, name: str = "") -> str | None:
    """Why a file of ``size`` bytes cannot be imported, or None when it can."""
    if size <= IMPORT_MAX_BYTES:
        return None
    limit = IMPORT_MAX_BYTES
    megabytes = f" ({limit // (1024 * 1024)} MB)" if limit >= 1024 * 1024 else ""
    return (
        f"{name or 'the file'!r} is {size} bytes; the limit is {limit} bytes{megabytes}. "
        "Split the file and import the parts."
    )


logger = logging.getLogger(__name__)

# SQLite refuses statements with more than 999 parameters on older builds; stay well below.
_IN_CHUNK = 500


def source_to_record(source: Source) -> dict:
    """The source in our record format (what formatting and exports take)."""
    record = {name: getattr(source, name) for name in RECORD_FIELDS}
    record["status"] = source.status
    record["evidence_type"] = source.evidence_type
    return record


def source_version(source: Source) -> str:
    """A token for the source's bibliographic fields as they are now: an edit made from
    an older token is refused (someone else saved meanwhile). Status changes and
    integrity checks do not change it."""
    fields = {name: getattr(source, name) for name in RECORD_FIELDS}
    fields["evidence_type"] = source.evidence_type
    encoded = json.dumps(fields, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(encoded.encode()).hexdigest()[:20]


def signature_of(record: dict) -> str:
    """The stored duplicate signature: normalised title, year, first author."""
    authors = record.get("authors") or []
    first = authors[0] if authors and isinstance(authors[0], dict) else {}
    return _signature(
        str(record.get("title") or ""),
        str(record.get("issued") or ""),
        str(first.get("family") or first.get("literal") or ""),
    )


@functools.lru_cache(maxsize=4096)
def _signature(title: str, issued: str, first_author: str) -> str:
    # An import asks for each entry's signature three times; normalising is the cost.
    record = {"title": title, "issued": issued, "authors": [{"family": first_author}]}
    title, year, family = duplicate_signature(record)
    return f"{title}|{year}|{family}"[:500] if title else ""


# --- permissions ---------------------------------------------------------------------------


def can_edit_sources(user) -> bool:
    """Editors, managing editors and superusers manage the source library."""
    return is_editor(user)


def can_set_source_status(user) -> bool:
    """Reviewers (and superusers) mark a source retracted, corrected, ... (PRODUCT.md roles)."""
    return is_reviewer(user)


def _require_editor(actor) -> None:
    if not can_edit_sources(actor):
        raise PermissionDenied("Only Editors or Managing editors may change the source library.")


# --- validation ----------------------------------------------------------------------------


@functools.cache
def _max_lengths() -> tuple[tuple[str, int], ...]:
    """``(field, max_length)`` for the record fields that have one (the models are loaded)."""
    fields = (
        (name, getattr(Source._meta.get_field(name), "max_length", None)) for name in RECORD_FIELDS
    )
    return tuple((name, limit) for name, limit in fields if limit)


def _length_errors(record: dict) -> dict:
    errors = {}
    for name, limit in _max_lengths():
        value = record.get(name)
        if isinstance(value, str) and len(value) > limit:
            errors[name] = [f"Ensure this field has no more than {limit} characters."]
    return errors


def clean_record(data: dict) -> dict:
    """Normalise and validate input in record format; ValidationError names each field."""
    try:
        record = finalize_record(data)
    except ValueError as exc:
        message = str(exc)
        field_name = next(
            (f for f in ("doi", "pmid", "pmcid", "status") if message.startswith(f"invalid {f}")),
            None,
        )
        raise ValidationError({field_name or "title": [message]})
    given_key = " ".join(str(data.get("key") or "").split())
    # finalize_record silently generates a key for an unusable one; an explicit key must stick.
    if given_key and record["key"] != given_key:
        raise ValidationError(
            {
                "key": [
                    f"{given_key!r} is not a usable citation key: at most 100 characters, "
                    "no spaces, commas, braces, quotes or any of # % ~ \\ = and no URL."
                ]
            }
        )
    errors = _length_errors(record)
    try:
        record["url"] = normalize_url(record["url"])
    except InvalidIdentifier as exc:
        errors["url"] = [f"{exc}; give an http:// or https:// address."]
    if errors:
        raise ValidationError(errors)
    return record


def _checked_url(record: dict) -> tuple[dict, str | None]:
    """The record with a usable ``url`` (or none), and a note when one was dropped.

    Every importer and the lookup pass through here before a source is stored, so
    the URL rule of ``identifiers.normalize_url`` holds however a source arrives.
    """
    try:
        url = normalize_url(record.get("url"))
    except InvalidIdentifier as exc:
        return {**record, "url": ""}, f"url dropped: {exc} (only http and https links are kept)"
    # Most records' URL is already normal (or empty): keep the record itself, unchanged.
    return (record, None) if url == record.get("url") else ({**record, "url": url}, None)


def _apply_notice(source: Source, notice: dict | None) -> None:
    notice = notice or {}
    source.notice_doi = notice.get("doi") or ""
    source.notice_pmid = notice.get("pmid") or ""
    date = notice.get("date") or ""
    source.notice_date = _parse_date(date)
    source.notice_reason = notice.get("reason") or ""


_DATE_RE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")


def _parse_date(value: str) -> datetime.date | None:
    """An ISO date, partial allowed (``2020``, ``2020-03``, ``2020-03-05``); None if invalid."""
    match = _DATE_RE.match((value or "").strip())
    if not match:
        return None
    year, month, day = (int(g) if g else 1 for g in match.groups())
    try:
        return datetime.date(year, month, day)
    except ValueError:
        return None


def _status_changed_event(
    source: Source, old_status: str, actor, actor_label: str = ""
) -> SourceStatusEvent:
    return SourceStatusEvent(
        source=source,
        from_status=old_status,
        to_status=source.status,
        notice_doi=source.notice_doi,
        notice_pmid=source.notice_pmid,
        reason=source.notice_reason,
        actor=actor if actor is not None and actor.is_authenticated else None,
        actor_label=actor_label,
    )


def _send_status_changed(source: Source, old_status: str, actor) -> None:
    actor_id = actor.pk if actor is not None and actor.is_authenticated else None
    details = {
        "source_id": source.pk,
        "old_status": old_status,
        "new_status": source.status,
        "actor_id": actor_id,
    }
    source_status_saved.send(sender=Source, **details)
    transaction.on_commit(lambda: source_status_changed.send(sender=Source, **details))


# --- create, edit, status ------------------------------------------------------------------


def _new_source(
    record: dict, actor, evidence_type: str | None = None, *, signature: str | None = None
) -> Source:
    source = _bare_source({name: record[name] for name in RECORD_FIELDS})
    source.status = record.get("status") or Source.Status.ACTIVE
    if source.status != Source.Status.ACTIVE:
        _apply_notice(source, record.get("status_notice"))
        source.status_changed_at = timezone.now()
    source.evidence_type = evidence_type or record.get("evidence_type") or Source.EvidenceType.OTHER
    source.title_signature = signature_of(record) if signature is None else signature
    if actor is not None and actor.is_authenticated:
        source.created_by = actor
    return source


@functools.cache
def _source_defaults() -> tuple[dict, tuple[models.Field, ...]]:
    """Each column's default (immutable ones), and the columns whose default is made per row."""
    fixed, per_row = {}, []
    for f in Source._meta.concrete_fields:
        if f.has_default() and callable(f.default):
            per_row.append(f)
        else:
            fixed[f.attname] = f.get_default()
    return fixed, tuple(per_row)


def _bare_source(values: dict) -> Source:
    """``Source(**values)`` without ``Model.__init__``, which walks every field of every
    instance (a fifth of storing a 10 MB import). The instance is the same: every column
    set (the defaults, then ``values``), a fresh ``_state``; Source has no init signals."""
    fixed, per_row = _source_defaults()
    source = Source.__new__(Source)
    state = source.__dict__
    state.update(fixed)
    for f in per_row:
        state[f.attname] = f.get_default()
    state["_state"] = ModelState()
    state.update(values)
    return source


def _free_key(key: str) -> str:
    """``key``, or ``key-2``, ``key-3``... the first one no source has (one query)."""
    taken = set(
        Source.objects.filter(Q(key=key) | Q(key__startswith=f"{key}-")).values_list(
            "key", flat=True
        )
    )
    if key not in taken:
        return key
    n = 2
    while f"{key}-{n}" in taken:
        n += 1
    return f"{key}-{n}"


def _identifier_conflicts(record: dict, *, exclude: int | None = None) -> dict:
    """Field errors for each key/DOI/PMID/PMCID another source already has (one query)."""
    condition = Q()
    for name in ("key", "doi", "pmid", "pmcid"):
        if record[name]:
            condition |= Q(**{name: record[name]})
    if not condition:
        return {}
    others = Source.objects.filter(condition)
    if exclude is not None:
        others = others.exclude(pk=exclude)
    errors = {}
    for other in others.only("key", "doi", "pmid", "pmcid"):
        for name in ("key", "doi", "pmid", "pmcid"):
            if record[name] and getattr(other, name) == record[name]:
                errors[name] = [
                    f"A source with this {name} ({record[name]}) already exists: {other.key}."
                ]
    return errors


def _save_unique(source: Source, **kwargs) -> None:
    """Save; a unique-constraint race with a concurrent writer becomes a field error."""
    try:
        with transaction.atomic():
            source.save(**kwargs)
    except IntegrityError:
        errors = _identifier_conflicts(
            source_to_record(source), exclude=source.pk if source.pk else None
        )
        raise ValidationError(errors or {"key": ["Conflicts with an existing source."]})


@transaction.atomic
def source_create(*, actor, data: dict, evidence_type: str | None = None) -> Source:
    """Add a source; refuses a DOI/PMID/key that the library already has."""
    _require_editor(actor)
    record = clean_record(data)
    if not " ".join(str(data.get("key") or "").split()):
        # The key was generated (familyYYYYword): make it unique rather than refuse a key
        # the client never sent.
        record["key"] = _free_key(record["key"])
    evidence_type = evidence_type or data.get("evidence_type") or Source.EvidenceType.OTHER
    if evidence_type not in Source.EvidenceType.values:
        raise ValidationError({"evidence_type": [f"{evidence_type!r} is not a valid choice."]})
    errors = _identifier_conflicts(record)
    if errors:
        raise ValidationError(errors)
    source = _new_source(record, actor, evidence_type)
    _save_unique(source)
    if source.status != Source.Status.ACTIVE:
        _status_changed_event(source, Source.Status.ACTIVE, actor).save()
        _send_status_changed(source, Source.Status.ACTIVE, actor)
    return source


@transaction.atomic
def source_update(
    *, source_id: int, actor, data: dict, expected_version: str | None = None
) -> Source:
    """Edit a source's bibliographic fields (its status has its own service).

    ``expected_version``: the :func:`source_version` the caller read; when the fields
    changed since, nothing is saved (PreconditionFailed), so no edit is lost unseen.
    """
    _require_editor(actor)
    source = Source.objects.select_for_update().get(pk=source_id)
    if expected_version is not None and expected_version != source_version(source):
        raise errors.PreconditionFailed(
            "Someone saved this source since you opened it; compare, then save again."
        )
    merged = source_to_record(source)
    merged.update({k: v for k, v in data.items() if k in RECORD_FIELDS})
    if not " ".join(str(merged.get("key") or "").split()):
        # A blank key keeps the current one: articles cite the source by it, and a
        # generated key could name another source the client never mentioned.
        merged["key"] = source.key
    record = clean_record(merged)
    problems = _identifier_conflicts(record, exclude=source.pk)
    evidence_type = data.get("evidence_type", source.evidence_type)
    if evidence_type not in Source.EvidenceType.values:
        problems["evidence_type"] = [f"{evidence_type!r} is not a valid choice."]
    if problems:
        raise ValidationError(problems)
    for name in RECORD_FIELDS:
        setattr(source, name, record[name])
    source.evidence_type = evidence_type
    source.title_signature = signature_of(record)
    _save_unique(source)
    return source


@transaction.atomic
def source_set_status(
    *,
    source_id: int,
    actor,
    status: str,
    notice_doi: str = "",
    notice_pmid: str = "",
    notice_date: str = "",
    reason: str = "",
) -> Source:
    """Mark a source retracted, corrected, ... with its notice; other apps react after commit."""
    if not can_set_source_status(actor):
        raise PermissionDenied("Only Reviewers may change a source's status.")
    if status not in Source.Status.values:
        raise ValidationError(
            {"status": [f"{status!r} is not one of {', '.join(Source.Status.values)}."]}
        )
    errors = {}
    notice = {"doi": "", "pmid": "", "date": None, "reason": " ".join(str(reason or "").split())}
    if notice_doi:
        try:
            notice["doi"] = normalize_doi(notice_doi)
        except InvalidIdentifier:
            errors["notice_doi"] = [f"{notice_doi!r} is not a DOI (expected 10.NNNN/...)."]
    if notice_pmid:
        try:
            notice["pmid"] = normalize_pmid(notice_pmid)
        except InvalidIdentifier:
            errors["notice_pmid"] = [f"{notice_pmid!r} is not a PMID (digits)."]
    if notice_date:
        notice["date"] = _parse_date(str(notice_date))
        if notice["date"] is None:
            errors["notice_date"] = [f"{notice_date!r} is not a date (YYYY-MM-DD)."]
    if errors:
        raise ValidationError(errors)
    source = Source.objects.select_for_update().get(pk=source_id)
    if status == Source.Status.ACTIVE:
        notice = {"doi": "", "pmid": "", "date": None, "reason": ""}
    _change_status(source, status, notice, actor)
    return source


def _change_status(source: Source, status: str, notice: dict, actor, actor_label: str = "") -> None:
    """Store the status and notice, audit it, and tell other apps after commit."""
    old_status = source.status
    source.notice_doi, source.notice_pmid = notice["doi"], notice["pmid"]
    source.notice_date, source.notice_reason = notice["date"], notice["reason"]
    source.status = status
    source.status_changed_at = timezone.now()
    source.save()
    _status_changed_event(source, old_status, actor, actor_label).save()
    if old_status != status:
        _send_status_changed(source, old_status, actor)


#: The audit's actor label for changes the integrity watch makes (no person acted).
SYSTEM_ACTOR = "system"


@transaction.atomic
def source_raise_status_from_registry(
    *,
    source_id: int,
    status: str,
    notice_doi: str = "",
    notice_pmid: str = "",
    notice_date: datetime.date | None = None,
    reason: str,
) -> Source | None:
    """The integrity watch's way into the status service: actor = system.

    Raises the status only when ``status`` is more severe than the stored one, so a
    check never lowers (or rewrites) a status a person set; returns the changed
    source, or None when nothing changed. Audit, propagation, notifications and the
    review queue follow exactly as for a reviewer's change.
    """
    if status not in Source.Status.values:
        raise ValueError(f"{status!r} is not a source status")
    source = Source.objects.select_for_update().get(pk=source_id)
    if Source.SEVERITY[status] <= Source.SEVERITY[source.status]:
        return None
    notice = {"doi": notice_doi, "pmid": notice_pmid, "date": notice_date, "reason": reason}
    _change_status(source, status, notice, None, SYSTEM_ACTOR)
    return source


# --- import ---------------------------------------------------------------------------------


def _chunks(values: list, size: int = _IN_CHUNK) -> Iterator[list]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


@dataclass
class _Library:
    """The existing sources an import can collide with, fetched once per file.

    Maps are kept current as the import creates and merges sources, so a later
    entry of the same file merges into an earlier one exactly as if every entry
    had queried the database.
    """

    by_doi: dict[str, Source] = field(default_factory=dict)
    by_pmid: dict[str, Source] = field(default_factory=dict)
    by_pmcid: dict[str, Source] = field(default_factory=dict)
    by_signature: dict[str, list[Source]] = field(default_factory=dict)
    keys: set[str] = field(default_factory=set)

    # Each record's signature, computed once (by the record's id: the batch holds them).
    signatures: dict[int, str] = field(default_factory=dict)

    def signature(self, record: dict) -> str:
        """``signature_of(record)``, once per record of the batch."""
        signature = self.signatures.get(id(record))
        if signature is None:
            signature = self.signatures[id(record)] = signature_of(record)
        return signature

    @classmethod
    def for_records(cls, records: list[dict]) -> _Library:
        """Fetch every source sharing an identifier, a signature or a key with the records.

        One query per batch (a few for a huge batch on SQLite), each condition on an
        indexed column; ``doi <> ''`` lets PostgreSQL use the partial unique indexes.
        """
        library = cls()
        wanted = {
            "doi": {r["doi"] for r in records if r["doi"]},
            "pmid": {r["pmid"] for r in records if r["pmid"]},
            "pmcid": {r["pmcid"] for r in records if r["pmcid"]},
            "title_signature": {s for r in records if (s := library.signature(r))},
            "key": {r["key"] for r in records},
        }
        chunk_size = max(_IN_CHUNK, _query_params() - 10)
        values = [(name, value) for name, group in wanted.items() for value in sorted(group)]
        found: dict[int, Source] = {}
        for chunk in _chunks(values, chunk_size):
            by_column: dict[str, list[str]] = {}
            for name, value in chunk:
                by_column.setdefault(name, []).append(value)
            condition = Q()
            for name, group in by_column.items():
                same = Q(**{f"{name}__in": group})
                condition |= same & ~Q(**{name: ""}) if name in ("doi", "pmid", "pmcid") else same
            for source in Source.objects.filter(condition).order_by():  # sorted below
                found.setdefault(source.pk, source)
        for pk in sorted(found):  # oldest first, as the signature lists want
            source = found[pk]
            library.add(source)
        return library

    def add(self, source: Source) -> None:
        """Index a source; for a signature, sources stay in the order seen (oldest first).

        Its key is taken too: a key in the file that the library has needs a suffix.
        """
        for name, index in (("doi", self.by_doi), ("pmid", self.by_pmid), ("pmcid", self.by_pmcid)):
            value = getattr(source, name)
            if value:
                index[value] = source
        if source.title_signature:
            same = self.by_signature.setdefault(source.title_signature, [])
            if not any(other is source for other in same):
                same.append(source)
        self.keys.add(source.key)

    def discard(self, source: Source) -> None:
        """Forget a source whose insert failed, so no later entry merges into it."""
        for index in (self.by_doi, self.by_pmid, self.by_pmcid):
            for value in [v for v, s in index.items() if s is source]:
                del index[value]
        for same in self.by_signature.values():
            same[:] = [other for other in same if other is not source]

    def duplicate_of(self, record: dict) -> tuple[Source | None, str]:
        """The source this record describes, and why: same DOI, else PMID, else signature."""
        if record["doi"] and record["doi"] in self.by_doi:
            return self.by_doi[record["doi"]], "same DOI"
        if record["pmid"] and record["pmid"] in self.by_pmid:
            return self.by_pmid[record["pmid"]], "same PMID"
        signature = self.signature(record)
        # Same title, year and first author is one work only if it is the same kind of
        # work: a conference paper and its journal version are two sources. Two entries
        # both without a year match on title, first author and type (re-imports).
        for source in self.by_signature.get(signature, []) if signature else []:
            if source.type == record["type"]:
                return source, "same title, year and first author, same type"
        return None, ""

    def unique_key(self, key: str) -> str:
        """``key``, or ``key-2``, ``key-3``... when the library or this import already has it."""
        if key not in self.keys:
            return key
        # Rare: one query for the whole family of suffixed keys.
        self.keys.update(
            Source.objects.filter(key__startswith=f"{key}-").values_list("key", flat=True)
        )
        n = 2
        while f"{key}-{n}" in self.keys:
            n += 1
        return f"{key}-{n}"


def _merge_into(source: Source, record: dict, library: _Library, conflicts: list[str]) -> list[str]:
    """Fill the existing source's empty fields from the record; return what changed.

    A DOI/PMID/PMCID that differs from the source's own is never taken: it is
    added to ``conflicts`` for the entry's report line.

    A DOI/PMID/PMCID is only filled when no other source has it (the library
    holds every source sharing an identifier with the file). The status only
    ever goes up in severity: a file saying "active" never clears a retraction.
    """
    changed = []
    for name in RECORD_FIELDS:
        if name == "key" or not record.get(name):
            continue
        if getattr(source, name):
            if name in ("doi", "pmid", "pmcid") and getattr(source, name) != record[name]:
                conflicts.append(
                    f"conflicting {name.upper()} {record[name]} not taken "
                    f"(the source has {getattr(source, name)})"
                )
            continue
        if name in ("doi", "pmid", "pmcid"):
            index = getattr(library, f"by_{name}")
            if index.get(record[name], source) is not source:
                continue
        setattr(source, name, record[name])
        changed.append(name)
    status = record.get("status") or Source.Status.ACTIVE
    if Source.SEVERITY[status] > Source.SEVERITY[source.status]:
        source.status = status
        _apply_notice(source, record.get("status_notice"))
        source.status_changed_at = timezone.now()
        changed.append("status")
    signature = signature_of(source_to_record(source))
    if signature != source.title_signature:
        source.title_signature = signature
        changed.append("title_signature")
    return changed


_MERGE_FIELDS = (*RECORD_FIELDS, "status", "title_signature", "notice_doi", "notice_pmid",
                 "notice_date", "notice_reason", "status_changed_at")  # fmt: skip
_STATUS_FIELDS = ["notice_doi", "notice_pmid", "notice_date", "notice_reason", "status_changed_at"]


def _entry_report(entry: ParsedEntry, outcome: str, source: Source | None, reason: str | None):
    return {
        "index": entry.index,
        "key": entry.key or (entry.record or {}).get("key", ""),
        "outcome": outcome,
        "source": source.pk if source else None,
        "reason": reason,
    }


@dataclass
class _Pending:
    """A new source waiting for its batch insert, and where its report line goes."""

    entry: ParsedEntry
    source: Source
    notes: list[str]
    slot: int


class _Importer:
    """One import run: merges are written as they come, new sources in batches."""

    batch_size = 500

    def __init__(self, actor, library: _Library):
        self.actor = actor
        self.library = library
        self.report: dict = {"created": 0, "merged": 0, "refused": 0, "entries": []}
        self.pending: list[_Pending] = []
        # Report lines of entries merged into a source that is itself still pending.
        self.pending_merges: list[tuple[int, Source]] = []
        self.events: list[tuple[Source, str]] = []
        # Without RETURNING from bulk inserts the new rows would have no ids for the report.
        self.bulk = connection.features.can_return_rows_from_bulk_insert

    def run(self, entries: list[ParsedEntry]) -> dict:
        """Import every entry; the report counts what happened to each."""
        for entry in entries:
            self._entry(entry)
            if len(self.pending) >= self.batch_size:
                self._flush()
        self._flush()
        for line in self.report["entries"]:
            self.report[line["outcome"]] += 1
        if self.events:
            SourceStatusEvent.objects.bulk_create(
                [_status_changed_event(source, old, self.actor) for source, old in self.events]
            )
            for source, old in self.events:
                _send_status_changed(source, old, self.actor)
        return self.report

    def _record(self, entry, outcome, source=None, reason=None) -> None:
        self.report["entries"].append(_entry_report(entry, outcome, source, reason))

    def _entry(self, entry: ParsedEntry) -> None:
        if not entry.ok:
            self._record(entry, "refused", reason=entry.error or "unreadable entry")
            return
        record = entry.record
        errors = _length_errors(record)
        if errors:
            name, messages = next(iter(errors.items()))
            self._record(entry, "refused", reason=f"{name}: {messages[0]}")
            return
        notes = list(entry.warnings or [])
        record, url_note = _checked_url(record)
        if url_note:
            notes.append(url_note)
        existing, how = self.library.duplicate_of(record)
        if existing is not None:
            self._merge(entry, record, existing, how, notes)
            return
        if record["pmcid"] and record["pmcid"] in self.library.by_pmcid:
            other = self.library.by_pmcid[record["pmcid"]]
            reason = f"PMCID {record['pmcid']} belongs to {other.key}, whose DOI/PMID differ"
            self._record(entry, "refused", reason=reason)
            return
        key = self.library.unique_key(record["key"])
        if key != record["key"]:
            notes.append(f"key {record['key']!r} is used by another source; stored as {key!r}")
            record = {**record, "key": key}
        source = _new_source(record, self.actor, signature=self.library.signature(record))
        self.library.add(source)
        self.pending.append(_Pending(entry, source, notes, len(self.report["entries"])))
        self._record(entry, "created", reason="; ".join(notes) or None)

    def _merge(self, entry, record, existing: Source, how: str, notes: list[str]) -> None:
        snapshot = {name: getattr(existing, name) for name in _MERGE_FIELDS}
        old_status = existing.status
        conflicts: list[str] = []
        changed = _merge_into(existing, record, self.library, conflicts)
        if changed and existing.pk is not None:
            fields = [*changed, "updated_at"]
            if "status" in changed:
                fields += _STATUS_FIELDS
            try:
                # The savepoint keeps a conflicting write from spoiling the import's transaction.
                with transaction.atomic():
                    existing.save(update_fields=fields)
            except IntegrityError as exc:
                for name, value in snapshot.items():
                    setattr(existing, name, value)
                reason = f"conflicts with an existing source: {exc}"
                self._record(entry, "refused", reason=reason)
                return
        # A source still pending insert is stored with the filled fields by its batch.
        self.library.add(existing)
        if existing.pk is None:
            self.pending_merges.append((len(self.report["entries"]), existing))
        elif existing.status != old_status:
            self.events.append((existing, old_status))
        detail = f"merged into {existing.key} ({how})"
        shown = [name for name in changed if name != "title_signature"]
        if shown:
            detail += f"; filled {', '.join(shown)}"
        self._record(entry, "merged", existing, "; ".join([detail, *conflicts, *notes]))

    def _flush(self) -> None:
        """Insert the pending new sources; a batch that fails falls back to one row at a time."""
        if not self.pending:
            return
        batch, self.pending = self.pending, []
        stored = False
        if self.bulk:
            try:
                with transaction.atomic():
                    _insert_sources([p.source for p in batch])
                stored = True
            except IntegrityError:
                for pending in batch:
                    pending.source.pk = None  # the savepoint rolled the whole batch back
        if not stored:
            for pending in batch:
                self._insert_one(pending)
        for pending in batch:
            source = pending.source
            self.report["entries"][pending.slot]["source"] = source.pk
            if source.pk is None:
                self.library.discard(source)
            elif source.status != Source.Status.ACTIVE:
                self.events.append((source, Source.Status.ACTIVE))
        for slot, source in self.pending_merges:
            line = self.report["entries"][slot]
            if source.pk is None:
                reason = f"the entry it duplicates ({source.key}) could not be stored"
                line.update(outcome="refused", source=None, reason=reason)
            else:
                line["source"] = source.pk
        self.pending_merges.clear()

    def _insert_one(self, pending: _Pending) -> None:
        try:
            with transaction.atomic():
                pending.source.save()
        except IntegrityError as exc:
            pending.source.pk = None
            self.report["entries"][pending.slot].update(
                outcome="refused", source=None, reason=f"conflicts with an existing source: {exc}"
            )


def _insert_plan() -> tuple[list, str]:
    """The columns of a new Source and how each value is prepared for the database.

    Text columns go as they are; the others (JSON, dates, the creator's id) pass
    through their field's own ``get_db_prep_save``; ``auto_now`` columns take one
    timestamp per batch.
    """
    fields = [f for f in Source._meta.concrete_fields if not f.primary_key]
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    return fields, columns


def _query_params() -> int:
    """How many parameters one statement may have on this connection."""
    limit = connection.features.max_query_params or 65535
    if connection.vendor == "sqlite":
        import sqlite3

        connection.ensure_connection()
        with contextlib.suppress(AttributeError, sqlite3.Error):
            limit = connection.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    return limit


def _rows_per_statement(columns: int) -> int:
    return max(1, min(1000, _query_params() // columns))


def _insert_sources(sources: list[Source]) -> None:
    """``Source.objects.bulk_create(sources)`` without its per-value cost, ids set.

    Django prepares each of the 27 values of each row through the field API; for a
    10 MB import that was the largest part of storing it. Here a text value goes as it
    is (``CharField.get_db_prep_save`` returns it unchanged). On PostgreSQL the rows go
    through ``COPY`` (:func:`_copy_sources`); elsewhere one multi-row INSERT ...
    RETURNING id stores up to a thousand rows (SQLite 3.35+).
    """
    if not sources:
        return
    fields, columns = _insert_plan()
    db = connections[connection.alias]  # the connection itself, not its per-thread proxy
    now = timezone.now()
    prepare = []
    for f in fields:
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
            value = f.get_db_prep_save(now, connection)
            prepare.append((f.attname, None, value))
        elif isinstance(f, models.CharField | models.TextField) and not f.null:
            prepare.append((f.attname, None, None))
        else:
            prepare.append((f.attname, f, None))
    for source in sources:
        source.created_at = source.updated_at = now
    table = connection.ops.quote_name(Source._meta.db_table)
    pk = connection.ops.quote_name(Source._meta.pk.column)

    def values_of(source: Source) -> list:
        values, row_values = source.__dict__, []
        for attname, field_, fixed in prepare:
            if fixed is not None:
                row_values.append(fixed)
            elif field_ is None:
                row_values.append(values[attname])
            elif (value := values[attname]) is None and field_.null:
                row_values.append(None)  # what get_db_prep_save makes of it
            else:
                row_values.append(field_.get_db_prep_save(value, db))
        return row_values

    if connection.vendor == "postgresql":
        _copy_sources(sources, values_of, table, pk, columns)
        return
    row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    size = _rows_per_statement(len(fields))
    with connection.cursor() as cursor:
        for start in range(0, len(sources), size):
            chunk = sources[start : start + size]
            params = [value for source in chunk for value in values_of(source)]
            # Names come from the model, every value is a parameter.
            values_sql = ", ".join([row] * len(chunk))
            sql = f"INSERT INTO {table} ({columns}) VALUES {values_sql} RETURNING {pk}"  # noqa: S608
            cursor.execute(sql, params)
            for source, (pk_value,) in zip(chunk, cursor.fetchall(), strict=True):
                source.pk = pk_value
                source._state.adding = False
                source._state.db = connection.alias


def _copy_sources(sources: list[Source], values_of, table: str, pk: str, columns: str) -> None:
    """PostgreSQL: the ids from the table's sequence in one query, then the rows through
    ``COPY … FROM STDIN`` (psycopg's ``cursor.copy``), which spares the server parsing
    one INSERT of 27,000 parameters per thousand rows and our process binding each one.
    A row that breaks a unique index fails the whole COPY as it failed the INSERT: an
    IntegrityError, and the caller stores that batch one row at a time.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [Source._meta.db_table, Source._meta.pk.column, len(sources)],
        )
        ids = sorted(row[0] for row in cursor.fetchall())
        # Django's wrapper turns psycopg's errors into django.db's, as for execute().
        with (
            connection.wrap_database_errors,
            cursor.cursor.copy(
                f"COPY {table} ({pk}, {columns}) FROM STDIN"  # names come from the model
            ) as copy,
        ):
            for source, pk_value in zip(sources, ids, strict=True):
                copy.write_row([pk_value, *values_of(source)])
    for source, pk_value in zip(sources, ids, strict=True):
        source.pk = pk_value
        source._state.adding = False
        source._state.db = connection.alias


def _empty_report() -> dict:
    return {"created": 0, "merged": 0, "refused": 0, "entries": []}


def _import_batch(actor, batch: list[ParsedEntry], report: dict) -> None:
    """Import one batch of entries and add its lines to ``report``.

    Candidate duplicates for the batch are fetched up front; earlier batches of
    the same file are in the database already, so they are found like any source.
    """
    records = [entry.record for entry in batch if entry.ok]
    part = _Importer(actor, _Library.for_records(records)).run(batch)
    for outcome in ("created", "merged", "refused"):
        report[outcome] += part[outcome]
    report["entries"].extend(part["entries"])


def source_import(*, actor, data: bytes, filename: str = "", fmt: str | None = None) -> dict:
    """Import a file; each entry is created, merged into a duplicate, or refused with a reason.

    ``actor`` None is a trusted system caller (the ``import_sources`` command).
    The file is parsed and stored in batches (bounded memory), all in one
    transaction. Merges are written one by one and new sources inserted in
    batches. A bad entry never stops the others and is never half-stored: a
    source is one row, written by one statement inside a savepoint, and a batch
    that hits a conflict is retried row by row. Raises ValidationError for a file
    over IMPORT_MAX_BYTES and UnsupportedFormat (UnsupportedEncoding) for a file
    that cannot be read; nothing else.
    """
    if actor is not None:
        _require_editor(actor)
    problem = import_size_problem(len(data), filename)
    if problem:
        raise ValidationError({"file": [problem]})
    opened = open_file(data, filename, fmt)
    report = _empty_report()
    with transaction.atomic():
        for batch in opened.batches:
            _import_batch(actor, batch, report)
    return report


# --- background import ----------------------------------------------------------------------


#: Files larger than this import as a background job (the API answers 202 with the job).
IMPORT_BACKGROUND_BYTES = 1024 * 1024


def import_jobs_for(user) -> QuerySet[ImportJob]:
    """The import jobs a user may follow: their own; a managing editor sees every job."""
    if not can_edit_sources(user):
        return ImportJob.objects.none()
    if is_managing_editor(user):
        return ImportJob.objects.all()
    return ImportJob.objects.filter(created_by=user)


def import_job_create(*, actor, data: bytes, filename: str = "", fmt: str | None = None):
    """Queue a file for import by a worker; the file is checked (size, encoding, format) now.

    Raises what :func:`source_import` raises, before anything is stored.
    """
    from . import tasks  # tasks import the services; the task is only needed here

    _require_editor(actor)
    problem = import_size_problem(len(data), filename)
    if problem:
        raise ValidationError({"file": [problem]})
    opened = open_file(data, filename, fmt)
    job = ImportJob.objects.create(
        created_by=actor if actor is not None and actor.is_authenticated else None,
        filename=filename[:255],
        format=opened.format,
        data=data,
        total=opened.total,
        report=_empty_report(),
    )
    tasks.run_import_job.delay_on_commit(job.pk)
    return job


@contextlib.contextmanager
def _fewer_collections():
    """Raise the garbage collector's thresholds while a job runs.

    A job keeps tens of thousands of small objects alive (its report, a parsed
    batch), which every young-generation collection walks again: with the default
    thresholds that was about a third of a 10 MB import's time.
    """
    saved = gc.get_threshold()
    gc.set_threshold(50_000, 20, 100)
    # What the process holds already (modules, Django's registries) is never garbage:
    # frozen, the full collections the job triggers do not walk it again.
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()
        gc.set_threshold(*saved)


#: How long a run holds its job without storing a batch; each batch renews it. A run
#: that is lost (worker killed) gives the job up to the next delivery when it expires.
IMPORT_LEASE = datetime.timedelta(minutes=5)


class _LeaseLost(Exception):
    """Another run holds the job now: this one stops, its batch rolled back."""


def _claim_job(job_id: int) -> tuple[ImportJob | None, str]:
    """Take the job for this run: ``(job, token)``, or ``(None, why)``.

    One conditional UPDATE: a queued job, or a running one whose lease has expired
    (its worker was lost), becomes this run's. Two deliveries racing for it cannot
    both win: the database applies one UPDATE after the other, and the second finds
    a live lease. ``why`` is ``"busy"`` when another run holds the job, else
    ``"skipped"`` (done, failed or gone).
    """
    token, now = uuid.uuid4().hex, timezone.now()
    expired = Q(lease_until__isnull=True) | Q(lease_until__lt=now)
    claimable = Q(state=ImportJob.State.QUEUED) | (Q(state=ImportJob.State.RUNNING) & expired)
    claimed = ImportJob.objects.filter(claimable, pk=job_id).update(
        state=ImportJob.State.RUNNING,
        lease_token=token,
        lease_until=now + IMPORT_LEASE,
        started_at=Coalesce("started_at", Value(now, output_field=models.DateTimeField())),
    )
    if not claimed:
        state = ImportJob.objects.filter(pk=job_id).values_list("state", flat=True).first()
        return None, "busy" if state == ImportJob.State.RUNNING else "skipped"
    return ImportJob.objects.get(pk=job_id), token


def import_job_run(*, job_id: int) -> str:
    """Run a queued import job: parse and store batch by batch, recording progress.

    Each batch is stored in its own transaction together with the job's
    ``processed`` count (a narrow UPDATE that also renews the run's lease) and the
    batch's report lines (an :class:`ImportJobPart`), so a job delivered again after
    a lost worker resumes after the last stored batch (batches are deterministic).
    The report is written to the job once, when it is done. Returns ``"done"``,
    ``"failed"``, ``"busy"`` (another run holds the job: nothing done) or
    ``"skipped"`` (already finished). An entry is never half-stored.
    """
    job, token = _claim_job(job_id)
    if job is None:
        return token
    held = ImportJob.objects.filter(pk=job.pk, lease_token=token)
    try:
        with _fewer_collections():
            seen, report = _run_job_batches(job, token)
        with transaction.atomic():
            finished = held.update(
                state=ImportJob.State.DONE,
                total=seen,
                processed=seen,
                report=report,
                data=b"",
                finished_at=timezone.now(),
                lease_until=None,
            )
            if not finished:
                raise _LeaseLost
            ImportJobPart.objects.filter(job=job).delete()
    except _LeaseLost:
        logger.warning("import job %s: another run took it over; this one stopped", job_id)
        return "busy"
    except Exception as exc:  # noqa: BLE001 - the job reports the failure; nothing half-stored
        logger.exception("import job %s failed", job_id)
        failed = held.update(
            state=ImportJob.State.FAILED,
            error=str(exc)[:2000],
            finished_at=timezone.now(),
            lease_until=None,
        )
        if failed:  # a failed job is never resumed: its batches' lines are not needed
            ImportJobPart.objects.filter(job_id=job.pk).delete()
        return "failed"
    return "done"


def _report_so_far(job: ImportJob) -> dict:
    """The report of the batches an earlier run of the job stored (empty for a new job)."""
    report = _empty_report()
    parts = ImportJobPart.objects.filter(job=job, processed__lte=job.processed)
    for lines in parts.order_by("processed").values_list("lines", flat=True):
        report["entries"].extend(lines)
    for line in report["entries"]:
        report[line["outcome"]] += 1
    return report


def _run_job_batches(job: ImportJob, token: str) -> tuple[int, dict]:
    """Store the job's batches not stored yet; return how many entries the file holds
    and the whole report."""
    opened = open_file(bytes(job.data), job.filename, job.format or None)
    report, seen = _report_so_far(job), 0
    held = ImportJob.objects.filter(pk=job.pk, lease_token=token)
    for batch in opened.batches:
        seen += len(batch)
        if seen <= job.processed:
            continue  # stored by an earlier delivery of this job
        with transaction.atomic():
            # First, so that on PostgreSQL the job's row is locked for the batch.
            renewed = held.update(
                processed=seen,
                total=max(job.total, seen),
                lease_until=timezone.now() + IMPORT_LEASE,
            )
            if not renewed:
                raise _LeaseLost
            part = _empty_report()
            _import_batch(job.created_by, batch, part)
            ImportJobPart.objects.create(job=job, processed=seen, lines=part["entries"])
        for outcome in ("created", "merged", "refused"):
            report[outcome] += part[outcome]
        report["entries"].extend(part["entries"])
    return seen, report


# --- lookup ---------------------------------------------------------------------------------


class LookupDisabled(errors.InvalidInput):
    """Metadata lookup is switched off in settings."""


class LookupNotFound(errors.NotFound):
    """The registry has no usable record for the identifier."""


class LookupUnavailable(errors.Unavailable):
    """The registry could not be reached or failed."""


def source_lookup(*, actor, doi: str = "", pmid: str = "") -> tuple[Source, bool]:
    """Fetch a DOI's (Crossref) or PMID's (PubMed) metadata and create or merge its source.

    Returns the source and whether it was created. The registry is asked
    outside any transaction, so a slow registry never holds database locks.
    """
    _require_editor(actor)
    if not settings.REVIEWSITE_LOOKUP_ENABLED:
        raise LookupDisabled(
            "Metadata lookup is disabled on this server (REVIEWSITE_LOOKUP_ENABLED is off); "
            "add the source by hand or import a file."
        )
    if bool(doi) == bool(pmid):
        raise ValidationError({"doi": ["Give either a DOI or a PMID."]})
    timeout = settings.REVIEWSITE_LOOKUP_TIMEOUT
    try:
        if doi:
            try:
                normalize_doi(doi)
            except InvalidIdentifier as exc:
                raise ValidationError({"doi": [str(exc)]})
            record = lookup.lookup_doi(
                doi, base_url=settings.REVIEWSITE_CROSSREF_URL, timeout=timeout
            )
        else:
            try:
                normalize_pmid(pmid)
            except InvalidIdentifier as exc:
                raise ValidationError({"pmid": [str(exc)]})
            record = lookup.lookup_pmid(
                pmid, base_url=settings.REVIEWSITE_PUBMED_URL, timeout=timeout
            )
    except lookup.LookupNotFound as exc:
        raise LookupNotFound(f"{registry_name(doi)} has no record for {doi or pmid}: {exc}")
    except lookup.LookupUnavailable as exc:
        raise LookupUnavailable(
            f"{registry_name(doi)} cannot be reached right now ({exc}); try again later."
        )
    entry = ParsedEntry(0, record["key"], record, None, [f"metadata from {registry_name(doi)}"])
    with transaction.atomic():
        report = _Importer(actor, _Library.for_records([record])).run([entry])
    line = report["entries"][0]
    if line["outcome"] == "refused":
        raise ValidationError({"doi" if doi else "pmid": [line["reason"]]})
    return Source.objects.get(pk=line["source"]), line["outcome"] == "created"


def registry_name(doi: str) -> str:
    """Which registry a lookup asks: Crossref for DOIs, PubMed for PMIDs."""
    return "Crossref" if doi else "PubMed"


# --- reads ----------------------------------------------------------------------------------


def sources_with_citing_count() -> QuerySet[Source]:
    """Sources annotated with ``citing_count``: distinct articles whose live or working
    revision cites them. One aggregate over the reverse relation, so citations never
    imports the articles app."""
    revision = "revision_citations__revision"
    current = current_revision_q(revision)
    # Django drops Meta.ordering from aggregating queries; pagination needs an order.
    return Source.objects.annotate(
        citing_count=Count(f"{revision}__article", filter=current, distinct=True)
    ).order_by("key")
