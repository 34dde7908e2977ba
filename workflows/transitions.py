"""The one table of allowed moves: action -> from-states, target state, roles, and how
the workspace and the API present it. Every list of actions derives from it."""

from __future__ import annotations

from dataclasses import dataclass

from articles.models import Article, reviewer_credential_problem
from reviewsite.roles import EDITORS, MANAGING_EDITORS, REVIEWERS, holds_any

S = Article.Status


@dataclass(frozen=True)
class Transition:
    """One row of the table."""

    action: str
    sources: frozenset[str]
    target: str
    roles: frozenset[str]
    #: The workspace button's label; None for moves that are not a button (edit).
    label: str | None
    comment_required: bool = False
    #: Four-eyes: what nobody may do to a revision they wrote or edited ("" = no rule).
    four_eyes: str = ""
    #: Signing a review: the actor needs verified, unexpired credentials (superusers too).
    credentials: bool = False
    #: Roles that may act on any article; holders of the other roles only on their own.
    any_article: frozenset[str] | None = None

    @property
    def api(self) -> bool:
        """Whether POST /api/v1/articles/{id}/{action}/ runs it (edit is a PATCH)."""
        return self.label is not None


TRANSITIONS: dict[str, Transition] = {
    t.action: t
    for t in (
        Transition(
            "submit",
            frozenset({S.DRAFT, S.CHANGES_REQUESTED}),
            S.SUBMITTED,
            frozenset({EDITORS, MANAGING_EDITORS}),
            label="Submit for review",
        ),
        Transition(
            "withdraw",
            frozenset({S.SUBMITTED}),
            S.DRAFT,
            frozenset({EDITORS, MANAGING_EDITORS}),
            label="Withdraw submission",
            any_article=frozenset({MANAGING_EDITORS}),
        ),
        Transition(
            "start-review",
            frozenset({S.SUBMITTED}),
            S.UNDER_REVIEW,
            frozenset({REVIEWERS}),
            label="Start review",
            four_eyes="review",
        ),
        Transition(
            "approve",
            frozenset({S.UNDER_REVIEW}),
            S.APPROVED,
            frozenset({REVIEWERS}),
            label="Approve",
            four_eyes="approve",
            credentials=True,
        ),
        Transition(
            "request-changes",
            frozenset({S.SUBMITTED, S.UNDER_REVIEW}),
            S.CHANGES_REQUESTED,
            frozenset({REVIEWERS}),
            label="Request changes",
            comment_required=True,
            four_eyes="request changes on",
        ),
        Transition(
            "recertify",
            frozenset({S.APPROVED}),
            S.APPROVED,
            frozenset({REVIEWERS}),
            label="Re-certify (content unchanged)",
            four_eyes="re-certify",
            credentials=True,
        ),
        Transition(
            "archive",
            frozenset(set(S.values) - {S.ARCHIVED}),
            S.ARCHIVED,
            frozenset({MANAGING_EDITORS}),
            label="Archive",
        ),
        Transition(
            "restore",
            frozenset({S.ARCHIVED}),
            S.DRAFT,
            frozenset({MANAGING_EDITORS}),
            label="Restore as draft",
        ),
        Transition(
            "edit",
            frozenset({S.DRAFT, S.CHANGES_REQUESTED, S.APPROVED}),
            S.DRAFT,
            frozenset({EDITORS, MANAGING_EDITORS}),
            label=None,
        ),
    )
}

#: Actions reachable through POST /api/v1/articles/{id}/{action}/, in table order.
API_ACTIONS = tuple(t.action for t in TRANSITIONS.values() if t.api)
#: The workspace's button labels, in the order the buttons are shown.
ACTION_LABELS = {t.action: t.label for t in TRANSITIONS.values() if t.api}


def has_role(user, transition: Transition) -> bool:
    """Whether the user's groups allow the action (superusers hold every role)."""
    return holds_any(user, transition.roles)


def owner_problem(user, transition: Transition, article) -> str:
    """Why ``user`` may not take an owner-only action on ``article`` ("" when they may)."""
    if transition.any_article is None or holds_any(user, transition.any_article):
        return ""
    if article.owner_id == getattr(user, "pk", None):
        return ""
    roles = " or ".join(sorted(transition.any_article))
    return f"Only the article's owner or {roles} may {transition.action} it."


def may_act(user, transition: Transition, article=None) -> bool:
    """Role, owner and credential rules for offering an action (four-eyes comes later)."""
    if not has_role(user, transition):
        return False
    if article is not None and owner_problem(user, transition, article):
        return False
    return not (transition.credentials and reviewer_credential_problem(user))


def allowed_actions(status: str, user=None, article=None) -> list[str]:
    """Actions legal from ``status``, for ``user`` (on ``article``) if given."""
    return [
        t.action
        for t in TRANSITIONS.values()
        if status in t.sources and (user is None or may_act(user, t, article))
    ]


def allowed_api_actions(status: str, user=None, article=None) -> list[str]:
    """The API actions (buttons) legal from ``status`` for ``user``."""
    return [a for a in allowed_actions(status, user, article) if TRANSITIONS[a].api]
