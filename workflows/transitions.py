"""The one table of allowed moves: (action) -> from-states, target state, roles."""

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
    comment_required: bool = False


TRANSITIONS: dict[str, Transition] = {
    t.action: t
    for t in (
        Transition(
            "submit",
            frozenset({S.DRAFT, S.CHANGES_REQUESTED}),
            S.SUBMITTED,
            frozenset({EDITORS, MANAGING_EDITORS}),
        ),
        Transition(
            "start-review", frozenset({S.SUBMITTED}), S.UNDER_REVIEW, frozenset({REVIEWERS})
        ),
        Transition(
            "request-changes",
            frozenset({S.SUBMITTED, S.UNDER_REVIEW}),
            S.CHANGES_REQUESTED,
            frozenset({REVIEWERS}),
            comment_required=True,
        ),
        Transition("approve", frozenset({S.UNDER_REVIEW}), S.APPROVED, frozenset({REVIEWERS})),
        Transition("recertify", frozenset({S.APPROVED}), S.APPROVED, frozenset({REVIEWERS})),
        Transition(
            "archive",
            frozenset(set(S.values) - {S.ARCHIVED}),
            S.ARCHIVED,
            frozenset({MANAGING_EDITORS}),
        ),
        Transition("restore", frozenset({S.ARCHIVED}), S.DRAFT, frozenset({MANAGING_EDITORS})),
        Transition(
            "edit",
            frozenset({S.DRAFT, S.CHANGES_REQUESTED, S.APPROVED}),
            S.DRAFT,
            frozenset({EDITORS, MANAGING_EDITORS}),
        ),
    )
}

#: Actions reachable through POST /api/v1/articles/{id}/{action}/.
API_ACTIONS = tuple(a for a in TRANSITIONS if a != "edit")


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
