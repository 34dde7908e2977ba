"""The one table of allowed moves: action -> from-states, target state, roles, and how
the workspace and the API present it. Every list of actions derives from it."""

from __future__ import annotations

from dataclasses import dataclass

from articles.models import Article
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


def allowed_actions(status: str, user=None) -> list[str]:
    """Actions legal from ``status``, for ``user`` if given (four-eyes is checked later)."""
    return [
        t.action
        for t in TRANSITIONS.values()
        if status in t.sources and (user is None or has_role(user, t))
    ]


def allowed_api_actions(status: str, user=None) -> list[str]:
    """The API actions (buttons) legal from ``status`` for ``user``."""
    return [a for a in allowed_actions(status, user) if TRANSITIONS[a].api]
