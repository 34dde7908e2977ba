"""Walk every (role × state × action) cell of PRODUCT.md's transition table."""

import itertools

import pytest
from django.core.exceptions import ValidationError

from articles.models import Article
from tests import factories
from tests.helpers import make_article
from workflows import services
from workflows.models import AuditEvent
from workflows.services import ActionForbidden, TransitionNotAllowed

# The table as PRODUCT.md states it, written out independently of workflows.transitions.
EXPECTED = {
    "submit": ({"draft", "changes_requested"}, "submitted", {"editor", "managing_editor"}),
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
    "edit": ({"draft", "changes_requested", "approved"}, "draft", {"editor", "managing_editor"}),
}
STATES = ["draft", "submitted", "under_review", "changes_requested", "approved", "archived"]
ROLES = ["reader", "editor", "reviewer", "managing_editor"]


def _act(action, article, actor):
    if action == "edit":
        return services.article_edit(
            article_id=article.pk, actor=actor, changes={"body": "Revised text."}
        )
    return services.article_act(
        article_id=article.pk, action=action, actor=actor, comment="Checked against sources."
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
