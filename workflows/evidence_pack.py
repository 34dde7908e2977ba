"""The accreditation evidence pack of one article: everything an auditor asks for, each
section labelled with the criteria it evidences. Read-only; a fixed number of queries
whatever the number of revisions, approvals, events or sources.

The labels name criteria of the PIF TICK, the NHS Standard for creating health
content, the HONcode principles and the JAMA benchmarks in words; the README maps
them in a table.
"""

from __future__ import annotations

from django.db.models import Prefetch
from django.utils import timezone

from articles.models import Article, ArticleRevision, RevisionCitation
from citations.models import Source, SourceStatusEvent

from .models import Approval, AuditEvent

#: Section -> the criteria it evidences.
CRITERIA: dict[str, list[str]] = {
    "article": [
        "PIF TICK: information is produced through a documented, consistent process",
        "NHS Standard for creating health content: content has a named owner",
    ],
    "revisions": [
        "PIF TICK: version control, every change recorded",
        "JAMA benchmark: currency (dates of posting and updating)",
    ],
    "approvals": [
        "PIF TICK: reviewed by qualified health professionals before publication",
        "NHS Standard for creating health content: clinical review by a qualified reviewer",
        "HONcode principle 1: authoritative (reviewer's qualifications given)",
        "JAMA benchmark: authorship (reviewers named with credentials)",
    ],
    "conflicts_of_interest": [
        "PIF TICK: conflicts of interest are declared",
        "HONcode principle 7: financial disclosure",
        "JAMA benchmark: disclosure",
    ],
    "checklists": [
        "PIF TICK: evidence checked at every review, against a documented checklist",
        "NHS Standard for creating health content: evidence-based, accurate content",
    ],
    "evidence_snapshots": [
        "PIF TICK: information is based on reliable, up-to-date evidence",
        "HONcode principle 4: attribution (sources cited, with their status)",
        "JAMA benchmark: attribution",
    ],
    "review_cycle": [
        "PIF TICK: information is reviewed on a planned cycle and kept up to date",
        "NHS Standard for creating health content: review dates set and met",
        "JAMA benchmark: currency",
    ],
    "audit_trail": [
        "PIF TICK: a documented process with records of who did what and when",
    ],
    "sources": [
        "PIF TICK: reliable, up-to-date evidence; retracted or corrected sources acted on",
        "HONcode principle 5: justifiability (claims backed by balanced evidence)",
    ],
    "readability": [
        "PIF TICK: information is clear, easy to understand and use",
        "NHS Standard for creating health content: plain language for the audience",
    ],
}


def _iso(value) -> str | None:
    return value.isoformat() if value is not None else None


def _user(user) -> str | None:
    return user.get_username() if user is not None else None


def approval_data(approval: Approval) -> dict:
    """One approval or re-certification as the API and the pack show it."""
    return {
        "id": approval.pk,
        "kind": approval.kind,
        "revision": approval.revision_id,
        "revision_number": approval.revision.number,
        "content_hash": approval.content_hash,
        "reviewer": approval.reviewer_id,
        "reviewer_username": approval.reviewer.get_username(),
        "at": _iso(approval.at),
        "comment": approval.comment,
        "checklist": approval.checklist,
        "conflict_of_interest": approval.conflict_of_interest,
        "credentials": approval.credentials,
        "evidence": approval.evidence,
    }


def approvals_of(article: Article):
    """The article's approvals and re-certifications, oldest first, in one query."""
    return (
        Approval.objects.filter(article=article)
        .select_related("revision", "reviewer")
        .only(
            *[
                f.name
                for f in Approval._meta.concrete_fields
                if f.name not in ("revision", "reviewer")
            ],
            "revision__id",
            "revision__number",
            "reviewer__id",
            "reviewer__username",
        )
        .order_by("at", "id")
    )


def evidence_pack(*, article_id: int) -> dict:
    """The whole pack as plain data (JSON for the API, a context for the HTML page)."""
    article = Article.objects.select_related(
        "owner", "last_reviewed_by", "latest_revision", "live_revision"
    ).get(pk=article_id)
    revisions = list(
        ArticleRevision.objects.filter(article=article)
        .select_related("author")
        .defer("body_html", "body")
        .order_by("number")
    )
    approvals = [approval_data(a) for a in approvals_of(article)]
    events = list(
        AuditEvent.objects.filter(article=article).select_related("actor").order_by("at", "id")
    )
    cited = (
        RevisionCitation.objects.filter(revision__article=article)
        .values_list("source_id", flat=True)
        .distinct()
    )
    sources = list(
        Source.objects.filter(pk__in=cited)
        .prefetch_related(
            Prefetch(
                "status_events",
                queryset=SourceStatusEvent.objects.select_related("actor").order_by("at", "id"),
            )
        )
        .order_by("key")
    )
    live_ids = set(
        RevisionCitation.objects.filter(revision_id=article.live_revision_id).values_list(
            "source_id", flat=True
        )
    )
    shown = article.live_revision or article.latest_revision
    return {
        "generated_at": _iso(timezone.now()),
        "criteria": CRITERIA,
        "article": {
            "id": article.pk,
            "slug": article.slug,
            "title": article.title,
            "audience": article.audience,
            "topic": article.topic,
            "variant_group": article.variant_group,
            "owner": _user(article.owner),
            "status": article.status,
            "live_revision": article.live_revision_id,
            "latest_revision": article.latest_revision_id,
            "required_approvals": article.required_approvals,
            "created_at": _iso(article.created_at),
        },
        "review_cycle": {
            "last_updated": _iso(article.last_updated),
            "last_reviewed": _iso(article.last_reviewed),
            "last_reviewed_by": _user(article.last_reviewed_by),
            "next_review_due": _iso(article.next_review_due),
            "review_interval_days": article.effective_review_interval_days,
            "flags": article.flags,
        },
        "revisions": [
            {
                "id": r.pk,
                "number": r.number,
                "title": r.title,
                "content_hash": r.content_hash,
                "author": _user(r.author),
                "created_at": _iso(r.created_at),
                "live": r.pk == article.live_revision_id,
                "readability": getattr(r, "readability", None) or None,
            }
            for r in revisions
        ],
        "approvals": approvals,
        "audit_trail": [
            {
                "id": e.pk,
                "action": e.action,
                "actor": _user(e.actor),
                "from_status": e.from_status,
                "to_status": e.to_status,
                "revision": e.revision_id,
                "comment": e.comment,
                "refused": e.refused,
                "reason": e.reason,
                "at": _iso(e.at),
            }
            for e in events
        ],
        "sources": [
            {
                "id": s.pk,
                "key": s.key,
                "title": s.title,
                "doi": s.doi,
                "pmid": s.pmid,
                "evidence_type": s.evidence_type,
                "status": s.status,
                "status_notice": {
                    "doi": s.notice_doi,
                    "pmid": s.notice_pmid,
                    "date": _iso(s.notice_date),
                    "reason": s.notice_reason,
                },
                "status_changed_at": _iso(s.status_changed_at),
                "last_checked": _iso(getattr(s, "last_checked", None)),
                "cited_in_live": s.pk in live_ids,
                "status_history": [
                    {
                        "from_status": e.from_status,
                        "to_status": e.to_status,
                        "reason": e.reason,
                        "actor": _user(e.actor),
                        "at": _iso(e.at),
                    }
                    for e in s.status_events.all()
                ],
            }
            for s in sources
        ],
        "readability": {
            "revision": shown.pk if shown else None,
            "audience": article.audience,
            "scores": (getattr(shown, "readability", None) or None) if shown else None,
        },
    }
