"""Every state change of an article: creation, edits, the review transitions, assignments.

Each transition locks the article row, checks the state against the one table in
``transitions``, applies the change, writes an audit event and queues notifications
after commit, all in one transaction. Refused attempts are audited too.
"""

from __future__ import annotations

from collections.abc import Callable, Collection

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from articles import page_cache
from articles.models import (
    Article,
    ArticleRevision,
    ReviewerProfile,
    RevisionCitation,
    live_q,
    reviewer_credential_problem,
)
from articles.services import (
    Content,
    content_hash,
    revision_create,
    revision_refresh_citations,
    unique_slug,
    validate_content,
)
from citations.models import Source
from reviewsite import errors
from reviewsite.errors import ActionForbidden, DomainError, TransitionNotAllowed
from reviewsite.roles import REVIEWERS, is_editor, is_managing_editor

from . import notifications
from .jobs import review_flags
from .models import Approval, AuditEvent, ReviewAssignment
from .review_record import review_record
from .transitions import (
    API_ACTIONS,
    TRANSITIONS,
    Transition,
    allowed_actions,
    has_role,
    owner_problem,
)

S = Article.Status


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


def _four_eyes_revision(transition: Transition, article: Article) -> ArticleRevision | None:
    # Re-certifying vouches for what readers see; every other review action for the
    # revision under review.
    return article.live_revision if transition.action == "recertify" else article.latest_revision


def _check(transition: Transition, article: Article, actor) -> None:
    # Role first: someone who may never take this action is forbidden (403) whatever
    # the state; someone who may, at the wrong moment, meets a conflict (409).
    if not has_role(actor, transition):
        roles = " or ".join(sorted(transition.roles))
        raise ActionForbidden(f"Only {roles} may {transition.action} an article.")
    problem = owner_problem(actor, transition, article)
    if problem:
        raise ActionForbidden(problem)
    if transition.credentials:
        # Read fresh: a managing editor may have verified (or revoked) them meanwhile.
        problem = reviewer_credential_problem(actor, profile=_profile(actor))
        if problem:
            raise ActionForbidden(f"You may not {transition.action}: {problem}")
    if article.status not in transition.sources:
        raise TransitionNotAllowed(
            f"Cannot {transition.action} an article that is {article.status}.",
            status=article.status,
            allowed_actions=allowed_actions(article.status, actor, article),
        )
    if blocked_by_four_eyes(transition.action, article, actor):
        raise ActionForbidden(
            f"You wrote or edited this revision; nobody may {transition.four_eyes} "
            "their own work, so another reviewer must."
        )


def blocked_by_four_eyes(action: str, article: Article, actor) -> bool:
    """Whether four-eyes forbids ``actor`` this action on ``article``: the one check,
    used to refuse the action and to leave its button out."""
    transition = TRANSITIONS[action]
    revision = _four_eyes_revision(transition, article) if transition.four_eyes else None
    return revision is not None and actor.pk in _contributors(article, revision)


def _profile(actor) -> ReviewerProfile | None:
    return (
        ReviewerProfile.objects.filter(user_id=actor.pk)
        .select_related("credentials_verified_by")
        .first()
    )


def _lock(article_id: int) -> Article:
    """Lock the article's row, then read it with its revisions in a second statement.

    On PostgreSQL a ``SELECT ... FOR UPDATE`` that waited for another transaction
    re-reads the locked row only: rows it joins come from the statement's older
    snapshot, so a revision the other transaction created was missing
    (``latest_revision`` came back None). A new statement sees everything committed.
    """
    if not Article.objects.select_for_update().filter(pk=article_id).values_list("pk"):
        raise Article.DoesNotExist(f"No article {article_id}.")
    return Article.objects.select_related("latest_revision", "live_revision").get(pk=article_id)


#: What ``apply`` returns: the revision acted on and the new status, or None for "no change".
Applied = tuple[ArticleRevision | None, str] | None


def _perform(
    action: str,
    article_id: int,
    actor,
    apply: Callable[[Article], Applied],
    *,
    comment: str = "",
    precondition: Callable[[Article], None] | None = None,
    audit_comment: Callable[[], str] | None = None,
) -> Article:
    """Lock, check, apply, audit, in one transaction; audit the refusal if refused.

    ``precondition`` runs on the locked row before the table is consulted (the
    edit's If-Match check); ``apply`` returning None means nothing changed: no
    save, no audit, no new version.
    """
    transition = TRANSITIONS[action]
    try:
        with transaction.atomic():
            article = _lock(article_id)
            if precondition is not None:
                precondition(article)
            _check(transition, article, actor)
            if transition.comment_required and not comment.strip():
                raise ValidationError({"comment": ["A comment is required to request changes."]})
            from_status = article.status
            applied = apply(article)
            if applied is None:
                return article
            revision, to_status = applied
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
                comment=comment if audit_comment is None else audit_comment(),
            )
            return article
    except (DomainError, ValidationError) as error:
        _audit_refusal(article_id, actor, action, error, comment)
        raise


# --- creation and edits -----------------------------------------------------------------


#: Each lost race costs one attempt; far more than simultaneous creates of one title.
_SLUG_ATTEMPTS = 20


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
    content = Content(
        title=title,
        summary=summary,
        body=body,
        intentional=intentional or {},
        audience=audience,
        topic=topic,
        variant_group=variant_group,
    ).normalized()
    validate_content(content)
    _validate_settings(review_interval_days, required_approvals)
    taken = ValidationError({"slug": ["An article with this slug already exists."]})
    if slug and Article.objects.filter(slug=slug).exists():
        raise taken
    for attempt in range(_SLUG_ATTEMPTS):
        try:
            # A savepoint: a concurrent create that took the slug first fails only this
            # INSERT, and the next attempt sees its slug and picks the next free one.
            with transaction.atomic():
                article = Article.objects.create(
                    slug=slug or unique_slug(title),
                    audience=audience,
                    topic=topic,
                    variant_group=variant_group,
                    owner=actor,
                    review_interval_days=review_interval_days,
                    required_approvals=required_approvals,
                )
            break
        except IntegrityError:
            if slug or attempt == _SLUG_ATTEMPTS - 1:
                raise taken
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


_META_FIELDS = ArticleRevision.METADATA_FIELDS
_MANAGING_FIELDS = ("review_interval_days", "required_approvals")


def article_edit(
    *,
    article_id: int,
    actor,
    changes: dict,
    expected_version: int | Collection[int] | None = None,
) -> Article:
    """PATCH: a new working revision if the content changed; metadata on the article.

    ``expected_version`` is the version the caller read (or any of several); a
    different current version is refused, so a concurrent edit is never
    overwritten. Saving without any change creates no revision and changes no
    state. Editing an approved article makes a new working revision (draft) and
    leaves the live one.
    """
    if isinstance(expected_version, int):
        expected_version = (expected_version,)

    def precondition(article: Article) -> None:
        if expected_version is not None and article.version not in expected_version:
            raise errors.PreconditionFailed(
                "The article changed since you read it; fetch it again.",
                etag=article.etag,
            )
        if any(f in changes for f in _MANAGING_FIELDS) and not is_managing_editor(actor):
            raise ActionForbidden("Only Managing editors may change review intervals or approvals.")

    changed_fields: list[str] = []

    def apply(article: Article) -> Applied:
        current = article.latest_revision
        content = Content(
            title=changes.get("title", current.title),
            summary=changes.get("summary", current.summary),
            body=changes.get("body", current.body),
            intentional=changes.get("intentional_citations", current.intentional_citations),
            **{f: changes.get(f, getattr(current, f)) for f in _META_FIELDS},
        ).normalized()
        # Compared after normalising line endings and trailing whitespace on both sides
        # (a browser that sends the same text with CRLF changes nothing); content_hash
        # covers the files of the figures shown, so a replaced image is a change.
        before = Content(
            title=current.title,
            summary=current.summary,
            body=current.body,
            intentional=current.intentional_citations,
            **current.metadata,
        ).normalized()
        content_changed = content != before or current.content_hash != content_hash(content)
        settings_changed = {
            f: changes[f]
            for f in _MANAGING_FIELDS
            if f in changes and getattr(article, f) != changes[f]
        }
        if not content_changed and not settings_changed:
            return None
        if content_changed:
            validate_content(content)
        if settings_changed:
            _validate_settings(
                settings_changed.get("review_interval_days", article.review_interval_days),
                settings_changed.get("required_approvals", article.required_approvals),
            )
        for field, value in settings_changed.items():
            setattr(article, field, value)
        if "review_interval_days" in settings_changed:
            # Not a content change: the due date and the review flags move at once.
            article.next_review_due = article.compute_next_review_due()
            overdue, due_soon = review_flags(article, now=timezone.now())
            for name, wanted in (("review_overdue", overdue), ("review_due_soon", due_soon)):
                field = Article.FLAG_FIELDS[name]
                if getattr(article, field) != wanted:
                    setattr(article, field, wanted)
                    # Audited like the sweep's own flag changes.
                    _audit(
                        article=article,
                        actor=actor,
                        action=f"{'flag' if wanted else 'unflag'}:{name}",
                        from_status=article.status,
                        to_status=article.status,
                        revision_id=article.live_revision_id,
                        comment="Review interval changed to "
                        f"{article.effective_review_interval_days} days.",
                    )
        # The history names what changed, not every field the form sent back.
        fields_before = {
            "title": before.title,
            "summary": before.summary,
            "body": before.body,
            "intentional_citations": before.intentional,
            **before.metadata,
        }
        fields_after = {
            "title": content.title,
            "summary": content.summary,
            "body": content.body,
            "intentional_citations": content.intentional,
            **content.metadata,
        }
        changed_fields.extend(
            sorted(
                {f for f in fields_before if f in changes and fields_after[f] != fields_before[f]}
                | set(settings_changed)
            )
        )
        if not content_changed:
            return None, article.status
        if not article.is_live:
            # Nothing is served yet: the article's own fields follow the working copy.
            _copy_metadata(content.metadata, article)
        # Approvals of the previous revision no longer count: they bind to its hash.
        return revision_create(article=article, content=content, author=actor), S.DRAFT

    return _perform(
        "edit",
        article_id,
        actor,
        apply,
        precondition=precondition,
        audit_comment=lambda: ", ".join(changed_fields),
    )


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
        RevisionCitation.objects.relying_on_refused()
        .filter(revision=revision)
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


class CitationProblems(errors.InvalidInput):
    """Submit refused: markers that resolve to nothing, or refused sources."""


def _citation_error(problems: dict) -> CitationProblems:
    count = sum(len(v) for v in problems.values())
    return CitationProblems(
        f"The article has {count} citation problem{'s' if count != 1 else ''}.", **problems
    )


def article_start_review(*, article_id: int, actor, comment: str = "") -> Article:
    """submitted → under_review (a reviewer who did not write the revision)."""

    def apply(article: Article) -> tuple:
        revision = article.latest_revision
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


def _sign(
    article: Article,
    revision: ArticleRevision,
    actor,
    kind: str,
    *,
    comment: str,
    checklist: dict | None,
    conflict_of_interest: dict | None,
) -> Approval:
    """Record what a reviewer signs (approval or re-certification): the checklist, the
    declaration, their credentials and the cited sources' state, bound to the content."""
    record = review_record(
        article=article,
        revision=revision,
        profile=_profile(actor),
        checklist=checklist,
        conflict_of_interest=conflict_of_interest,
    )
    return Approval.objects.create(
        article=article,
        revision=revision,
        content_hash=revision.content_hash,
        reviewer=actor,
        comment=comment,
        kind=kind,
        **record.as_fields(),
    )


def article_approve(
    *,
    article_id: int,
    actor,
    comment: str = "",
    checklist: dict | None = None,
    conflict_of_interest: dict | None = None,
) -> Article:
    """under_review → approved once enough distinct reviewers approved this exact content.

    The reviewer confirms the checklist and declares conflicts of interest; both are
    stored on the approval with their credentials and the cited sources' state now.
    """

    def apply(article: Article) -> tuple:
        revision = article.latest_revision
        # Approvals count within this review round (since the last submit) and bind to
        # the exact content hash of the revision under review.
        this_round = Approval.objects.filter(
            revision=revision,
            content_hash=revision.content_hash,
            kind=Approval.Kind.APPROVAL,
            at__gte=article.submitted_at,
        )
        if this_round.filter(reviewer=actor).exists():
            raise TransitionNotAllowed(
                "You have already approved this revision; another reviewer must approve it.",
                status=article.status,
                allowed_actions=allowed_actions(article.status, actor, article),
            )
        _sign(
            article,
            revision,
            actor,
            Approval.Kind.APPROVAL,
            comment=comment,
            checklist=checklist,
            conflict_of_interest=conflict_of_interest,
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
        _flag_other_variants(article, actor, now)
    article.live_revision = revision
    # Readers filter and group by the article's fields: they take the approved values.
    _copy_metadata(revision.metadata, article)
    article.flag_variant_changed = False
    article.review_declarations = _declarations(
        Approval.objects.filter(
            revision=revision,
            content_hash=revision.content_hash,
            kind=Approval.Kind.APPROVAL,
            at__gte=article.submitted_at,
        )
    )
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


def _copy_metadata(metadata: dict, article: Article) -> None:
    for field, value in metadata.items():
        setattr(article, field, value)


def _declarations(approvals) -> list[dict]:
    """What readers see of the conflict-of-interest declarations behind the live page."""
    return [
        {
            "reviewer": a.credentials.get("display_name") or a.reviewer.get_username(),
            "declared": bool(a.conflict_of_interest.get("declared")),
            "statement": a.conflict_of_interest.get("statement", ""),
        }
        for a in approvals.select_related("reviewer").order_by("at", "id")
    ]


def _flag_other_variants(article: Article, actor, now) -> None:
    """The live content changed: the other live variants of its group need a look."""
    if not article.variant_group:
        return
    others = (
        Article.objects.filter(live_q(), variant_group=article.variant_group)
        .exclude(pk=article.pk)
        .filter(flag_variant_changed=False)
    )
    flagged = list(others.values_list("pk", "status", "live_revision_id"))
    if not flagged:
        return
    Article.objects.filter(pk__in=[pk for pk, _, _ in flagged]).update(
        flag_variant_changed=True, version=F("version") + 1
    )
    AuditEvent.objects.bulk_create(
        AuditEvent(
            article_id=pk,
            actor=actor,
            action="flag:variant_changed",
            from_status=status,
            to_status=status,
            revision_id=live,
            comment=f"The live content of {article.slug} ({article.get_audience_display()}) "
            "changed; check this variant says the same.",
        )
        for pk, status, live in flagged
    )


def live_citation_flags(revision: ArticleRevision) -> tuple[bool, bool, bool]:
    """(cites a retracted/withdrawn source, one under an expression of concern, a corrected
    one)."""
    statuses = set(
        RevisionCitation.objects.relied_on()
        .filter(revision=revision)
        .values_list("source__status", flat=True)
    )
    return (
        bool(statuses & set(Source.REFUSED_STATUSES)),
        Source.Status.EXPRESSION_OF_CONCERN in statuses,
        Source.Status.CORRECTED in statuses,
    )


def article_recertify(
    *,
    article_id: int,
    actor,
    comment: str = "",
    checklist: dict | None = None,
    conflict_of_interest: dict | None = None,
) -> Article:
    """approved → approved: the content is re-checked, last_reviewed moves, flags clear.

    Refused (409) while the live revision relies on a retracted or withdrawn source
    that is not cited on purpose: that needs a changed revision and an approval.
    """

    def apply(article: Article) -> tuple:
        revision = article.live_revision
        refused = list(
            RevisionCitation.objects.relying_on_refused()
            .filter(revision=revision)
            .select_related("source")
            .order_by("number")
        )
        if refused:
            cited = ", ".join(f"[{c.number}] {c.source.key} ({c.source.status})" for c in refused)
            raise TransitionNotAllowed(
                f"The live revision relies on {cited}; re-certifying would vouch for it. "
                "Edit the article to drop or replace the source (or mark it intentional "
                "with a reason) and approve the new revision.",
                status=article.status,
                allowed_actions=allowed_actions(article.status, actor, article),
                sources=[c.source_id for c in refused],
            )
        recertification = _sign(
            article,
            revision,
            actor,
            Approval.Kind.RECERTIFICATION,
            comment=comment,
            checklist=checklist,
            conflict_of_interest=conflict_of_interest,
        )
        article.review_declarations = _declarations(Approval.objects.filter(pk=recertification.pk))
        article.flag_variant_changed = False
        article.last_reviewed = timezone.now()
        article.last_reviewed_by = actor
        article.next_review_due = article.compute_next_review_due()
        article.flag_review_overdue = False
        article.flag_review_due_soon = False
        return revision, S.APPROVED

    return _perform("recertify", article_id, actor, apply, comment=comment)


def article_withdraw(*, article_id: int, actor, comment: str = "") -> Article:
    """submitted → draft: the owner (or a managing editor) takes a submission back."""

    def apply(article: Article) -> tuple:
        article.submitted_at = None
        article.review_started_at = None
        return article.latest_revision, S.DRAFT

    return _perform("withdraw", article_id, actor, apply, comment=comment)


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


_SERVICES = {
    "submit": article_submit,
    "withdraw": article_withdraw,
    "start-review": article_start_review,
    "request-changes": article_request_changes,
    "approve": article_approve,
    "recertify": article_recertify,
    "archive": article_archive,
    "restore": article_restore,
}
#: The service behind each API action of the table (a KeyError at import if one is missing).
ACTION_SERVICES = {action: _SERVICES[action] for action in API_ACTIONS}


#: Actions whose reviewer signs a review record (checklist, conflict of interest).
SIGNED_ACTIONS = frozenset(a for a, t in TRANSITIONS.items() if t.credentials)


def article_act(
    *,
    article_id: int,
    action: str,
    actor,
    comment: str = "",
    checklist: dict | None = None,
    conflict_of_interest: dict | None = None,
) -> Article:
    """Run one API action by name; approve and recertify take the review record."""
    service = ACTION_SERVICES[action]
    if action in SIGNED_ACTIONS:
        return service(
            article_id=article_id,
            actor=actor,
            comment=comment or "",
            checklist=checklist,
            conflict_of_interest=conflict_of_interest,
        )
    return service(article_id=article_id, actor=actor, comment=comment or "")


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
    page_cache.pages_changed()  # a queryset update sends no model signal
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
