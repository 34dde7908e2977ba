"""Every state change of an article: creation, edits, the review transitions, assignments.

Each transition locks the article row, checks the state against the one table in
``transitions``, applies the change, writes an audit event and queues notifications
after commit, all in one transaction. Refused attempts are audited too.
"""

from __future__ import annotations

from collections.abc import Callable

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from rest_framework import status as http

from articles.models import Article, ArticleRevision, RevisionCitation
from articles.services import (
    Content,
    revision_create,
    revision_refresh_citations,
    unique_slug,
    validate_content,
)
from citations.models import Source
from reviewsite.api import DomainError
from reviewsite.roles import REVIEWERS, is_editor, is_managing_editor, is_reviewer

from . import notifications
from .models import Approval, AuditEvent, ReviewAssignment
from .transitions import TRANSITIONS, Transition, allowed_actions, has_role

S = Article.Status


class TransitionNotAllowed(DomainError):
    """The action is not legal from the article's current state (HTTP 409)."""

    status_code = http.HTTP_409_CONFLICT


class ActionForbidden(DomainError):
    """The actor's role or relation to the revision forbids the action (HTTP 403)."""

    status_code = http.HTTP_403_FORBIDDEN


class PreconditionFailed(DomainError):
    """The client's If-Match no longer matches the article (HTTP 412)."""

    status_code = http.HTTP_412_PRECONDITION_FAILED


# --- audit -----------------------------------------------------------------------------


def _audit(*, article, actor, action, from_status, to_status, **fields) -> AuditEvent:
    return AuditEvent.objects.create(
        article=article,
        actor=actor if actor is not None and actor.is_authenticated else None,
        action=action,
        from_status=from_status,
        to_status=to_status,
        **fields,
    )


def _audit_refusal(
    article_id: int, actor, action: str, error: DomainError | ValidationError, comment: str = ""
) -> None:
    """Record a refused attempt; runs after the attempt's own transaction rolled back."""
    article = Article.objects.filter(pk=article_id).only("id", "status", "latest_revision").first()
    if article is None:
        return
    reason = error.detail if isinstance(error, DomainError) else "; ".join(error.messages)
    _audit(
        article=article,
        actor=actor,
        action=action,
        from_status=article.status,
        to_status=article.status,
        revision_id=article.latest_revision_id,
        comment=comment,
        refused=True,
        reason=reason[:2000],
    )


# --- the transition machinery ------------------------------------------------------------


def _contributors(article: Article, revision: ArticleRevision) -> set[int]:
    """Users who authored or edited ``revision``: authors of every revision since the live one."""
    after = 0
    if article.live_revision_id and article.live_revision_id != revision.pk:
        after = (
            ArticleRevision.objects.filter(pk=article.live_revision_id)
            .values_list("number", flat=True)
            .first()
            or 0
        )
    return set(
        ArticleRevision.objects.filter(
            article=article, number__gt=after, number__lte=revision.number
        ).values_list("author_id", flat=True)
    )


def _check(transition: Transition, article: Article, actor) -> None:
    # Role first: someone who may never take this action is forbidden (403) whatever
    # the state; someone who may, at the wrong moment, meets a conflict (409).
    if not has_role(actor, transition):
        roles = " or ".join(sorted(transition.roles))
        raise ActionForbidden(f"Only {roles} may {transition.action} an article.")
    if article.status not in transition.sources:
        raise TransitionNotAllowed(
            f"Cannot {transition.action} an article that is {article.status}.",
            status=article.status,
            allowed_actions=allowed_actions(article.status, actor),
        )


def _perform(
    action: str, article_id: int, actor, apply: Callable[[Article], tuple], *, comment: str = ""
) -> Article:
    """Lock, check, apply, audit, in one transaction; audit the refusal if refused."""
    transition = TRANSITIONS[action]
    try:
        with transaction.atomic():
            article = (
                Article.objects.select_for_update(of=("self",))
                .select_related("latest_revision", "live_revision")
                .get(pk=article_id)
            )
            _check(transition, article, actor)
            if transition.comment_required and not comment.strip():
                raise ValidationError({"comment": ["A comment is required to request changes."]})
            from_status = article.status
            revision, to_status = apply(article)
            article.status = to_status
            article.version = F("version") + 1
            article.save()
            article.refresh_from_db(fields=["version"])
            _audit(
                article=article,
                actor=actor,
                action=action,
                from_status=from_status,
                to_status=to_status,
                revision=revision,
                comment=comment,
            )
            return article
    except (DomainError, ValidationError) as error:
        _audit_refusal(article_id, actor, action, error, comment)
        raise


# --- creation and edits -----------------------------------------------------------------


@transaction.atomic
def article_create(
    *,
    actor,
    title: str,
    summary: str = "",
    body: str = "",
    intentional: dict | None = None,
    audience: str = Article.Audience.GENERAL,
    topic: str = "",
    variant_group: str = "",
    slug: str = "",
    review_interval_days: int | None = None,
    required_approvals: int = 1,
) -> Article:
    """Create an article with its first revision, as a draft (Editors, Managing editors)."""
    if not is_editor(actor):
        raise ActionForbidden("Only Editors or Managing editors may create articles.")
    if (review_interval_days is not None or required_approvals != 1) and not is_managing_editor(
        actor
    ):
        raise ActionForbidden("Only Managing editors may set review intervals or approvals.")
    content = Content(title=title, summary=summary, body=body, intentional=intentional or {})
    validate_content(content)
    _validate_settings(review_interval_days, required_approvals)
    if slug and Article.objects.filter(slug=slug).exists():
        raise ValidationError({"slug": ["An article with this slug already exists."]})
    article = Article.objects.create(
        slug=slug or unique_slug(title),
        audience=audience,
        topic=topic,
        variant_group=variant_group,
        owner=actor,
        review_interval_days=review_interval_days,
        required_approvals=required_approvals,
    )
    revision = revision_create(article=article, content=content, author=actor)
    article.save(update_fields=["latest_revision"])
    _audit(
        article=article,
        actor=actor,
        action="create",
        from_status="",
        to_status=S.DRAFT,
        revision=revision,
    )
    return article


def _validate_settings(review_interval_days, required_approvals) -> None:
    errors = {}
    if review_interval_days is not None and not (1 <= review_interval_days <= 3650):
        errors["review_interval_days"] = ["Give a number of days between 1 and 3650."]
    if required_approvals not in (1, 2):
        errors["required_approvals"] = ["Give 1 or 2."]
    if errors:
        raise ValidationError(errors)


_CONTENT_FIELDS = ("title", "summary", "body", "intentional_citations")
_META_FIELDS = ("audience", "topic", "variant_group")
_MANAGING_FIELDS = ("review_interval_days", "required_approvals")


def article_edit(*, article_id: int, actor, changes: dict, if_match: str | None = None) -> Article:
    """PATCH: a new working revision if the content changed; metadata on the article.

    Saving without any change creates no revision and changes no state. Editing an
    approved article makes a new working revision (draft) and leaves the live one.
    """
    transition = TRANSITIONS["edit"]
    try:
        with transaction.atomic():
            article = (
                Article.objects.select_for_update(of=("self",))
                .select_related("latest_revision", "live_revision")
                .get(pk=article_id)
            )
            if if_match is not None and if_match.strip() not in (article.etag, "*"):
                raise PreconditionFailed(
                    "The article changed since you read it; fetch it again.",
                    etag=article.etag,
                )
            if any(f in changes for f in _MANAGING_FIELDS):
                if not is_managing_editor(actor):
                    raise ActionForbidden(
                        "Only Managing editors may change review intervals or approvals."
                    )
            current = article.latest_revision
            content = Content(
                title=changes.get("title", current.title),
                summary=changes.get("summary", current.summary),
                body=changes.get("body", current.body),
                intentional=changes.get("intentional_citations", current.intentional_citations),
            )
            content_changed = current.content_hash != ArticleRevision.hash_content(
                title=content.title,
                summary=content.summary,
                body=content.body,
                intentional=content.intentional,
            )
            meta = {
                f: changes[f]
                for f in _META_FIELDS + _MANAGING_FIELDS
                if f in changes and getattr(article, f) != changes[f]
            }
            if not content_changed and not meta:
                if not has_role(actor, transition):
                    raise ActionForbidden("Only Editors or Managing editors may edit articles.")
                return article
            if content_changed:
                _check(transition, article, actor)
                validate_content(content)
            elif not (has_role(actor, transition) or is_managing_editor(actor)):
                raise ActionForbidden("Only Editors or Managing editors may edit articles.")
            if "review_interval_days" in meta or "required_approvals" in meta:
                _validate_settings(
                    meta.get("review_interval_days", article.review_interval_days),
                    meta.get("required_approvals", article.required_approvals),
                )
            from_status = article.status
            for field, value in meta.items():
                setattr(article, field, value)
            if "review_interval_days" in meta:
                article.next_review_due = article.compute_next_review_due()
            revision = None
            if content_changed:
                revision = revision_create(article=article, content=content, author=actor)
                article.status = S.DRAFT
                # Approvals of the previous revision no longer count: they bind to its hash.
            article.version = F("version") + 1
            article.save()
            article.refresh_from_db(fields=["version"])
            _audit(
                article=article,
                actor=actor,
                action="edit",
                from_status=from_status,
                to_status=article.status,
                revision=revision,
                comment=", ".join(sorted(set(changes) & set(_CONTENT_FIELDS + tuple(meta)))),
            )
            return article
    except (DomainError, ValidationError) as error:
        _audit_refusal(article_id, actor, "edit", error)
        raise


# --- the review transitions -------------------------------------------------------------


def _citation_problems(revision: ArticleRevision) -> dict:
    """Unresolved or malformed markers, and refused (retracted/withdrawn) citations."""
    problems = {}
    if revision.unresolved_markers:
        problems["markers"] = [
            {
                "marker": m.get("marker", ""),
                "key": m.get("key", ""),
                "position": m.get("position"),
                "line": m.get("line"),
                "column": m.get("column"),
                "error": m.get("error") or f"No source has the key {m.get('key')!r}.",
            }
            for m in revision.unresolved_markers
        ]
    refused = (
        RevisionCitation.objects.filter(
            revision=revision, source__status__in=Source.REFUSED_STATUSES, intentional_reason=""
        )
        .select_related("source")
        .order_by("number")
    )
    if refused:
        problems["citations"] = [
            {
                "number": c.number,
                "key": c.key,
                "source": c.source_id,
                "status": c.source.status,
                "error": (
                    f"Source {c.source.key!r} is {c.source.status}; cite it only on purpose, "
                    "with a reason in intentional_citations."
                ),
            }
            for c in refused
        ]
    return problems


def article_submit(*, article_id: int, actor, comment: str = "") -> Article:
    """draft / changes_requested → submitted; refuses unresolved or retracted citations."""

    def apply(article: Article) -> tuple:
        revision = article.latest_revision
        if revision.unresolved_markers:
            revision_refresh_citations(revision=revision)
        problems = _citation_problems(revision)
        if problems:
            raise _citation_error(problems)
        article.submitted_at = timezone.now()
        article.review_started_at = None
        notifications.on_submit(article=article, revision=revision, actor=actor)
        return revision, S.SUBMITTED

    return _perform("submit", article_id, actor, apply, comment=comment)


class CitationProblems(DomainError):
    """Submit refused: markers that resolve to nothing, or refused sources (HTTP 400)."""

    status_code = http.HTTP_400_BAD_REQUEST


def _citation_error(problems: dict) -> CitationProblems:
    count = sum(len(v) for v in problems.values())
    return CitationProblems(
        f"The article has {count} citation problem{'s' if count != 1 else ''}.", **problems
    )


def article_start_review(*, article_id: int, actor, comment: str = "") -> Article:
    """submitted → under_review (a reviewer who did not write the revision)."""

    def apply(article: Article) -> tuple:
        revision = article.latest_revision
        if actor.pk in _contributors(article, revision):
            raise ActionForbidden(
                "You wrote or edited this revision; another reviewer must review it."
            )
        article.review_started_at = timezone.now()
        ReviewAssignment.objects.get_or_create(
            article=article, reviewer=actor, defaults={"assigned_by": actor}
        )
        return revision, S.UNDER_REVIEW

    return _perform("start-review", article_id, actor, apply, comment=comment)


def article_request_changes(*, article_id: int, actor, comment: str = "") -> Article:
    """submitted / under_review → changes_requested, with the reviewer's comment."""

    def apply(article: Article) -> tuple:
        revision = article.latest_revision
        notifications.on_request_changes(
            article=article, revision=revision, actor=actor, comment=comment
        )
        return revision, S.CHANGES_REQUESTED

    return _perform("request-changes", article_id, actor, apply, comment=comment)


def article_approve(*, article_id: int, actor, comment: str = "") -> Article:
    """under_review → approved once enough distinct reviewers approved this exact content."""

    def apply(article: Article) -> tuple:
        revision = article.latest_revision
        if actor.pk in _contributors(article, revision):
            raise ActionForbidden(
                "You wrote or edited this revision; nobody may approve their own work."
            )
        # Approvals count within this review round (since the last submit) and bind to
        # the exact content hash of the revision under review.
        this_round = Approval.objects.filter(
            revision=revision,
            content_hash=revision.content_hash,
            at__gte=article.submitted_at,
        )
        if this_round.filter(reviewer=actor).exists():
            raise TransitionNotAllowed(
                "You have already approved this revision; another reviewer must approve it.",
                status=article.status,
                allowed_actions=allowed_actions(article.status, actor),
            )
        Approval.objects.create(
            article=article,
            revision=revision,
            content_hash=revision.content_hash,
            reviewer=actor,
            comment=comment,
        )
        approvals = this_round.values("reviewer").distinct().count()
        if approvals < article.required_approvals:
            return revision, S.UNDER_REVIEW
        _make_live(article, revision, actor)
        notifications.on_approve(article=article, revision=revision, actor=actor)
        return revision, S.APPROVED

    return _perform("approve", article_id, actor, apply, comment=comment)


def _make_live(article: Article, revision: ArticleRevision, actor) -> None:
    now = timezone.now()
    if article.live_revision is not None:
        previous_hash = article.live_revision.content_hash
    else:
        # Restored after archiving: compare with what readers last saw.
        previous_hash = (
            AuditEvent.objects.filter(
                article=article, action="approve", to_status=S.APPROVED, refused=False
            )
            .order_by("-id")
            .values_list("revision__content_hash", flat=True)
            .first()
        )
    if previous_hash != revision.content_hash:
        article.last_updated = now
    article.live_revision = revision
    article.live_submitted_at = article.submitted_at
    article.live_review_started_at = article.review_started_at
    article.last_reviewed = now
    article.last_reviewed_by = actor
    article.next_review_due = article.compute_next_review_due()
    article.flag_review_overdue = False
    article.flag_review_due_soon = False
    retracted, concern, corrected = live_citation_flags(revision)
    article.flag_citation_retracted = retracted
    article.flag_citation_concern = concern
    article.flag_citation_corrected = corrected


def live_citation_flags(revision: ArticleRevision) -> tuple[bool, bool, bool]:
    """(cites a retracted/withdrawn source, one under an expression of concern, a corrected
    one)."""
    statuses = set(
        RevisionCitation.objects.filter(revision=revision, intentional_reason="").values_list(
            "source__status", flat=True
        )
    )
    retracted = bool(statuses & {Source.Status.RETRACTED, Source.Status.WITHDRAWN})
    concern = Source.Status.EXPRESSION_OF_CONCERN in statuses
    return retracted, concern, Source.Status.CORRECTED in statuses


def article_recertify(*, article_id: int, actor, comment: str = "") -> Article:
    """approved → approved: the content is re-checked, last_reviewed moves, flags clear."""

    def apply(article: Article) -> tuple:
        revision = article.live_revision
        if actor.pk in _contributors(article, revision):
            raise ActionForbidden(
                "You wrote or edited this revision; another reviewer must re-certify it."
            )
        article.last_reviewed = timezone.now()
        article.last_reviewed_by = actor
        article.next_review_due = article.compute_next_review_due()
        article.flag_review_overdue = False
        article.flag_review_due_soon = False
        # A reviewer re-certifying vouches for the page again, but a retracted source
        # stays flagged until a revision that no longer cites it is approved.
        return revision, S.APPROVED

    return _perform("recertify", article_id, actor, apply, comment=comment)


def article_archive(*, article_id: int, actor, comment: str = "") -> Article:
    """any → archived: no longer served to readers."""
    return _perform(
        "archive", article_id, actor, lambda a: (a.latest_revision, S.ARCHIVED), comment=comment
    )


def article_restore(*, article_id: int, actor, comment: str = "") -> Article:
    """archived → draft: back to work; it must be approved again to be served."""

    def apply(article: Article) -> tuple:
        article.live_revision = None
        return article.latest_revision, S.DRAFT

    return _perform("restore", article_id, actor, apply, comment=comment)


ACTION_SERVICES = {
    "submit": article_submit,
    "start-review": article_start_review,
    "request-changes": article_request_changes,
    "approve": article_approve,
    "recertify": article_recertify,
    "archive": article_archive,
    "restore": article_restore,
}


def article_act(*, article_id: int, action: str, actor, comment: str = "") -> Article:
    """Run one API action by name."""
    return ACTION_SERVICES[action](article_id=article_id, actor=actor, comment=comment or "")


# --- assignments ---------------------------------------------------------------------------


@transaction.atomic
def article_assign_reviewers(*, article_id: int, reviewer_ids: list[int], actor) -> Article:
    """Replace the article's assigned reviewers (Managing editors)."""
    if not is_managing_editor(actor):
        raise ActionForbidden("Only Managing editors may assign reviewers.")
    article = Article.objects.select_for_update(of=("self",)).get(pk=article_id)
    users = list(
        get_user_model().objects.filter(pk__in=reviewer_ids, groups__name=REVIEWERS).distinct()
    )
    missing = set(reviewer_ids) - {u.pk for u in users}
    if missing:
        raise ValidationError(
            {"reviewers": [f"Not a reviewer: {', '.join(map(str, sorted(missing)))}."]}
        )
    ReviewAssignment.objects.filter(article=article).exclude(reviewer__in=users).delete()
    for user in users:
        ReviewAssignment.objects.get_or_create(
            article=article, reviewer=user, defaults={"assigned_by": actor}
        )
    Article.objects.filter(pk=article.pk).update(version=F("version") + 1)
    _audit(
        article=article,
        actor=actor,
        action="assign-reviewers",
        from_status=article.status,
        to_status=article.status,
        comment=", ".join(u.get_username() for u in users),
    )
    notifications.on_assign(article=article, reviewers=users, actor=actor)
    article.refresh_from_db()
    return article


def can_act(user) -> bool:
    """Whether the user holds any editorial role."""
    return is_editor(user) or is_reviewer(user) or is_managing_editor(user)
