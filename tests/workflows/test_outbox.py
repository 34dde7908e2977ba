"""The transactional outbox: rows written with the change, relayed, each done once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail as django_mail
from django.utils import timezone

from articles.models import Article
from citations.services import source_set_status
from reviewsite.cache import FailOpenRedisCache, cache_settings
from reviewsite.celery import app
from tests import worker as harness
from tests.factories import SourceFactory
from tests.helpers import clone_approved, make_article
from workflows import jobs, mail, outbox
from workflows.models import AuditEvent, Notification, OutboxMessage

pytestmark = pytest.mark.django_db


@pytest.fixture
def broker_down():
    """This process publishes to a Redis port nothing listens on."""
    with harness.use_broker(app, f"redis://127.0.0.1:{harness.free_port()}/0"):
        yield


def test_a_mail_queued_while_the_broker_is_down_waits_and_the_relay_sends_it_once(
    editor, reviewer, django_capture_on_commit_callbacks, eager_celery
):
    eager_celery.conf.task_always_eager = False
    with harness.use_broker(app, f"redis://127.0.0.1:{harness.free_port()}/0"):
        with django_capture_on_commit_callbacks(execute=True):
            mail.queue(recipients=[editor], subject="Hello", body="Text", dedupe_key="hello")
        row = OutboxMessage.objects.get(kind="mail")
        assert row.state == "pending"
        assert Notification.objects.get().state == "pending"
        assert outbox.relay(older_than=0) == 0  # still down: stops at the first failure

    eager_celery.conf.task_always_eager = True  # the broker is back (run the tasks here)
    django_mail.outbox.clear()
    assert outbox.relay(older_than=0) == 1
    assert outbox.relay(older_than=0) == 0
    row.refresh_from_db()
    assert (row.state, row.attempts) == ("done", 1)
    assert [m.to for m in django_mail.outbox] == [[editor.email]]
    assert Notification.objects.get().state == "sent"


def test_a_row_is_done_once(editor, eager_celery, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        (note,) = mail.queue(recipients=[editor], subject="Once", body="", dedupe_key="once")
    row = OutboxMessage.objects.get(payload={"notification": note.pk})
    calls = []
    assert outbox.run(row.pk, lambda payload: calls.append(payload) or (payload, True)) == (
        "skipped"
    )
    assert calls == []
    assert len(django_mail.outbox) == 1


def test_the_relay_forgets_rows_done_a_week_ago(editor, eager_celery):
    (old, recent) = (
        mail.queue(recipients=[editor], subject=s, body="", dedupe_key=s)[0]
        for s in ("old", "recent")
    )
    rows = OutboxMessage.objects.order_by("id")
    rows.update(state="done", done_at=timezone.now())
    rows.filter(payload={"notification": old.pk}).update(done_at=timezone.now() - timedelta(days=8))
    outbox.relay()
    assert list(rows.values_list("payload", flat=True)) == [{"notification": recent.pk}]


def test_the_relay_leaves_young_rows_to_their_own_publish(editor, broker_down):
    mail.queue(recipients=[editor], subject="Young", body="", dedupe_key="young")
    assert OutboxMessage.objects.filter(state="pending").count() == 1
    assert outbox.relay() == 0  # younger than REVIEWSITE_OUTBOX_RELAY_AFTER


def test_a_status_change_records_its_propagation_in_its_own_transaction(
    editor, reviewer, broker_down, django_capture_on_commit_callbacks
):
    source = SourceFactory()
    article = make_article(
        editor=editor, reviewer=reviewer, state="approved", body=f"Text [@{source.key}]."
    )
    with django_capture_on_commit_callbacks(execute=True):
        source_set_status(source_id=source.pk, actor=reviewer, status="retracted")
    assert OutboxMessage.objects.filter(kind="propagate", state="pending").count() == 1
    assert not Article.objects.get(pk=article.pk).flag_citation_retracted


def test_propagation_runs_in_chunks_and_mails_one_digest_per_recipient(
    editor, reviewer, settings, eager_celery, django_capture_on_commit_callbacks
):
    settings.REVIEWSITE_PROPAGATION_CHUNK = 10
    source = SourceFactory()
    template = make_article(
        editor=editor, reviewer=reviewer, state="approved", body=f"Text [@{source.key}]."
    )
    clone_approved(template, 24)
    django_mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        source_set_status(source_id=source.pk, actor=reviewer, status="retracted")
    row = OutboxMessage.objects.get(kind="propagate")
    assert (row.state, row.attempts) == ("done", 3)  # 10 + 10 + 5 articles
    assert AuditEvent.objects.filter(action="flag:citation_retracted").count() == 25
    assert Article.objects.filter(flag_citation_retracted=True).count() == 25
    assert sorted(m.to[0] for m in django_mail.outbox) == sorted([editor.email, reviewer.email])
    assert "(25 articles)" in django_mail.outbox[0].subject


def test_a_retraction_cited_by_many_articles_mails_one_digest_per_recipient(
    editor, reviewer, eager_celery, django_capture_on_commit_callbacks
):
    source = SourceFactory()
    template = make_article(
        editor=editor, reviewer=reviewer, state="approved", body=f"Text [@{source.key}]."
    )
    clone_approved(template, 299)
    before = Notification.objects.count()
    django_mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        source_set_status(source_id=source.pk, actor=reviewer, status="retracted")
    assert Notification.objects.count() - before == 2  # was 600: one per article and recipient
    assert len(django_mail.outbox) == 2
    body = django_mail.outbox[0].body
    assert body.count("/review/") == jobs.DIGEST_LIST_LIMIT
    assert f"… and {300 - jobs.DIGEST_LIST_LIMIT} more." in body


def test_mail_has_its_own_queue_ahead_of_bulk_work():
    route = app.amqp.router.route
    assert route({}, "workflows.tasks.send_notification")["queue"].name == "transactional"
    for name in ("workflows.tasks.run_side_effect", "workflows.tasks.relay_outbox"):
        assert route({}, name)["queue"].name == "bulk"
    assert [q.name for q in app.conf.task_queues] == ["transactional", "bulk"]


def test_a_cache_that_is_down_is_an_empty_cache():
    config = cache_settings(f"redis://127.0.0.1:{harness.free_port()}/0")
    assert config["BACKEND"] == "reviewsite.cache.FailOpenRedisCache"
    cache = FailOpenRedisCache(config["LOCATION"], {"OPTIONS": config["OPTIONS"]})
    assert cache.get("page", "missing") == "missing"
    cache.set("page", b"html")
    assert cache.get_many(["page"]) == {}
    cache.delete_many(["page"])


@pytest.fixture
def mail_server_down(settings):
    """Mail goes to a real SMTP backend on a port nothing listens on (refused at once)."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", harness.free_port()
    settings.EMAIL_TIMEOUT = 2


def test_a_mail_that_keeps_failing_is_marked_failed_and_no_longer_retried(
    editor, settings, mail_server_down, monkeypatch
):
    monkeypatch.setattr(outbox, "MAX_FAILURES", 3)
    (note,) = mail.queue(recipients=[editor], subject="Hi", body="", dedupe_key="refused")
    row = OutboxMessage.objects.get(kind="mail")

    for failures in (1, 2):
        with pytest.raises(OSError):
            outbox.run(row.pk, mail.send)
        row.refresh_from_db()
        assert (row.state, row.failures, row.attempts) == ("pending", failures, 0)
        assert "ConnectionRefusedError" in row.last_error
    note.refresh_from_db()
    assert note.state == "pending"

    with pytest.raises(OSError):
        outbox.run(row.pk, mail.send)
    row.refresh_from_db()
    note.refresh_from_db()
    assert (row.state, row.failures) == ("failed", 3)
    assert note.state == "failed"
    # Neither a redelivered task nor the relay runs it again.
    assert outbox.run(row.pk, mail.send) == "skipped"
    assert outbox.relay(older_than=0) == 0

    # An operator fixes the mail server and retries: it is sent once.
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert outbox.retry_failed() == 1
    row.refresh_from_db()
    assert (row.state, row.failures) == ("pending", 0)
    assert Notification.objects.get(pk=note.pk).state == "pending"
    django_mail.outbox.clear()
    assert outbox.run(row.pk, mail.send) == "done"
    row.refresh_from_db()
    assert (row.state, row.failures, row.last_error) == ("done", 0, "")
    assert [m.to for m in django_mail.outbox] == [[editor.email]]


def test_a_handler_that_succeeds_after_failing_starts_its_count_again(editor, monkeypatch):
    (note,) = mail.queue(recipients=[editor], subject="Hi", body="", dedupe_key="flaky")
    row = OutboxMessage.objects.get(kind="mail")
    results = iter([OSError("connection reset"), None])

    def flaky(payload):
        error = next(results)
        if error:
            raise error
        return payload, False  # one chunk of a longer job

    with pytest.raises(OSError):
        outbox.run(row.pk, flaky)
    row.refresh_from_db()
    assert (row.failures, row.last_error) == (1, "OSError: connection reset")
    assert outbox.run(row.pk, flaky) == "continued"
    row.refresh_from_db()
    assert (row.state, row.failures, row.last_error, row.attempts) == ("pending", 0, "", 1)


def test_outbox_retry_lists_failed_rows_and_puts_them_back(editor):
    from io import StringIO

    from django.core.management import call_command

    mail.queue(recipients=[editor], subject="Hi", body="", dedupe_key="cmd")
    OutboxMessage.objects.update(state="failed", failures=20, last_error="SMTPRecipientsRefused")
    out = StringIO()
    call_command("outbox_retry", stdout=out)
    assert "20 failures, last: SMTPRecipientsRefused" in out.getvalue()
    assert OutboxMessage.objects.get().state == "failed"
    call_command("outbox_retry", "--all", stdout=out)
    assert "1 row(s) put back" in out.getvalue()
    assert OutboxMessage.objects.get().state == "pending"
