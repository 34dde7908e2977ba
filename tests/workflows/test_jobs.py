"""The stale-review sweep: flags, clearing, audit, digests, idempotence, query count."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from articles.models import Article
from tests.helpers import approval_kwargs, clone_approved, flag_events
from workflows import jobs, services, tasks
from workflows.models import AuditEvent, Notification, ReviewAssignment

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("eager_celery")]


def sweep(callbacks, **kwargs) -> jobs.SweepResult:
    """Run the sweep and the mail tasks it queued on commit (eager Celery)."""
    with callbacks(execute=True):
        return jobs.flag_stale_articles(**kwargs)


def test_sweep_flags_an_article_whose_review_date_passed(
    approved, editor, reviewer, eager_celery, django_capture_on_commit_callbacks
):
    article = approved()
    version = article.version
    with time_machine.travel(article.next_review_due + timedelta(days=1), tick=False):
        result = sweep(django_capture_on_commit_callbacks)
    article.refresh_from_db()
    assert article.flag_review_overdue and not article.flag_review_due_soon
    assert article.flags == ["review_overdue"]
    assert article.version == version + 1
    assert result.changes["flag:review_overdue"] == 1
    assert result.slugs["flag:review_overdue"] == [article.slug]
    event = AuditEvent.objects.get(article=article, action="flag:review_overdue")
    assert event.actor is None
    assert (event.from_status, event.to_status) == ("approved", "approved")
    assert event.revision_id == article.live_revision_id
    assert sorted(m.to[0] for m in mail.outbox) == sorted([editor.email, reviewer.email])
    assert "Overdue for review (1)" in mail.outbox[0].body


def test_sweep_warns_when_the_review_is_due_within_30_days(
    approved, eager_celery, django_capture_on_commit_callbacks
):
    article = approved()
    with time_machine.travel(article.next_review_due - timedelta(days=29), tick=False):
        sweep(django_capture_on_commit_callbacks)
    article.refresh_from_db()
    assert article.flags == ["review_due_soon"]
    assert "Due for review within 30 days (1)" in mail.outbox[0].body


def test_sweep_leaves_an_article_due_in_more_than_30_days_alone(
    approved, django_capture_on_commit_callbacks
):
    article = approved()
    with time_machine.travel(article.next_review_due - timedelta(days=31), tick=False):
        result = sweep(django_capture_on_commit_callbacks)
    article.refresh_from_db()
    assert article.flags == [] and not result.changed
    assert flag_events(article) == []


def test_due_soon_turns_into_overdue_and_the_warning_clears(
    approved, eager_celery, django_capture_on_commit_callbacks
):
    article = approved()
    with time_machine.travel(article.next_review_due - timedelta(days=5), tick=False):
        sweep(django_capture_on_commit_callbacks)
    with time_machine.travel(article.next_review_due + timedelta(seconds=1), tick=False):
        result = sweep(django_capture_on_commit_callbacks)
    article.refresh_from_db()
    assert article.flags == ["review_overdue"]
    assert result.changes == {
        "flag:review_overdue": 1,
        "unflag:review_overdue": 0,
        "flag:review_due_soon": 0,
        "unflag:review_due_soon": 1,
    }
    assert result.articles == 1
    assert flag_events(article) == [
        "flag:review_due_soon",
        "flag:review_overdue",
        "unflag:review_due_soon",
    ]
    # One mail per recipient for each of the two changes.
    assert len(mail.outbox) == 4


def test_a_second_run_changes_nothing_and_sends_nothing(
    approved, eager_celery, django_capture_on_commit_callbacks
):
    article = approved()
    with time_machine.travel(article.next_review_due + timedelta(days=3), tick=False):
        sweep(django_capture_on_commit_callbacks)
        article.refresh_from_db()
        version, events, mails = article.version, AuditEvent.objects.count(), len(mail.outbox)
        again = sweep(django_capture_on_commit_callbacks)
    article.refresh_from_db()
    assert not again.changed and again.notifications == 0
    assert set(again.changes.values()) == {0}
    assert article.version == version
    assert AuditEvent.objects.count() == events
    assert len(mail.outbox) == mails == 2


def test_recertify_clears_the_flag_and_the_sweep_keeps_it_clear(
    approved, second_reviewer, django_capture_on_commit_callbacks
):
    article = approved()
    later = article.next_review_due + timedelta(days=2)
    with time_machine.travel(later, tick=False):
        sweep(django_capture_on_commit_callbacks)
        services.article_recertify(
            article_id=article.pk, actor=second_reviewer, **approval_kwargs()
        )
        article.refresh_from_db()
        assert article.flags == []
        result = sweep(django_capture_on_commit_callbacks)
    assert not result.changed
    article.refresh_from_db()
    assert article.flags == [] and article.next_review_due > later


def test_lengthening_the_interval_clears_the_flag_at_once_and_the_sweep_agrees(
    approved, managing_editor, django_capture_on_commit_callbacks
):
    article = approved()
    with time_machine.travel(article.next_review_due + timedelta(days=1), tick=False):
        sweep(django_capture_on_commit_callbacks)
        services.article_edit(
            article_id=article.pk, actor=managing_editor, changes={"review_interval_days": 730}
        )
        article.refresh_from_db()
        assert article.flags == []
        assert flag_events(article)[-1] == "unflag:review_overdue"
        result = sweep(django_capture_on_commit_callbacks)
    article.refresh_from_db()
    assert result.changes["unflag:review_overdue"] == 0
    assert article.flags == []


def test_sweep_clears_flags_of_archived_articles(
    approved, managing_editor, django_capture_on_commit_callbacks
):
    article = approved()
    with time_machine.travel(article.next_review_due + timedelta(days=1), tick=False):
        sweep(django_capture_on_commit_callbacks)
        services.article_archive(article_id=article.pk, actor=managing_editor)
        result = sweep(django_capture_on_commit_callbacks)
    article.refresh_from_db()
    assert result.changes["unflag:review_overdue"] == 1
    assert article.flags == []
    event = AuditEvent.objects.filter(article=article).last()
    assert (event.action, event.from_status, event.to_status) == (
        "unflag:review_overdue",
        "archived",
        "archived",
    )


def test_drafts_are_never_flagged(editor, article_in, django_capture_on_commit_callbacks):
    article = article_in("draft", editor=editor)
    Article.objects.filter(pk=article.pk).update(next_review_due=article.created_at)
    result = sweep(django_capture_on_commit_callbacks)
    assert not result.changed


def test_a_live_page_whose_working_copy_is_being_edited_is_still_flagged(
    approved, editor, django_capture_on_commit_callbacks
):
    article = approved()
    services.article_edit(article_id=article.pk, actor=editor, changes={"body": "Newer text."})
    with time_machine.travel(article.next_review_due + timedelta(days=1), tick=False):
        sweep(django_capture_on_commit_callbacks)
    article.refresh_from_db()
    assert article.status == "draft"
    assert article.live_revision_id is not None
    assert article.flags == ["review_overdue"]


def test_each_recipient_gets_one_digest_listing_all_their_articles(
    approved, editor, reviewer, eager_celery, django_capture_on_commit_callbacks
):
    first = approved(title="Relapsing MS")
    second = approved(title="Optic neuritis")
    third = approved(title="Migraine")
    Article.objects.filter(pk=third.pk).update(
        next_review_due=first.next_review_due.replace(year=first.next_review_due.year + 1)
    )
    with time_machine.travel(first.next_review_due + timedelta(days=1), tick=False):
        result = sweep(django_capture_on_commit_callbacks)
    assert result.notifications == 2
    assert sorted(m.to[0] for m in mail.outbox) == sorted([editor.email, reviewer.email])
    for message in mail.outbox:
        assert message.subject == "Review digest: 2 overdue"
        assert "Relapsing MS" in message.body and "Optic neuritis" in message.body
        assert "Migraine" not in message.body
        assert f"/workspace/articles/{second.pk}/review/" in message.body


def test_digest_goes_to_assigned_reviewers_and_owner(
    approved, editor, reviewer, second_reviewer, managing_editor, eager_celery,
    django_capture_on_commit_callbacks,
):  # fmt: skip
    article = approved()
    services.article_assign_reviewers(
        article_id=article.pk, reviewer_ids=[second_reviewer.pk], actor=managing_editor
    )
    mail.outbox.clear()
    with time_machine.travel(article.next_review_due + timedelta(days=1), tick=False):
        sweep(django_capture_on_commit_callbacks)
    assert sorted(m.to[0] for m in mail.outbox) == sorted([editor.email, second_reviewer.email])


def test_an_owner_who_also_reviewed_gets_each_article_once(
    approved, editor, reviewer, eager_celery, django_capture_on_commit_callbacks
):
    """The owner is also the last reviewer of one article and assigned to another (set
    by hand: the services refuse both): their digest counts and lists each article once."""
    first = approved(title="Relapsing MS")
    second = approved(title="Optic neuritis")
    ReviewAssignment.objects.filter(article=first).delete()
    Article.objects.filter(pk=first.pk).update(last_reviewed_by=editor)
    ReviewAssignment.objects.create(article=second, reviewer=editor)
    with time_machine.travel(first.next_review_due + timedelta(days=1), tick=False):
        result = sweep(django_capture_on_commit_callbacks)
    by_recipient = {m.to[0]: m for m in mail.outbox}
    assert len(by_recipient) == len(mail.outbox) == result.notifications
    mine = by_recipient[editor.email]
    assert mine.subject == "Review digest: 2 overdue"
    assert mine.body.count("Relapsing MS") == 1 and mine.body.count("Optic neuritis") == 1
    # The reviewer still hears of the article they are assigned to, and only of that.
    theirs = by_recipient[reviewer.email]
    assert theirs.subject == "Review digest: 1 overdue"
    assert "Optic neuritis" in theirs.body and "Relapsing MS" not in theirs.body


def test_digest_dedupe_key_is_stable_for_the_same_change_set(
    approved, django_capture_on_commit_callbacks
):
    """Replaying the same change set (e.g. a rolled-back run retried) queues no new mail."""
    article = approved()
    moment = article.next_review_due + timedelta(days=1)
    with time_machine.travel(moment, tick=False):
        sweep(django_capture_on_commit_callbacks)
        keys = set(Notification.objects.values_list("dedupe_key", flat=True))
        Article.objects.filter(pk=article.pk).update(flag_review_overdue=False)
        result = sweep(django_capture_on_commit_callbacks)
    assert result.changes["flag:review_overdue"] == 1
    assert result.notifications == 0
    assert set(Notification.objects.values_list("dedupe_key", flat=True)) == keys


#: SQLite: 4 report SELECTs, 3 audit INSERT … SELECTs (one kind has no change), 1 digest
#: SELECT, 1 UPDATE, 1 user SELECT, 5 per digest recipient (get_or_create, outbox row) × 2,
#: 2 savepoints, 1 SELECT of reviewer credentials expiring within 30 days (none here).
#: PostgreSQL: 1 advisory lock, the whole sweep in one statement (UPDATE … RETURNING
#: feeding the audit INSERT, the report slugs and the digests), 1 user SELECT, the same
#: 10 per recipient, 2 savepoints, the credentials SELECT (issue 15), and the SET LOCAL
#: work_mem that keeps the digest sort in memory.
SWEEP_QUERIES = 17 if connection.vendor == "postgresql" else 23


@pytest.mark.parametrize("count", [10, 1000])
def test_sweep_query_count_does_not_grow_with_articles(
    count, approved, django_capture_on_commit_callbacks
):
    template = approved()
    clones = clone_approved(template, count - 1)
    due = template.next_review_due
    # Half overdue, a quarter due soon, the rest later; a few stale flags to clear.
    Article.objects.filter(pk__in=[a.pk for a in clones[: count // 4]]).update(
        next_review_due=due + timedelta(days=20)
    )
    Article.objects.filter(pk__in=[a.pk for a in clones[count // 4 : count // 2]]).update(
        next_review_due=due + timedelta(days=200), flag_review_overdue=True
    )
    with (
        time_machine.travel(due + timedelta(days=1), tick=False),
        django_capture_on_commit_callbacks(),  # mails are sent after commit, not counted
        CaptureQueriesContext(connection) as queries,
    ):
        result = jobs.flag_stale_articles()
    assert result.articles == count
    assert result.changes["flag:review_overdue"] == count - count // 2
    assert result.changes["flag:review_due_soon"] == count // 4
    assert result.changes["unflag:review_overdue"] == count // 2 - count // 4
    assert AuditEvent.objects.filter(action__contains="flag:").count() == count
    # Pinned: the same number for 10 and for 1,000 articles.
    assert len(queries) == SWEEP_QUERIES, "\n".join(q["sql"][:150] for q in queries)


def test_flag_stale_command_prints_what_changed(approved, django_capture_on_commit_callbacks):
    article = approved()
    out = io.StringIO()
    with time_machine.travel(article.next_review_due + timedelta(days=1), tick=False):
        with django_capture_on_commit_callbacks(execute=True):
            call_command("flag_stale", stdout=out)
        assert "flag:review_overdue: 1" in out.getvalue()
        assert article.slug in out.getvalue()
        again = io.StringIO()
        call_command("flag_stale", stdout=again)
    assert again.getvalue().strip() == "No changes."


def test_the_task_runs_the_sweep(approved, eager_celery, django_capture_on_commit_callbacks):
    article = approved()
    with (
        time_machine.travel(article.next_review_due + timedelta(days=1), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        result = tasks.flag_stale_articles.delay().get()
    assert result["articles"] == 1 and result["changes"]["flag:review_overdue"] == 1
    assert tasks.flag_stale_articles.name == "workflows.tasks.flag_stale_articles"
