"""Reads for the workspace and the review-queue API: who needs to look at what, first."""

from __future__ import annotations

import difflib

from django.db.models import Case, Exists, F, IntegerField, OuterRef, Q, QuerySet, Value, When
from django.utils import timezone

from articles.models import Article, ArticleRevision, ReviewerProfile, RevisionCitation, live_q
from citations.models import Source
from reviewsite.roles import is_staff_member

from .models import AuditEvent, ReviewAssignment

S = Article.Status

#: Urgency ranks of the review queue, most urgent first.
URGENCY_RETRACTED, URGENCY_CONCERN, URGENCY_OVERDUE, URGENCY_IN_REVIEW, URGENCY_SUBMITTED = range(5)
#: A corrected source: worth a look, after everything else.
URGENCY_CORRECTED = 5

#: Credentials that expire within this many days are shown to managing editors.
CREDENTIALS_EXPIRING_DAYS = 30

_LIST_RELATED = ("latest_revision", "live_revision", "owner", "last_reviewed_by")


def review_queue(*, user) -> QuerySet[Article]:
    """Articles a reviewer must look at, most urgent first.

    Included: submitted and under-review articles, live articles whose review is
    overdue, and any non-archived article flagged for a retracted or concerning
    citation, citing a corrected source, or whose other variant changed. Order:
    retraction flags, concern flags, overdue reviews (a live variant flagged
    ``variant_changed`` ranks with them), articles in review, submitted ones, then
    corrected-source flags (low priority); within a rank, articles assigned to ``user`` come
    first, then the longest-waiting. Users without an editorial role get nothing.
    """
    if not is_staff_member(user):
        return Article.objects.none()
    queued = (
        Q(status__in=[S.SUBMITTED, S.UNDER_REVIEW])
        | Q(flag_review_overdue=True)
        | Q(flag_citation_retracted=True)
        | Q(flag_citation_concern=True)
        | Q(flag_citation_corrected=True)
        | Q(flag_variant_changed=True)
    )
    return (
        Article.objects.filter(queued)
        .exclude(status=S.ARCHIVED)
        .select_related(*_LIST_RELATED)
        .annotate(
            urgency=Case(
                When(flag_citation_retracted=True, then=Value(URGENCY_RETRACTED)),
                When(flag_citation_concern=True, then=Value(URGENCY_CONCERN)),
                # A variant whose sibling changed is checked like an overdue review.
                When(
                    Q(flag_review_overdue=True) | Q(flag_variant_changed=True),
                    then=Value(URGENCY_OVERDUE),
                ),
                When(status=S.UNDER_REVIEW, then=Value(URGENCY_IN_REVIEW)),
                When(status=S.SUBMITTED, then=Value(URGENCY_SUBMITTED)),
                default=Value(URGENCY_CORRECTED),
                output_field=IntegerField(),
            ),
            assigned_to_me=Exists(
                ReviewAssignment.objects.filter(article=OuterRef("pk"), reviewer=user.pk)
            ),
        )
        .order_by(
            "urgency",
            F("assigned_to_me").desc(),
            F("next_review_due").asc(nulls_last=True),
            F("submitted_at").asc(nulls_last=True),
            "id",
        )
    )


def workspace_articles(*, status: str = "", query: str = "") -> QuerySet[Article]:
    """Every article's working copy for staff lists, optionally filtered."""
    articles = Article.objects.select_related(*_LIST_RELATED).order_by("-updated_at", "-id")
    if status:
        articles = articles.filter(status=status)
    if query:
        articles = articles.filter(
            Q(latest_revision__title__icontains=query)
            | Q(slug__icontains=query)
            | Q(topic__icontains=query)
        )
    return articles


def dashboard_sections(*, user, limit: int = 25) -> dict[str, list[Article]]:
    """The dashboard's lists for ``user``: one query per list, each capped at ``limit``."""
    mine = Q(owner=user) | Q(latest_revision__author=user)
    listed = Article.objects.select_related(*_LIST_RELATED)
    queue = review_queue(user=user)
    return {
        "my_drafts": list(listed.filter(mine, status=S.DRAFT).order_by("-updated_at")[:limit]),
        "changes_requested": list(
            listed.filter(mine, status=S.CHANGES_REQUESTED).order_by("-updated_at")[:limit]
        ),
        # Submitted work stays in sight of its editor until a reviewer decides.
        "my_in_review": list(
            listed.filter(mine, status__in=[S.SUBMITTED, S.UNDER_REVIEW]).order_by("-updated_at")[
                :limit
            ]
        ),
        "awaiting_review": list(
            queue.filter(status__in=[S.SUBMITTED, S.UNDER_REVIEW])
            .filter(
                Q(assigned_to_me=True)
                | ~Exists(ReviewAssignment.objects.filter(article=OuterRef("pk")))
            )
            .exclude(latest_revision__author=user)[:limit]
        ),
        "overdue": list(
            listed.filter(flag_review_overdue=True).order_by(
                F("next_review_due").asc(nulls_last=True)
            )[:limit]
        ),
        "variants_changed": list(
            listed.filter(flag_variant_changed=True)
            .exclude(status=S.ARCHIVED)
            .order_by("-updated_at", "-id")[:limit]
        ),
        "retraction_alerts": list(
            listed.filter(Q(flag_citation_retracted=True) | Q(flag_citation_concern=True))
            .exclude(status=S.ARCHIVED)
            .order_by("-flag_citation_retracted", "-updated_at")[:limit]
        ),
    }


def source_library(*, query: str = "", status: str = "") -> QuerySet[Source]:
    """Sources for the library page, searched by key, title, identifier or first author."""
    sources = Source.objects.order_by("key")
    if status:
        sources = sources.filter(status=status)
    if query:
        sources = sources.filter(
            Q(key__icontains=query)
            | Q(title__icontains=query)
            | Q(doi__icontains=query)
            | Q(pmid=query)
            | Q(title_signature__icontains=query)
        )
    return sources


def where_cited(*, source_ids) -> dict[int, list[dict]]:
    """For each source, the articles whose live or working revision cites it (one query).

    Returns ``{source_id: [{"article_id", "slug", "title", "status", "live", "working"}]}``.
    """
    rows = (
        RevisionCitation.objects.current()
        .filter(source_id__in=list(source_ids))
        .values(
            "source_id",
            "revision_id",
            "revision__title",
            "revision__article_id",
            "revision__article__slug",
            "revision__article__status",
            "revision__article__live_revision",
            "revision__article__latest_revision",
        )
        .order_by("revision__article__slug")
    )
    found: dict[int, dict[int, dict]] = {}
    for row in rows:
        per_source = found.setdefault(row["source_id"], {})
        entry = per_source.setdefault(
            row["revision__article_id"],
            {
                "article_id": row["revision__article_id"],
                "slug": row["revision__article__slug"],
                "title": row["revision__title"],
                "status": row["revision__article__status"],
                "live": False,
                "working": False,
            },
        )
        if row["revision_id"] == row["revision__article__live_revision"]:
            entry["live"] = True
        if row["revision_id"] == row["revision__article__latest_revision"]:
            entry["working"] = True
            entry["title"] = row["revision__title"]
    return {source_id: list(articles.values()) for source_id, articles in found.items()}


def text_diff(old: str, new: str) -> list[dict]:
    """Line diff of two texts as rows ``{"kind": "add" | "del" | "ctx" | "hunk", "text"}``."""
    lines = list(difflib.unified_diff(old.splitlines(), new.splitlines(), lineterm="", n=3))
    rows = []
    # The first two lines are the ---/+++ file headers.
    for line in lines[2:]:
        if line.startswith("@@"):
            rows.append({"kind": "hunk", "text": line})
        elif line.startswith("+"):
            rows.append({"kind": "add", "text": line[1:]})
        elif line.startswith("-"):
            rows.append({"kind": "del", "text": line[1:]})
        else:
            rows.append({"kind": "ctx", "text": line[1:]})
    return rows


def last_reviewed_revision(*, article: Article, user) -> ArticleRevision | None:
    """The earlier revision of ``article`` that ``user`` last decided on (approved or sent
    back), if the working revision is a newer one: what "since my last review" compares."""
    event = (
        AuditEvent.objects.filter(
            article=article,
            actor=user.pk,
            action__in=("approve", "request-changes"),
            refused=False,
            revision__isnull=False,
        )
        .exclude(revision_id=article.latest_revision_id)
        .select_related("revision")
        .order_by("-id")
        .first()
    )
    return event.revision if event else None


def revision_comparison(*, article: Article, base: ArticleRevision | None = ...) -> dict:
    """What a reviewer compares: ``base`` (the live revision unless given) against the
    proposed (working) one.

    Returns the two revisions, the rendered body with changes marked word by word,
    a line diff of title, summary and body (the Markdown), and the references added,
    removed and kept (by source), in two queries.
    """
    from .review_diff import rendered_diff

    live = article.live_revision if base is ... else base
    proposed = article.latest_revision
    revision_ids = [r.pk for r in (live, proposed) if r is not None]
    citations = list(
        RevisionCitation.objects.filter(revision_id__in=revision_ids)
        .select_related("source")
        .order_by("revision_id", "number")
    )
    live_citations = [c for c in citations if live is not None and c.revision_id == live.pk]
    proposed_citations = [c for c in citations if c.revision_id == proposed.pk]
    live_sources = {c.source_id for c in live_citations}
    proposed_sources = {c.source_id for c in proposed_citations}
    same = live is not None and live.pk == proposed.pk
    fields = []
    for name in ("title", "summary", "body"):
        old = getattr(live, name) if live is not None else ""
        new = getattr(proposed, name)
        fields.append(
            {"name": name, "changed": old != new, "rows": [] if same else text_diff(old, new)}
        )
    return {
        "live": live,
        "proposed": proposed,
        "same_revision": same,
        "fields": fields,
        "rendered": ""
        if same
        else rendered_diff(live.body_html if live else "", proposed.body_html),
        "references_added": [c for c in proposed_citations if c.source_id not in live_sources],
        "references_removed": [c for c in live_citations if c.source_id not in proposed_sources],
        "references_kept": [c for c in proposed_citations if c.source_id in live_sources],
        "proposed_citations": proposed_citations,
        "flagged_citations": [
            c for c in proposed_citations if c.source.status != Source.Status.ACTIVE
        ],
    }


def requested_changes(*, article: Article) -> AuditEvent | None:
    """The reviewer's request for changes the editor is working on, until resubmission."""
    if article.status not in (S.CHANGES_REQUESTED, S.DRAFT):
        return None
    events = AuditEvent.objects.filter(article=article, refused=False)
    resubmitted = events.filter(action="submit", id__gt=OuterRef("id"))
    return (
        events.filter(action="request-changes")
        .filter(~Exists(resubmitted))
        .select_related("actor__reviewer_profile")
        .order_by("-id")
        .first()
    )


def article_history(*, article: Article, limit: int = 50) -> list[AuditEvent]:
    """The article's most recent audit events, newest first, with their actors."""
    return list(
        AuditEvent.objects.filter(article=article)
        .select_related("actor", "revision")
        .order_by("-at", "-id")[:limit]
    )


def workspace_article(*, pk: int) -> Article:
    """One article with both revisions and the people shown on its pages."""
    return Article.objects.select_related(*_LIST_RELATED, "latest_revision__author").get(pk=pk)


#: How many sources the picker lists at once (in the editor, and per search).
PICKER_RESULTS = 50


def picker_sources(*, query: str = "", limit: int = PICKER_RESULTS) -> list[Source]:
    """Sources for the editor's picker: key, title, year and status only; ``query``
    searches them as the library page does (key, title, DOI, PMID, first author)."""
    sources = source_library(query=query)
    return list(sources.only("id", "key", "title", "issued", "status", "authors")[:limit])


def picker_page(*, query: str = "") -> dict:
    """The picker's first ``PICKER_RESULTS`` matches, and whether there are more (the
    editor then says to type more: it never lists a whole library)."""
    found = picker_sources(query=query, limit=PICKER_RESULTS + 1)
    return {"sources": found[:PICKER_RESULTS], "more": len(found) > PICKER_RESULTS}


def reviewer_rows(*, today=None) -> list[dict]:
    """Every reviewer profile with what blocks its signature ("" if nothing), one query."""
    today = today or timezone.localdate()
    profiles = ReviewerProfile.objects.select_related("user", "credentials_verified_by")
    return [
        {"profile": p, "problem": p.credential_problem(today)}
        for p in profiles.order_by("display_name", "user_id")
    ]


def pipeline(*, limit: int = 50) -> dict:
    """The managing editors' view of the whole pipeline, one query per stage.

    Submitted and in-review articles with their assigned reviewers (waiting longest
    first), overdue reviews, flagged live articles, and the reviewers who can be
    assigned.
    """
    from django.contrib.auth import get_user_model
    from django.db.models import Prefetch

    from reviewsite.roles import REVIEWERS

    assignments = Prefetch(
        "review_assignments",
        queryset=ReviewAssignment.objects.select_related("reviewer__reviewer_profile"),
    )
    listed = Article.objects.select_related(*_LIST_RELATED)
    in_flight = listed.prefetch_related(assignments).order_by(
        F("submitted_at").asc(nulls_last=True), "id"
    )
    flags = Q()
    for name, field in Article.FLAG_FIELDS.items():
        if name not in ("review_overdue", "review_due_soon"):
            flags |= Q(**{field: True})
    return {
        "submitted": list(in_flight.filter(status=S.SUBMITTED)[:limit]),
        "in_review": list(in_flight.filter(status=S.UNDER_REVIEW)[:limit]),
        "overdue": list(
            listed.filter(live_q(), flag_review_overdue=True).order_by("next_review_due")[:limit]
        ),
        "flagged": list(listed.filter(live_q()).filter(flags).order_by("-updated_at")[:limit]),
        "reviewers": list(
            get_user_model()
            .objects.filter(groups__name=REVIEWERS, is_active=True)
            .select_related("reviewer_profile")
            .order_by("username")
            .distinct()
        ),
    }


def credentials_expiring(*, today=None) -> list[ReviewerProfile]:
    """Verified credentials that run out within 30 days, soonest first."""
    today = today or timezone.localdate()
    return list(
        ReviewerProfile.objects.expiring(today=today, within_days=CREDENTIALS_EXPIRING_DAYS)
        .select_related("user")
        .order_by("credentials_expire_on", "user_id")
    )
