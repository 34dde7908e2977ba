"""Writes on the source library: create, edit, import with merging, status changes."""

from __future__ import annotations

import datetime
from collections.abc import Iterable

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from reviewsite.roles import is_editor, is_managing_editor, is_reviewer

from .identifiers import duplicate_signature
from .importers import ParsedEntry, finalize_record, parse_file
from .models import Source, SourceStatusEvent
from .signals import source_status_changed

#: Fields of our record format that map one to one onto Source columns.
RECORD_FIELDS = (
    "key", "type", "title", "authors", "container_title", "issued", "volume", "issue",
    "pages", "doi", "pmid", "pmcid", "url", "publisher",
)  # fmt: skip


def source_to_record(source: Source) -> dict:
    """The source in our record format (what formatting and exports take)."""
    record = {name: getattr(source, name) for name in RECORD_FIELDS}
    record["status"] = source.status
    record["evidence_type"] = source.evidence_type
    return record


def signature_of(record: dict) -> str:
    """The stored duplicate signature: normalised title, year, first author."""
    title, year, family = duplicate_signature(record)
    return f"{title}|{year}|{family}"[:500] if title else ""


def _require_editor(actor) -> None:
    if not (actor.is_superuser or is_editor(actor)):
        raise PermissionDenied("Only Editors or Managing editors may change the source library.")


def _length_errors(record: dict) -> dict:
    errors = {}
    for name in RECORD_FIELDS:
        field = Source._meta.get_field(name)
        value = record.get(name)
        if getattr(field, "max_length", None) and isinstance(value, str):
            if len(value) > field.max_length:
                errors[name] = [
                    f"Ensure this field has no more than {field.max_length} characters."
                ]
    return errors


def clean_record(data: dict) -> dict:
    """Normalise and validate input in record format; ValidationError names each field."""
    try:
        record = finalize_record(data)
    except ValueError as exc:
        message = str(exc)
        field = next(
            (f for f in ("doi", "pmid", "pmcid", "status") if message.startswith(f"invalid {f}")),
            None,
        )
        raise ValidationError({field or "title": [message]})
    errors = _length_errors(record)
    if errors:
        raise ValidationError(errors)
    return record


def _apply_notice(source: Source, notice: dict | None) -> None:
    notice = notice or {}
    source.notice_doi = notice.get("doi") or ""
    source.notice_pmid = notice.get("pmid") or ""
    date = notice.get("date") or ""
    source.notice_date = _parse_date(date)
    source.notice_reason = notice.get("reason") or ""


def _parse_date(value: str) -> datetime.date | None:
    if not value:
        return None
    parts = [int(p) for p in value.split("-")]
    while len(parts) < 3:
        parts.append(1)
    try:
        return datetime.date(*parts[:3])
    except ValueError:
        return None


def find_duplicate(record: dict, *, exclude: int | None = None) -> Source | None:
    """The existing source this record describes: same DOI, else PMID, else signature."""
    candidates = Source.objects.all()
    if exclude:
        candidates = candidates.exclude(pk=exclude)
    if record.get("doi"):
        found = candidates.filter(doi=record["doi"]).first()
        if found:
            return found
    if record.get("pmid"):
        found = candidates.filter(pmid=record["pmid"]).first()
        if found:
            return found
    signature = signature_of(record)
    if signature and signature.split("|")[1]:
        return candidates.filter(title_signature=signature).first()
    return None


def _unique_key(key: str, taken: set[str] | None = None) -> str:
    candidate, n = key, 2
    while (taken and candidate in taken) or Source.objects.filter(key=candidate).exists():
        candidate, n = f"{key}-{n}", n + 1
    return candidate


def _new_source(record: dict, actor, evidence_type: str | None = None) -> Source:
    source = Source(**{name: record[name] for name in RECORD_FIELDS})
    source.status = record.get("status") or Source.Status.ACTIVE
    if source.status != Source.Status.ACTIVE:
        _apply_notice(source, record.get("status_notice"))
        source.status_changed_at = timezone.now()
    source.evidence_type = evidence_type or record.get("evidence_type") or Source.EvidenceType.OTHER
    source.title_signature = signature_of(record)
    source.created_by = actor if actor and actor.is_authenticated else None
    return source


@transaction.atomic
def source_create(*, actor, data: dict, evidence_type: str | None = None) -> Source:
    """Add a source; refuses a DOI/PMID/key that the library already has."""
    _require_editor(actor)
    record = clean_record(data)
    evidence_type = evidence_type or data.get("evidence_type") or Source.EvidenceType.OTHER
    if evidence_type not in Source.EvidenceType.values:
        raise ValidationError({"evidence_type": [f"{evidence_type!r} is not a valid choice."]})
    errors = {}
    for name in ("key", "doi", "pmid", "pmcid"):
        if record[name] and Source.objects.filter(**{name: record[name]}).exists():
            errors[name] = [f"A source with this {name} already exists."]
    if errors:
        raise ValidationError(errors)
    source = _new_source(record, actor, evidence_type)
    source.save()
    if source.status in Source.FLAGGING_STATUSES:
        _send_status_changed(source, Source.Status.ACTIVE, actor)
    return source


@transaction.atomic
def source_update(*, source_id: int, actor, data: dict) -> Source:
    """Edit a source's bibliographic fields (its status has its own service)."""
    _require_editor(actor)
    source = Source.objects.select_for_update().get(pk=source_id)
    merged = source_to_record(source)
    merged.update({k: v for k, v in data.items() if k in RECORD_FIELDS})
    record = clean_record(merged)
    errors = {}
    for name in ("key", "doi", "pmid", "pmcid"):
        if (
            record[name]
            and Source.objects.filter(**{name: record[name]}).exclude(pk=source.pk).exists()
        ):
            errors[name] = [f"Another source has this {name}."]
    evidence_type = data.get("evidence_type", source.evidence_type)
    if evidence_type not in Source.EvidenceType.values:
        errors["evidence_type"] = [f"{evidence_type!r} is not a valid choice."]
    if errors:
        raise ValidationError(errors)
    for name in RECORD_FIELDS:
        setattr(source, name, record[name])
    source.evidence_type = evidence_type
    source.title_signature = signature_of(record)
    source.save()
    return source


def _send_status_changed(source: Source, old_status: str, actor) -> None:
    actor_id = actor.pk if actor is not None and actor.is_authenticated else None
    transaction.on_commit(
        lambda: source_status_changed.send(
            sender=Source,
            source_id=source.pk,
            old_status=old_status,
            new_status=source.status,
            actor_id=actor_id,
        )
    )


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
    if not (actor.is_superuser or is_reviewer(actor) or is_managing_editor(actor)):
        raise PermissionDenied("Only Reviewers may change a source's status.")
    if status not in Source.Status.values:
        raise ValidationError(
            {"status": [f"{status!r} is not one of {', '.join(Source.Status.values)}."]}
        )
    record = clean_record(
        {
            "title": "x",
            "status": status,
            "status_notice": {
                "doi": notice_doi,
                "pmid": notice_pmid,
                "date": notice_date,
                "reason": reason,
            },
        }
    )
    errors = {}
    if notice_doi and not record["status_notice"].get("doi"):
        errors["notice_doi"] = [f"{notice_doi!r} is not a DOI (expected 10.NNNN/...)."]
    if notice_pmid and not record["status_notice"].get("pmid"):
        errors["notice_pmid"] = [f"{notice_pmid!r} is not a PMID (digits)."]
    if notice_date and _parse_date(record["status_notice"].get("date", "")) is None:
        errors["notice_date"] = [f"{notice_date!r} is not a date (YYYY-MM-DD)."]
    if errors:
        raise ValidationError(errors)
    source = Source.objects.select_for_update().get(pk=source_id)
    old_status = source.status
    notice = record["status_notice"] if status != Source.Status.ACTIVE else {}
    _apply_notice(source, notice)
    source.status = status
    source.status_changed_at = timezone.now()
    source.save()
    SourceStatusEvent.objects.create(
        source=source,
        from_status=old_status,
        to_status=status,
        notice_doi=source.notice_doi,
        notice_pmid=source.notice_pmid,
        reason=source.notice_reason,
        actor=actor,
    )
    if old_status != status:
        _send_status_changed(source, old_status, actor)
    return source


# --- import ---------------------------------------------------------------------------------


def _merge_into(source: Source, record: dict) -> list[str]:
    """Fill the existing source's empty fields from the record; return what changed."""
    changed = []
    for name in RECORD_FIELDS:
        if name == "key":
            continue
        if not getattr(source, name) and record.get(name):
            if (
                name in ("doi", "pmid", "pmcid")
                and Source.objects.filter(**{name: record[name]}).exclude(pk=source.pk).exists()
            ):
                continue
            setattr(source, name, record[name])
            changed.append(name)
    status = record.get("status") or Source.Status.ACTIVE
    if status != Source.Status.ACTIVE and source.status == Source.Status.ACTIVE:
        source.status = status
        _apply_notice(source, record.get("status_notice"))
        source.status_changed_at = timezone.now()
        changed.append("status")
    return changed


def _entry_report(entry: ParsedEntry, outcome: str, source: Source | None, reason: str | None):
    return {
        "index": entry.index,
        "key": entry.key or (entry.record or {}).get("key", ""),
        "outcome": outcome,
        "source": source.pk if source else None,
        "reason": reason,
    }


def source_import(*, actor, data: bytes, filename: str = "", fmt: str | None = None) -> dict:
    """Import a file; each entry is created, merged into a duplicate, or refused with a reason.

    A bad entry never stops the others and is never half-stored: each entry is
    stored in its own savepoint.
    """
    _require_editor(actor)
    entries = parse_file(data, filename, fmt)  # raises UnsupportedFormat only
    report = {"created": 0, "merged": 0, "refused": 0, "entries": []}
    for entry in entries:
        outcome, source, reason = _import_entry(entry, actor)
        report[outcome] += 1
        report["entries"].append(_entry_report(entry, outcome, source, reason))
    return report


def _import_entry(entry: ParsedEntry, actor) -> tuple[str, Source | None, str | None]:
    if not entry.ok:
        return "refused", None, entry.error or "unreadable entry"
    record = entry.record
    errors = _length_errors(record)
    if errors:
        field, messages = next(iter(errors.items()))
        return "refused", None, f"{field}: {messages[0]}"
    notes = list(entry.warnings or [])
    try:
        with transaction.atomic():
            existing = find_duplicate(record)
            if existing is not None:
                old_status = existing.status
                changed = _merge_into(existing, record)
                if changed:
                    existing.save()
                if existing.status != old_status:
                    _send_status_changed(existing, old_status, actor)
                how = (
                    "same DOI"
                    if record.get("doi") and record["doi"] == existing.doi
                    else (
                        "same PMID"
                        if record.get("pmid") and record["pmid"] == existing.pmid
                        else "same title, year and first author"
                    )
                )
                detail = f"merged into {existing.key} ({how})"
                if changed:
                    detail += f"; filled {', '.join(changed)}"
                return "merged", existing, "; ".join([detail, *notes])
            key = record["key"]
            unique = _unique_key(key)
            if unique != key:
                notes.append(f"key {key!r} is used by another source; stored as {unique!r}")
                record = {**record, "key": unique}
            source = _new_source(record, actor)
            source.save()
            if source.status in Source.FLAGGING_STATUSES:
                _send_status_changed(source, Source.Status.ACTIVE, actor)
            return "created", source, "; ".join(notes) or None
    except IntegrityError as exc:
        return "refused", None, f"conflicts with an existing source: {exc}"


def sources_by_ids(ids: Iterable[int]) -> dict[int, Source]:
    """Sources by primary key, in one query."""
    return Source.objects.in_bulk(list(ids))
