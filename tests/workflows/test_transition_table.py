"""Walk every (role × state × action) cell of PRODUCT.md's transition table."""

import itertools
from datetime import date

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.utils import timezone

from articles.models import Article, ReviewerProfile
from tests import factories
from tests.helpers import approval_kwargs, make_article
from workflows import services
from workflows.models import AuditEvent
from workflows.services import ActionForbidden, TransitionNotAllowed

# The table as PRODUCT.md states it, written out independently of workflows.transitions.
EXPECTED = {
    "submit": (
        {"draft", "changes_requested"},
        "submitted",
        {"owner", "editor", "managing_editor"},
    ),
    "withdraw": ({"submitted"}, "draft", {"owner", "managing_editor"}),
    "start-review": ({"submitted"}, "under_review", {"reviewer"}),
    "request-changes": ({"submitted", "under_review"}, "changes_requested", {"reviewer"}),
    "approve": ({"under_review"}, "approved", {"reviewer"}),
    "recertify": ({"approved"}, "approved", {"reviewer"}),
    "archive": (
        {"draft", "submitted", "under_review", "changes_requested", "approved"},
        "archived",
        {"managing_editor"},
    ),
    "restore": ({"archived"}, "draft", {"managing_editor"}),
    "edit": (
        {"draft", "changes_requested", "approved"},
        "draft",
        {"owner", "editor", "managing_editor"},
    ),
}
STATES = ["draft", "submitted", "under_review", "changes_requested", "approved", "archived"]
# "owner" is the editor who created the article; "editor" is another editor.
ROLES = ["reader", "owner", "editor", "reviewer", "managing_editor"]
SIGNED = ("approve", "recertify")


def _act(action, article, actor):
    if action == "edit":
        return services.article_edit(
            article_id=article.pk, actor=actor, changes={"body": "Revised text."}
        )
    signed = approval_kwargs() if action in SIGNED else {}
    return services.article_act(
        article_id=article.pk,
        action=action,
        actor=actor,
        **{**signed, "comment": "Checked against sources."},
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("role", "state", "action"), list(itertools.product(ROLES, STATES, EXPECTED))
)
def test_transition_table_cell(role, state, action):
    author = factories.editor(username="author")
    # The reviewer who moved the article along is also the one acting, which is allowed:
    # four-eyes concerns authorship, tested separately.
    people = {
        "reader": factories.UserFactory(username="plainreader"),
        "owner": author,
        "editor": factories.editor(username="othereditor"),
        "reviewer": factories.reviewer(username="rita"),
        "managing_editor": factories.managing_editor(username="mona"),
    }
    article = make_article(editor=author, reviewer=people["reviewer"], state=state)
    assert article.status == state
    sources, target, roles = EXPECTED[action]
    actor = people[role]
    events_before = AuditEvent.objects.filter(article=article).count()

    if role not in roles:
        with pytest.raises(ActionForbidden):
            _act(action, article, actor)
        outcome = "forbidden"
    elif state not in sources:
        with pytest.raises(TransitionNotAllowed) as error:
            _act(action, article, actor)
        assert error.value.extra["status"] == state
        assert action not in error.value.extra["allowed_actions"]
        outcome = "conflict"
    else:
        _act(action, article, actor)
        outcome = "done"

    article.refresh_from_db()
    event = AuditEvent.objects.filter(article=article).latest("id")
    assert AuditEvent.objects.filter(article=article).count() == events_before + 1
    assert event.action == action
    assert event.actor == actor
    if outcome == "done":
        assert article.status == target
        assert (event.from_status, event.to_status, event.refused) == (state, target, False)
    else:
        assert article.status == state
        assert event.refused is True
        assert event.reason


@pytest.mark.django_db
def test_request_changes_requires_a_comment(editor, reviewer):
    article = make_article(editor=editor, reviewer=reviewer, state="under_review")
    with pytest.raises(ValidationError) as error:
        services.article_request_changes(article_id=article.pk, actor=reviewer, comment=" ")
    assert "comment" in error.value.message_dict
    assert Article.objects.get(pk=article.pk).status == "under_review"
    assert AuditEvent.objects.filter(article=article, refused=True).count() == 1


CREDENTIAL_PROBLEMS = {
    "no_profile": "no reviewer profile",
    "unverified": "not been verified",
    "expired": "expired on 2026-01-31",
}


def _signer(problem: str, *, superuser: bool = False):
    user = (
        factories.UserFactory(username="sig", is_superuser=True)
        if superuser
        else factories.reviewer(username="sig", verified=problem != "unverified")
    )
    if superuser and problem != "no_profile":
        ReviewerProfile.objects.create(
            user=user,
            display_name="Dr Sig",
            credentials_verified_at=None if problem == "unverified" else timezone.now(),
        )
    if problem == "no_profile" and not superuser:
        ReviewerProfile.objects.filter(user=user).delete()
    if problem == "expired":
        ReviewerProfile.objects.filter(user=user).update(credentials_expire_on=date(2026, 1, 31))
    return type(user).objects.get(pk=user.pk)


@pytest.mark.django_db
@time_machine.travel("2026-03-01 09:00Z", tick=False)
@pytest.mark.parametrize("superuser", [False, True], ids=["reviewer", "superuser"])
@pytest.mark.parametrize("problem", list(CREDENTIAL_PROBLEMS))
@pytest.mark.parametrize(
    ("action", "state"),
    [("approve", "under_review"), *[("recertify", s) for s in ("approved", "draft")]],
)
def test_signing_needs_verified_unexpired_credentials_in_every_state(
    action, state, problem, superuser
):
    """The credential rule: 403 naming the problem, whatever the state, superusers too."""
    author = factories.editor(username="author")
    article = make_article(editor=author, reviewer=factories.reviewer(), state=state)
    signer = _signer(problem, superuser=superuser)
    with pytest.raises(ActionForbidden) as error:
        _act(action, article, signer)
    assert CREDENTIAL_PROBLEMS[problem] in error.value.detail
    event = AuditEvent.objects.filter(article=article).latest("id")
    assert (event.action, event.actor, event.refused) == (action, signer, True)
    assert CREDENTIAL_PROBLEMS[problem] in event.reason
    assert Article.objects.get(pk=article.pk).status == state
    assert action not in services.allowed_actions(state, signer, article)


@pytest.mark.django_db
def test_credentials_expiring_later_still_sign(editor, reviewer):
    article = make_article(editor=editor, reviewer=reviewer, state="under_review")
    ReviewerProfile.objects.filter(user=reviewer).update(credentials_expire_on=timezone.localdate())
    services.article_approve(article_id=article.pk, actor=reviewer, **approval_kwargs())
    assert Article.objects.get(pk=article.pk).status == "approved"
