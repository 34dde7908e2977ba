"""Workflow services: four-eyes approval, two-reviewer approval, dates, live revisions."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from articles.models import Article
from tests import factories
from tests.helpers import approval_kwargs, client_for, make_article
from workflows import services
from workflows.models import Approval, AuditEvent
from workflows.services import ActionForbidden, TransitionNotAllowed

pytestmark = pytest.mark.django_db


def _reviewer_who_also_edits(username):
    user = factories.reviewer(username=username)
    user.groups.add(*factories.editor(username=f"{username}-e").groups.all())
    return user


def test_approve_refuses_the_revision_author_even_when_a_reviewer(reviewer):
    author = _reviewer_who_also_edits("dual")
    article = make_article(editor=author, reviewer=reviewer, state="under_review")
    with pytest.raises(ActionForbidden):
        services.article_approve(article_id=article.pk, actor=author, **approval_kwargs())
    assert Article.objects.get(pk=article.pk).status == "under_review"
    assert AuditEvent.objects.filter(article=article, action="approve", refused=True).exists()


def test_approve_refuses_a_superuser_who_authored_the_revision(reviewer):
    boss = factories.UserFactory(username="boss", is_superuser=True, is_staff=True)
    article = make_article(editor=boss, reviewer=reviewer, state="under_review")
    with pytest.raises(ActionForbidden):
        services.article_approve(article_id=article.pk, actor=boss, **approval_kwargs())


def test_approve_refuses_anyone_who_edited_an_earlier_working_revision(editor, reviewer):
    helper = _reviewer_who_also_edits("helper")
    article = make_article(editor=editor)
    services.article_edit(article_id=article.pk, actor=helper, changes={"body": "Helped."})
    services.article_edit(article_id=article.pk, actor=editor, changes={"body": "Final."})
    services.article_submit(article_id=article.pk, actor=editor)
    services.article_start_review(article_id=article.pk, actor=reviewer)
    with pytest.raises(ActionForbidden):
        services.article_approve(article_id=article.pk, actor=helper, **approval_kwargs())
    services.article_approve(article_id=article.pk, actor=reviewer, **approval_kwargs())


def test_start_review_refuses_the_author():
    author = _reviewer_who_also_edits("dual")
    article = make_article(editor=author)
    services.article_submit(article_id=article.pk, actor=author)
    with pytest.raises(ActionForbidden):
        services.article_start_review(article_id=article.pk, actor=author)


def test_two_required_approvals_need_two_distinct_reviewers(
    editor, reviewer, second_reviewer, managing_editor
):
    article = services.article_create(
        actor=managing_editor, title="Two sets of eyes", body="Text.", required_approvals=2
    )
    services.article_submit(article_id=article.pk, actor=managing_editor)
    services.article_start_review(article_id=article.pk, actor=reviewer)
    first = services.article_approve(article_id=article.pk, actor=reviewer, **approval_kwargs())
    assert first.status == "under_review"
    assert first.live_revision_id is None
    with pytest.raises(TransitionNotAllowed):
        services.article_approve(article_id=article.pk, actor=reviewer, **approval_kwargs())
    second = services.article_approve(
        article_id=article.pk, actor=second_reviewer, **approval_kwargs()
    )
    assert second.status == "approved"
    assert Approval.objects.filter(article=article).count() == 2


def test_approvals_of_an_earlier_revision_do_not_count(
    editor, reviewer, second_reviewer, managing_editor
):
    article = services.article_create(
        actor=managing_editor, title="Bound to content", body="One.", required_approvals=2
    )
    services.article_submit(article_id=article.pk, actor=managing_editor)
    services.article_start_review(article_id=article.pk, actor=reviewer)
    services.article_approve(article_id=article.pk, actor=reviewer, **approval_kwargs())
    services.article_request_changes(article_id=article.pk, actor=second_reviewer, comment="Fix.")
    services.article_edit(article_id=article.pk, actor=managing_editor, changes={"body": "Two."})
    services.article_submit(article_id=article.pk, actor=managing_editor)
    services.article_start_review(article_id=article.pk, actor=second_reviewer)
    after_one = services.article_approve(
        article_id=article.pk, actor=second_reviewer, **approval_kwargs()
    )
    assert after_one.status == "under_review"


def test_approval_sets_review_dates_and_next_review_due(editor, reviewer):
    with time_machine.travel("2026-01-10 09:00Z", tick=False):
        article = make_article(editor=editor, reviewer=reviewer, state="approved")
    now = timezone.now().replace(year=2026, month=1, day=10, hour=9, minute=0, second=0,
                                 microsecond=0)  # fmt: skip
    assert article.last_reviewed == now
    assert article.last_updated == now
    assert article.next_review_due == now + timedelta(days=365)
    assert article.last_reviewed_by == reviewer


def test_recertify_moves_last_reviewed_but_not_last_updated(editor, reviewer, second_reviewer):
    with time_machine.travel("2026-01-10 09:00Z", tick=False):
        article = make_article(editor=editor, reviewer=reviewer, state="approved")
    Article.objects.filter(pk=article.pk).update(flag_review_overdue=True)
    with time_machine.travel("2027-02-01 09:00Z", tick=False):
        services.article_recertify(
            article_id=article.pk, actor=second_reviewer, **approval_kwargs(comment="OK")
        )
        recertified = Article.objects.get(pk=article.pk)
        assert recertified.last_reviewed == timezone.now()
    assert recertified.last_updated == article.last_updated
    assert recertified.flags == []
    assert recertified.next_review_due == recertified.last_reviewed + timedelta(days=365)
    assert recertified.live_revision_id == article.live_revision_id


def test_approving_unchanged_content_again_does_not_move_last_updated(editor, reviewer):
    with time_machine.travel("2026-01-10 09:00Z", tick=False):
        article = make_article(editor=editor, reviewer=reviewer, state="approved", title="T")
    services.article_archive(article_id=article.pk, actor=factories.managing_editor())
    services.article_restore(article_id=article.pk, actor=factories.managing_editor())
    with time_machine.travel("2026-06-10 09:00Z", tick=False):
        services.article_submit(article_id=article.pk, actor=editor)
        services.article_start_review(article_id=article.pk, actor=reviewer)
        again = services.article_approve(article_id=article.pk, actor=reviewer, **approval_kwargs())
    assert again.last_updated == article.last_updated
    assert again.last_reviewed > article.last_reviewed


def test_archive_hides_the_article_and_restore_returns_a_draft(editor, reviewer, managing_editor):
    article = make_article(editor=editor, reviewer=reviewer, state="approved")
    services.article_archive(article_id=article.pk, actor=managing_editor)
    assert not Article.objects.live().filter(pk=article.pk).exists()
    restored = services.article_restore(article_id=article.pk, actor=managing_editor)
    assert restored.status == "draft"
    assert not Article.objects.live().filter(pk=article.pk).exists()


def test_revisions_are_immutable(editor):
    article = make_article(editor=editor)
    revision = article.latest_revision
    revision.title = "Rewritten history"
    with pytest.raises(TypeError):
        revision.save()
    with pytest.raises(TypeError):
        type(revision).objects.filter(pk=revision.pk).update(title="x")


def test_the_audit_trail_outlives_a_deleted_actor(editor):
    """The audit table's keys have no database constraint (the sweep's speed); Django
    still applies on_delete: a deleted user's events stay, with no actor, and an event
    always names an article that exists."""
    article = make_article(editor=editor)
    temporary = factories.UserFactory(username="temporary-manager")
    AuditEvent.objects.create(
        article=article, actor=temporary, action="note", comment="kept after the user goes"
    )
    mine = AuditEvent.objects.filter(actor=temporary)
    ids = list(mine.values_list("pk", flat=True))
    assert ids
    temporary.delete()
    kept = AuditEvent.objects.filter(pk__in=ids)
    assert kept.count() == len(ids)
    assert set(kept.values_list("actor", flat=True)) == {None}
    assert set(kept.values_list("article", flat=True)) == {article.pk}
    assert not AuditEvent.objects.exclude(article__in=Article.objects.all()).exists()


@pytest.mark.parametrize("state", ["submitted", "under_review"])
def test_request_changes_refuses_the_revision_author(state, reviewer):
    author = _reviewer_who_also_edits("dual")
    article = make_article(editor=author, reviewer=reviewer, state=state)
    with pytest.raises(ActionForbidden, match="nobody may request changes on their own work"):
        services.article_request_changes(
            article_id=article.pk, actor=author, comment="Looks wrong to me."
        )
    assert Article.objects.get(pk=article.pk).status == state
    refused = AuditEvent.objects.get(article=article, action="request-changes")
    assert refused.refused and refused.actor == author
    # The author withdraws by editing once the reviewer hands it back; another reviewer may.
    services.article_request_changes(article_id=article.pk, actor=reviewer, comment="Cite it.")


def test_recertify_refuses_someone_who_wrote_the_live_revision(reviewer):
    author = _reviewer_who_also_edits("dual")
    article = make_article(editor=author, reviewer=reviewer, state="approved")
    with pytest.raises(ActionForbidden, match="re-certify"):
        services.article_recertify(article_id=article.pk, actor=author, **approval_kwargs())


@pytest.mark.parametrize("state", ["submitted", "under_review", "archived"])
@pytest.mark.parametrize(
    "changes",
    [{"audience": "clinicians"}, {"topic": "relapses"}, {"variant_group": "ms-basics"}],
    ids=lambda c: next(iter(c)),
)
def test_metadata_edits_follow_the_state_table(state, changes, editor, reviewer, managing_editor):
    article = make_article(editor=editor, reviewer=reviewer, state=state, archiver=managing_editor)
    before = Article.objects.get(pk=article.pk)
    with pytest.raises(TransitionNotAllowed):
        services.article_edit(article_id=article.pk, actor=editor, changes=changes)
    after = Article.objects.get(pk=article.pk)
    assert (after.audience, after.topic, after.variant_group, after.version) == (
        before.audience,
        before.topic,
        before.variant_group,
        before.version,
    )
    assert AuditEvent.objects.filter(article=article, action="edit", refused=True).count() == 1


def test_edit_checks_the_expected_version_before_anything_else(editor):
    article = make_article(editor=editor)
    with pytest.raises(services.errors.PreconditionFailed):
        services.article_edit(
            article_id=article.pk,
            actor=editor,
            changes={"body": "New."},
            expected_version=article.version + 1,
        )
    saved = services.article_edit(
        article_id=article.pk,
        actor=editor,
        changes={"body": "New."},
        expected_version={article.version - 1, article.version},
    )
    assert saved.version == article.version + 1


def test_an_audience_change_on_a_live_article_waits_for_review(editor, reviewer, client):
    article = make_article(editor=editor, reviewer=reviewer, state="approved", topic="relapses")
    edited = services.article_edit(
        article_id=article.pk, actor=editor, changes={"audience": "clinicians", "topic": "mri"}
    )
    assert edited.status == "draft"
    assert edited.latest_revision_id != edited.live_revision_id
    assert edited.latest_revision.metadata == {
        "audience": "clinicians",
        "topic": "mri",
        "variant_group": "",
    }
    # Readers still get what was reviewed: the article's own fields and the live revision.
    stored = Article.objects.get(pk=article.pk)
    assert (stored.audience, stored.topic) == ("general", "relapses")
    reader = client.get("/api/v1/articles/", {"audience": "clinicians"}).json()
    assert reader["count"] == 0
    shown = client.get(f"/api/v1/articles/{article.pk}/").json()
    assert (shown["audience"], shown["topic"]) == ("general", "relapses")
    staff = client_for(editor).get(f"/api/v1/articles/{article.pk}/").json()
    assert (staff["audience"], staff["topic"]) == ("clinicians", "mri")

    services.article_submit(article_id=article.pk, actor=editor)
    services.article_start_review(article_id=article.pk, actor=reviewer)
    services.article_approve(article_id=article.pk, actor=reviewer, **approval_kwargs())
    approved = Article.objects.get(pk=article.pk)
    assert (approved.audience, approved.topic) == ("clinicians", "mri")
    assert client.get("/api/v1/articles/", {"audience": "clinicians"}).json()["count"] == 1


def test_saving_the_same_metadata_again_makes_no_revision(editor):
    article = make_article(editor=editor, audience="patients")
    saved = services.article_edit(
        article_id=article.pk, actor=editor, changes={"audience": "patients", "topic": ""}
    )
    assert saved.version == article.version
    assert article.revisions.count() == 1


def test_the_history_names_only_the_fields_that_changed(editor):
    article = make_article(editor=editor, title="Fatigue", body="Old body.", topic="symptoms")
    form_like = {
        "title": "Fatigue",
        "summary": "",
        "body": "New body.",
        "intentional_citations": {},
        "audience": "general",
        "topic": "symptoms",
        "variant_group": "",
    }
    services.article_edit(article_id=article.pk, actor=editor, changes=form_like)
    event = AuditEvent.objects.filter(article=article, action="edit").latest("id")
    assert event.comment == "body"


def test_every_mail_links_the_review_page_through_the_one_rule(settings):
    from django.urls import reverse

    from workflows import jobs, notifications

    settings.SITE_URL = "https://reviews.example.org"
    expected = "https://reviews.example.org" + reverse("workflows:article-review", args=[7])
    assert notifications.review_link(7) == expected
    assert jobs._link(7) == expected
