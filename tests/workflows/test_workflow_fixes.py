"""The amended transition table: withdraw, interval changes, normalised content,
re-certification refused while a refused source is relied on; variants in step."""

import pytest
import time_machine
from django.urls import reverse

from articles.models import Article
from citations.services import source_set_status
from tests import factories
from tests.factories import SourceFactory
from tests.helpers import approval_kwargs, client_for, make_article
from workflows import services
from workflows.jobs import flag_stale_articles
from workflows.models import AuditEvent
from workflows.selectors import review_queue
from workflows.services import ActionForbidden

pytestmark = pytest.mark.django_db


def test_the_owner_withdraws_a_submission_back_to_draft_with_an_audit_event(editor):
    article = make_article(editor=editor, state="submitted")
    response = client_for(editor).post(
        f"/api/v1/articles/{article.pk}/withdraw/", {}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["status"] == "draft"
    event = AuditEvent.objects.filter(article=article).latest("id")
    assert (event.action, event.from_status, event.to_status, event.actor) == (
        "withdraw",
        "submitted",
        "draft",
        editor,
    )
    # And it can be submitted again.
    services.article_submit(article_id=article.pk, actor=editor)


def test_another_editor_may_not_withdraw_but_a_managing_editor_may(editor, managing_editor):
    article = make_article(editor=editor, state="submitted")
    with pytest.raises(ActionForbidden, match="owner"):
        services.article_withdraw(article_id=article.pk, actor=factories.editor())
    assert (
        "withdraw"
        not in client_for(factories.editor())
        .get(f"/api/v1/articles/{article.pk}/")
        .json()["allowed_actions"]
    )
    services.article_withdraw(article_id=article.pk, actor=managing_editor, comment="Hold.")
    assert Article.objects.get(pk=article.pk).status == "draft"


def test_the_owner_sees_a_withdraw_button_on_the_review_page(client, editor):
    article = make_article(editor=editor, state="submitted")
    client.force_login(editor)
    page = client.get(reverse("workflows:article-review", args=[article.pk])).content.decode()
    assert "Withdraw submission" in page


def test_an_interval_change_moves_the_due_date_and_flags_at_once_without_a_revision(
    editor, reviewer, managing_editor
):
    with time_machine.travel("2026-01-01 09:00Z", tick=False):
        article = make_article(editor=editor, reviewer=reviewer, state="approved")
    revisions = article.revisions.count()
    with time_machine.travel("2026-03-01 09:00Z", tick=False):
        services.article_edit(
            article_id=article.pk, actor=managing_editor, changes={"review_interval_days": 30}
        )
        article.refresh_from_db()
        assert article.next_review_due.date().isoformat() == "2026-01-31"
        assert article.flags == ["review_overdue"]
        assert article.revisions.count() == revisions
        assert article.live_revision_id == article.latest_revision_id
        # The sweep agrees: nothing left for it to change.
        assert flag_stale_articles(report=False).changed is False
        services.article_edit(
            article_id=article.pk, actor=managing_editor, changes={"review_interval_days": 80}
        )
        article.refresh_from_db()
        assert article.flags == ["review_due_soon"]
        services.article_edit(
            article_id=article.pk, actor=managing_editor, changes={"review_interval_days": 365}
        )
        article.refresh_from_db()
        assert article.flags == []


def test_content_with_crlf_or_trailing_spaces_is_the_same_content(editor):
    article = make_article(editor=editor, body="## Heading\n\nLine one.\nLine two.")
    version = article.version
    for body in (
        "## Heading\r\n\r\nLine one.\r\nLine two.\r\n",
        "## Heading  \r\r Line one.".replace(" Line", "Line") + "\rLine two.   \n\n",
    ):
        services.article_edit(article_id=article.pk, actor=editor, changes={"body": body})
    article.refresh_from_db()
    assert article.revisions.count() == 1
    assert article.version == version


def test_a_workspace_save_from_a_browser_with_crlf_creates_no_revision(
    client, editor, managing_editor
):
    article = make_article(editor=managing_editor, body="First line.\nSecond line.")
    client.force_login(managing_editor)
    response = client.post(
        reverse("workflows:article-edit", args=[article.pk]),
        {
            "title": article.title,
            "summary": "",
            "body": "First line.\r\nSecond line.\r\n",
            "audience": "general",
            "topic": "",
            "variant_group": "",
            "intentional_citations": "",
            "review_interval_days": "90",
            "required_approvals": "1",
            "etag": article.etag,
        },
        follow=True,
    )
    assert response.status_code == 200
    article.refresh_from_db()
    assert article.revisions.count() == 1
    assert article.review_interval_days == 90
    assert article.status == "draft"


def test_recertify_is_refused_with_409_while_relying_on_a_retracted_source(
    editor, reviewer, second_reviewer
):
    source = SourceFactory(key="wake")
    article = make_article(editor=editor, reviewer=reviewer, state="approved", body="[@wake]")
    source_set_status(source_id=source.pk, actor=reviewer, status="retracted", reason="Fraud")
    response = client_for(second_reviewer).post(
        f"/api/v1/articles/{article.pk}/recertify/", approval_kwargs(), format="json"
    )
    assert response.status_code == 409
    body = response.json()
    assert "wake (retracted)" in body["detail"]
    assert body["status"] == "approved" and body["sources"] == [source.pk]
    assert Article.objects.get(pk=article.pk).last_reviewed == article.last_reviewed
    assert AuditEvent.objects.filter(article=article, action="recertify", refused=True).exists()


def test_recertify_is_allowed_when_the_retracted_source_is_cited_on_purpose(
    editor, reviewer, second_reviewer
):
    source = SourceFactory(key="wake")
    source_set_status(source_id=source.pk, actor=reviewer, status="retracted", reason="Fraud")
    article = make_article(
        editor=editor,
        reviewer=reviewer,
        state="approved",
        body="[@wake]",
        intentional={"wake": "The example of a retraction."},
    )
    services.article_recertify(article_id=article.pk, actor=second_reviewer, **approval_kwargs())


def _pair(editor, reviewer):
    patients = make_article(
        editor=editor,
        reviewer=reviewer,
        state="approved",
        title="For patients",
        audience="patients",
        variant_group="axonal",
        body="Plain words.",
    )
    clinicians = make_article(
        editor=editor,
        reviewer=reviewer,
        state="approved",
        title="For clinicians",
        audience="clinicians",
        variant_group="axonal",
        body="Technical words.",
    )
    patients.refresh_from_db()
    return patients, clinicians


def test_a_changed_variant_flags_the_other_live_variants_until_they_are_reviewed(
    editor, reviewer, second_reviewer, client
):
    patients, clinicians = _pair(editor, reviewer)
    client.force_login(reviewer)
    # Approving the clinicians' version (first approval) flagged the patients' one.
    assert patients.flags == ["variant_changed"]
    assert clinicians.flags == []
    assert review_queue(user=reviewer).filter(pk=patients.pk).exists()
    dashboard = client.get(reverse("workflows:dashboard")).content.decode()
    section = dashboard[dashboard.index("Another version changed") :]
    assert "For patients" in section.split("</section>")[0]
    assert AuditEvent.objects.filter(article=patients, action="flag:variant_changed").exists()
    services.article_recertify(article_id=patients.pk, actor=second_reviewer, **approval_kwargs())
    patients.refresh_from_db()
    assert patients.flags == []
    # A new live revision of the patients' version flags the clinicians' one.
    services.article_edit(article_id=patients.pk, actor=editor, changes={"body": "New words."})
    services.article_submit(article_id=patients.pk, actor=editor)
    services.article_start_review(article_id=patients.pk, actor=reviewer)
    services.article_approve(article_id=patients.pk, actor=reviewer, **approval_kwargs())
    clinicians.refresh_from_db()
    assert clinicians.flags == ["variant_changed"]
    api = client_for(reviewer).get("/api/v1/review-queue/").json()
    assert clinicians.pk in [row["id"] for row in api["results"]]


def test_recertifying_unchanged_content_does_not_flag_the_variants(editor, reviewer):
    patients, clinicians = _pair(editor, reviewer)
    services.article_recertify(article_id=patients.pk, actor=reviewer, **approval_kwargs())
    clinicians.refresh_from_db()
    assert clinicians.flags == []
