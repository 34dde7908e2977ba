"""The source integrity watch: ask Crossref and PubMed whether cited sources still stand.

:func:`check_sources` re-checks the sources cited by a live or working revision,
least recently checked first, at most ``REVIEWSITE_SOURCE_CHECK_MAX_PER_RUN`` a run,
in batches of ``REVIEWSITE_SOURCE_CHECK_BATCH_SIZE``. For each batch the registries
are asked first, outside any transaction (Crossref one DOI a request, PubMed every
PMID of the batch in one efetch), then one short transaction writes one
:class:`SourceCheck` per answer, stamps ``last_checked`` and sends the changes
through the status service. The queries of a batch do not depend on its size
(changes, which are rare, cost a few more each).

Idempotent: a status is only ever raised, so running again (or redoing a batch a
lost worker left half done; its transaction rolled back) changes nothing and
sends nothing a second time. A registry that is down changes nothing: its answer is
recorded as an ``error`` check and the source waits for the next run.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Exists, F, OuterRef
from django.utils import timezone

from reviewsite import errors
from reviewsite.roles import is_editor, is_reviewer

from . import registries
from .models import Source, SourceCheck, current_revision_q
from .registries import CROSSREF, PUBMED, Answer, Finding, RegistryClient
from .services import _parse_date, source_raise_status_from_registry

logger = logging.getLogger(__name__)

__all__ = [
    "CheckRun",
    "ChecksDisabled",
    "can_check_sources",
    "check_sources",
    "clients_from_settings",
    "source_check_now",
    "sources_due",
]

_REGISTRY_NAMES = {CROSSREF: "Crossref", PUBMED: "PubMed"}
_CHECK_FIELDS = ("id", "key", "doi", "pmid", "status", "last_checked")


class ChecksDisabled(errors.InvalidInput):
    """REVIEWSITE_SOURCE_CHECK_ENABLED is off (the API answers 400)."""


@dataclass
class CheckRun:
    """What one run did: per registry, how many answers of each outcome and requests."""

    checked: int = 0
    changed: int = 0
    errors: int = 0
    registries: dict[str, Counter] = field(
        default_factory=lambda: {CROSSREF: Counter(), PUBMED: Counter()}
    )
    changes: list[dict] = field(default_factory=list)
    check_ids: list[int] = field(default_factory=list)

    def as_dict(self) -> dict:
        """JSON-friendly summary (the Celery task's result)."""
        return {
            "checked": self.checked,
            "changed": self.changed,
            "errors": self.errors,
            "registries": {name: dict(counts) for name, counts in self.registries.items()},
            "changes": self.changes,
        }

    def summary_lines(self) -> list[str]:
        """The summary the management command prints."""
        lines = [f"Checked {self.checked} sources: {self.changed} changed, {self.errors} errors."]
        for name, counts in self.registries.items():
            outcomes = ", ".join(
                f"{counts[o]} {o.replace('_', ' ')}" for o in SourceCheck.Outcome.values
            )
            lines.append(f"  {_REGISTRY_NAMES[name]}: {outcomes} ({counts['requests']} requests)")
        for change in self.changes:
            lines.append(
                f"  {change['key']} (#{change['source']}): {change['from']} → {change['to']}"
                f" — {change['reason']}"
            )
        return lines


def clients_from_settings() -> dict[str, RegistryClient]:
    """One polite client per registry, configured from settings."""
    email = settings.REVIEWSITE_CONTACT_EMAIL
    agent = f"reviewsite/0.1 ({settings.SITE_URL}; source integrity watch"
    agent += f"; mailto:{email})" if email else ")"
    common = {
        "timeout": settings.REVIEWSITE_SOURCE_CHECK_TIMEOUT,
        "retries": settings.REVIEWSITE_SOURCE_CHECK_RETRIES,
        "backoff": settings.REVIEWSITE_SOURCE_CHECK_BACKOFF,
        "max_wait": settings.REVIEWSITE_SOURCE_CHECK_MAX_WAIT,
        "user_agent": agent,
    }
    pubmed_params = {"tool": "reviewsite"}
    if email:
        pubmed_params["email"] = email
    if settings.REVIEWSITE_PUBMED_API_KEY:
        pubmed_params["api_key"] = settings.REVIEWSITE_PUBMED_API_KEY
    return {
        CROSSREF: RegistryClient(
            CROSSREF,
            settings.REVIEWSITE_CROSSREF_URL,
            min_interval=settings.REVIEWSITE_CROSSREF_MIN_INTERVAL,
            params={"mailto": email} if email else {},
            # Crossref's polite pool (requests with a mailto) allows a few at once.
            concurrency=settings.REVIEWSITE_CROSSREF_CONCURRENCY or (3 if email else 1),
            **common,
        ),
        PUBMED: RegistryClient(
            PUBMED,
            settings.REVIEWSITE_PUBMED_URL,
            min_interval=settings.REVIEWSITE_PUBMED_MIN_INTERVAL,
            params=pubmed_params,
            **common,
        ),
    }


def _cited_by_current_revision() -> Exists:
    """The source is cited by some article's live or working revision.

    The citation model is reached through the reverse relation, so citations never
    imports the articles app.
    """
    citation = Source._meta.get_field("revision_citations").related_model
    return Exists(
        citation.objects.filter(source=OuterRef("pk")).filter(current_revision_q("revision"))
    )


def sources_due(*, source_ids: Iterable[int] | None = None, limit: int | None = None):
    """Sources to check, least recently checked first (never-checked ones before all).

    Without ``source_ids``: every source with a DOI or PMID cited by a live or
    working revision. With them: those sources, cited or not.
    """
    sources = Source.objects.exclude(doi="", pmid="")
    if source_ids is not None:
        sources = sources.filter(pk__in=list(source_ids))
    else:
        sources = sources.filter(_cited_by_current_revision())
    sources = sources.order_by(F("last_checked").asc(nulls_first=True), "pk").only(*_CHECK_FIELDS)
    return sources[:limit] if limit is not None else sources


def check_sources(
    *,
    source_ids: Iterable[int] | None = None,
    limit: int | None = None,
    batch_size: int | None = None,
    clients: dict[str, RegistryClient] | None = None,
) -> CheckRun:
    """Check the sources due (or ``source_ids``); see the module docstring."""
    if not settings.REVIEWSITE_SOURCE_CHECK_ENABLED:
        raise ChecksDisabled(
            "Source integrity checks are disabled (REVIEWSITE_SOURCE_CHECK_ENABLED is off)."
        )
    limit = settings.REVIEWSITE_SOURCE_CHECK_MAX_PER_RUN if limit is None else limit
    batch_size = min(
        batch_size or settings.REVIEWSITE_SOURCE_CHECK_BATCH_SIZE, registries.PUBMED_BATCH_LIMIT
    )
    own_clients = clients is None
    clients = clients or clients_from_settings()
    run = CheckRun()
    # Only ids are held: each batch re-reads its rows, so memory stays flat.
    ids = list(sources_due(source_ids=source_ids, limit=limit).values_list("pk", flat=True))
    try:
        for start in range(0, len(ids), batch_size):
            _check_batch(ids[start : start + batch_size], clients, run)
    finally:
        for name, client in clients.items():
            run.registries[name]["requests"] += client.requests_made
            client.requests_made = 0
            if own_clients:
                client.close()
    return run


def _check_batch(ids: list[int], clients: dict[str, RegistryClient], run: CheckRun) -> None:
    sources = list(Source.objects.filter(pk__in=ids).only(*_CHECK_FIELDS).order_by("pk"))
    # Ask first, outside any transaction: a slow registry never holds a database lock.
    crossref = _ask_crossref(clients[CROSSREF], [s for s in sources if s.doi])
    pmids = sorted({s.pmid for s in sources if s.pmid})
    pubmed = registries.fetch_pubmed(clients[PUBMED], pmids)
    now = timezone.now()
    with transaction.atomic():
        current = {
            s.pk: s
            for s in Source.objects.select_for_update()
            .filter(pk__in=[s.pk for s in sources])
            .only(*_CHECK_FIELDS)
        }
        rows: list[SourceCheck] = []
        answered = []
        for source in sources:
            stored = current.get(source.pk)
            if stored is None:  # deleted meanwhile
                continue
            answers = []
            if source.pk in crossref:
                answers.append((CROSSREF, crossref[source.pk]))
            if source.pmid:
                answers.append((PUBMED, pubmed[source.pmid]))
            rows.extend(_decide(stored, answers, now, run))
            run.checked += 1
            # A source no registry could answer for stays first in line for the next run.
            if any(answer.outcome != "error" for _name, answer in answers):
                answered.append(source.pk)
        created = SourceCheck.objects.bulk_create(rows)
        run.check_ids.extend(row.pk for row in created if row.pk is not None)
        if answered:
            Source.objects.filter(pk__in=answered).update(last_checked=now)


def _ask_crossref(client: RegistryClient, sources: list[Source]) -> dict[int, Answer]:
    """One request per DOI, up to ``client.concurrency`` at a time (paced by the client)."""
    if client.concurrency <= 1 or len(sources) <= 1:
        return {s.pk: registries.fetch_crossref(client, s.doi) for s in sources}
    with ThreadPoolExecutor(max_workers=client.concurrency) as pool:
        answers = pool.map(lambda s: registries.fetch_crossref(client, s.doi), sources)
        return {s.pk: answer for s, answer in zip(sources, answers, strict=True)}


def _decide(source: Source, answers: list[tuple[str, Answer]], now, run: CheckRun):
    """One SourceCheck per answer; the most severe raising finding goes to the service."""
    raising = [
        (name, answer)
        for name, answer in answers
        if answer.outcome == "found"
        and Source.SEVERITY[answer.finding.status] > Source.SEVERITY[source.status]
    ]
    applied = None
    if raising:
        name, answer = max(raising, key=lambda pair: _priority(pair[0], pair[1].finding))
        finding = answer.finding
        reason = f"{_REGISTRY_NAMES[name]} reports {finding.status.replace('_', ' ')}: "
        reason += finding.notice_text() or "no notice given"
        changed = source_raise_status_from_registry(
            source_id=source.pk,
            status=finding.status,
            notice_doi=finding.notice_doi,
            notice_pmid=finding.notice_pmid,
            notice_date=_parse_date(finding.notice_date),
            reason=reason,
        )
        if changed is not None:
            applied = name
            run.changed += 1
            run.changes.append(
                {
                    "source": source.pk,
                    "key": source.key,
                    "from": source.status,
                    "to": changed.status,
                    "registry": name,
                    "reason": reason,
                }
            )
            source.status = changed.status
    rows = []
    for name, answer in answers:
        outcome = _outcome(answer, applied == name)
        run.registries[name][outcome] += 1
        if outcome == SourceCheck.Outcome.ERROR:
            run.errors += 1
        rows.append(_row(source, name, answer, outcome, now))
    return rows


def _priority(registry: str, finding: Finding) -> tuple:
    # Most severe first; among equals Crossref (it gives the notice's DOI and date).
    return (finding.severity, registry == CROSSREF, finding.notice_date)


def _outcome(answer: Answer, applied: bool) -> str:
    if answer.outcome == "error":
        return SourceCheck.Outcome.ERROR
    if answer.outcome == "not_found":
        return SourceCheck.Outcome.NOT_FOUND
    return SourceCheck.Outcome.CHANGED if applied else SourceCheck.Outcome.UNCHANGED


def _row(source: Source, registry: str, answer: Answer, outcome: str, now) -> SourceCheck:
    finding = answer.finding
    detail = answer.detail
    if finding is not None:
        parts = [finding.notice_text()] if finding.status != "active" else []
        if finding.status != "active" and outcome == SourceCheck.Outcome.UNCHANGED:
            parts.append(f"status {source.status.replace('_', ' ')} kept")
        parts.extend(finding.notes)
        detail = "; ".join(p for p in parts if p)
    return SourceCheck(
        source_id=source.pk,
        registry=registry,
        checked_at=now,
        outcome=outcome,
        found_status=finding.status if finding is not None else "",
        notice_doi=finding.notice_doi if finding is not None else "",
        notice_pmid=finding.notice_pmid if finding is not None else "",
        detail=detail,
    )


def can_check_sources(user) -> bool:
    """Editors and Reviewers (and managing editors, superusers) may check a source now."""
    return is_editor(user) or is_reviewer(user)


def source_check_now(*, actor, source_id: int) -> list[SourceCheck]:
    """Check one source now (whether or not it is due); its new checks, by registry."""
    if not can_check_sources(actor):
        raise PermissionDenied("Only Editors or Reviewers may check a source now.")
    source = Source.objects.only("doi", "pmid").get(pk=source_id)
    if not (source.doi or source.pmid):
        raise ValidationError(
            {"source": ["This source has no DOI or PMID, so no registry can be asked about it."]}
        )
    run = check_sources(source_ids=[source_id], limit=1)
    return list(SourceCheck.objects.filter(pk__in=run.check_ids).order_by("registry", "id"))
