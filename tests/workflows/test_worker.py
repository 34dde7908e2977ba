"""End to end through a real Celery worker process, the configured broker and the test database.

The worker is a subprocess (``tests/worker.py``); tests commit their data
(``transactional_db``) so it can see it, and read its mail from the file backend.

Redelivery after a crash, per broker:

* a pool process killed mid-task: the worker's main process rejects the message with
  requeue (``acks_late`` + ``task_reject_on_worker_lost``) on every broker, and a new pool
  process runs it again;
* the whole worker killed (SIGKILL, e.g. the machine died): on Redis the message stays in
  the ``unacked`` hash and another worker restores it after ``visibility_timeout``. Kombu's
  filesystem transport deletes the message file when it hands the message to the consumer
  and keeps unacked messages only in the worker's memory (restored at a warm shutdown
  only), so a SIGKILLed worker loses it: the development broker cannot survive that,
  and ``test_filesystem_broker_loses_a_message_when_the_whole_worker_dies`` pins that limit.
"""

from __future__ import annotations

import os
import re
import signal
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.utils import timezone

from articles.models import Article
from citations.services import source_set_status
from reviewsite.celery import app, ensure_broker_folders, ping
from reviewsite.roles import ALL_GROUPS
from tests import worker as harness
from tests.factories import SourceFactory
from tests.helpers import make_article
from workflows import services, tasks
from workflows.models import AuditEvent, Notification

pytestmark = [
    pytest.mark.worker,
    pytest.mark.django_db(transaction=True),
]

IS_REDIS = app.conf.broker_url.startswith("redis")
TIMEOUT = harness.TIMEOUT
DIGEST = "Review digest"


@pytest.fixture(autouse=True)
def roles(transactional_db):
    """The groups of the data migration: a transactional test's flush removes them.

    (serialized_rollback would restore them, but clashes with the content types that
    the flush of a non-serialized transactional test has already re-created.)
    """
    for name in ALL_GROUPS:
        Group.objects.get_or_create(name=name)


@pytest.fixture
def broker():
    """The configured broker, empty, and reserved for this test run."""
    ensure_broker_folders()
    with harness.broker_lock(app):
        harness.purge_broker(app)
        yield app
        harness.purge_broker(app)


@pytest.fixture
def mail_dir(tmp_path):
    return tmp_path / "mail"


@pytest.fixture
def start_worker(broker, transactional_db, tmp_path, mail_dir):
    """``start_worker(cli=False, **env)``: a worker on the test database; always stopped."""
    started: list[harness.Worker] = []

    def start(*, cli: bool = False, **extra_env) -> harness.Worker:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "reviewsite.settings",
            "DATABASE_URL": harness.database_url(connection.settings_dict),
            "DJANGO_EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
            "DJANGO_EMAIL_FILE_PATH": str(mail_dir),
            "CELERY_TASK_ALWAYS_EAGER": "false",
            **extra_env,
        }
        worker = harness.Worker(env=env, log_dir=tmp_path, cli=cli).start()
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()


def overdue_article(editor, reviewer) -> Article:
    article = make_article(editor=editor, reviewer=reviewer, state="approved")
    Article.objects.filter(pk=article.pk).update(next_review_due=timezone.now() - timedelta(days=1))
    return article


def flag_events(article) -> int:
    return AuditEvent.objects.filter(article=article, action="flag:review_overdue").count()


def test_ping_round_trip_through_broker_and_result_backend(start_worker):
    worker = start_worker(cli=True)  # exactly the Procfile's command
    result = ping.delay()
    try:
        assert result.get(timeout=TIMEOUT) == "pong"
    except Exception as error:
        raise AssertionError(worker.log_tail()) from error


def test_sweep_runs_in_the_worker(start_worker, editor, reviewer, mail_dir):
    article = overdue_article(editor, reviewer)
    worker = start_worker()
    summary = tasks.flag_stale_articles.delay().get(timeout=TIMEOUT)
    assert summary["changes"]["flag:review_overdue"] == 1, worker.log_tail()
    article.refresh_from_db()
    assert article.flags == ["review_overdue"]
    assert flag_events(article) == 1
    harness.wait_for(lambda: len(harness.sent_mail(mail_dir, DIGEST)) == 2, what="two digests")
    assert sorted(harness.sent_mail(mail_dir, DIGEST)) == sorted([editor.email, reviewer.email])


def test_retraction_propagates_through_the_worker(start_worker, editor, reviewer, mail_dir):
    source = SourceFactory()
    article = make_article(
        editor=editor, reviewer=reviewer, state="approved", body=f"Text [@{source.key}]."
    )
    worker = start_worker()
    source_set_status(source_id=source.pk, actor=reviewer, status="retracted")
    harness.wait_for(
        lambda: Article.objects.get(pk=article.pk).flag_citation_retracted,
        what=f"the retraction flag\n{worker.log_tail()}",
    )
    harness.wait_for(
        lambda: (
            sorted(harness.sent_mail(mail_dir, "Cited source"))
            == sorted([editor.email, reviewer.email])
        ),
        what="mail to the owner and the reviewer",
    )
    assert AuditEvent.objects.filter(article=article, action="flag:citation_retracted").count() == 1


def _paused_sweep(start_worker, tmp_path):
    pause, reached = tmp_path / "pause", tmp_path / "reached"
    pause.touch()
    worker = start_worker(
        REVIEWSITE_TEST_PAUSE_FILE=str(pause), REVIEWSITE_TEST_REACHED_FILE=str(reached)
    )
    result = tasks.flag_stale_articles.delay()
    harness.wait_for(reached.exists, what=f"the sweep to pause\n{worker.log_tail()}")
    return worker, result, pause, int(reached.read_text())


def _assert_ran_once_more_without_duplicates(result, article, editor, reviewer, mail_dir, worker):
    # The redelivered run finds nothing left to change: a SUCCESS with no changes.
    try:
        summary = result.get(timeout=TIMEOUT)
    except Exception as error:
        raise AssertionError(worker.log_tail()) from error
    assert summary["articles"] == 0 and summary["notifications"] == 0
    assert flag_events(article) == 1
    harness.wait_for(lambda: len(harness.sent_mail(mail_dir, DIGEST)) >= 2, what="the digests")
    ping.delay().get(timeout=TIMEOUT)  # the queue is drained up to here
    assert sorted(harness.sent_mail(mail_dir, DIGEST)) == sorted([editor.email, reviewer.email])


def test_a_killed_pool_process_is_redelivered_and_runs_without_duplicates(
    start_worker, editor, reviewer, mail_dir, tmp_path
):
    article = overdue_article(editor, reviewer)
    worker, result, pause, pid = _paused_sweep(start_worker, tmp_path)
    assert pid in worker.children()  # the task runs in the pool process
    os.kill(pid, signal.SIGKILL)
    pause.unlink()
    # The main process sees the pool process die, requeues the message
    # (reject_on_worker_lost) and a fresh pool process runs it again.
    _assert_ran_once_more_without_duplicates(result, article, editor, reviewer, mail_dir, worker)


@pytest.mark.skipif(not IS_REDIS, reason="only Redis keeps unacked messages outside the worker")
def test_redis_redelivers_after_the_whole_worker_dies(
    start_worker, editor, reviewer, mail_dir, tmp_path
):
    article = overdue_article(editor, reviewer)
    first, result, pause, _pid = _paused_sweep(start_worker, tmp_path)
    first.kill()
    pause.unlink()
    # A second worker restores messages unacked for longer than its visibility timeout
    # (short here; production uses the settings' value, an hour by default).
    second = start_worker(
        REVIEWSITE_TEST_TRANSPORT_OPTIONS='{"visibility_timeout": 2, '
        '"unacked_restore_interval": 1, "unacked_restore_throttle": 1}'
    )
    _assert_ran_once_more_without_duplicates(result, article, editor, reviewer, mail_dir, second)


@pytest.mark.skipif(IS_REDIS, reason="documents the filesystem transport's limit")
def test_filesystem_broker_loses_a_message_when_the_whole_worker_dies(
    start_worker, editor, reviewer, tmp_path
):
    overdue_article(editor, reviewer)
    worker, _result, pause, _pid = _paused_sweep(start_worker, tmp_path)
    worker.kill()
    pause.unlink()
    with app.connection_for_write() as conn:
        waiting = {q.name: conn.default_channel._size(q.name) for q in app.conf.task_queues}
    # The sweep message died with the worker. Its work had committed (and tomorrow's
    # beat run repeats the sweep anyway): its two digests wait on the mail queue, with
    # the approval mail if the worker had not taken that first (it alternates between
    # the queues); behind the sweep waits the relay the worker queued when it started.
    pending = Notification.objects.filter(state="pending")
    assert pending.filter(subject__startswith=DIGEST).count() == 2
    assert waiting == {"transactional": pending.count(), "bulk": 1}


def test_a_mail_does_not_wait_behind_bulk_work(start_worker, editor, reviewer, mail_dir):
    """Twenty sweeps queued first, then a submit: its mail is among the first tasks run."""
    article = make_article(editor=editor, title="Urgent")
    for _ in range(20):
        tasks.flag_stale_articles.apply_async(ignore_result=True)
    services.article_submit(article_id=article.pk, actor=editor)  # commits: mail published
    worker = start_worker()
    harness.wait_for(
        lambda: harness.sent_mail(mail_dir, "Awaiting review"),
        what=f"the submit mail\n{worker.log_tail()}",
    )
    received = re.findall(r"Task (\S+)\[[^\]]+\] received", worker.log.read_text())
    # The worker alternates between its queues, transactional first: the mail is not
    # behind the twenty sweeps (on one queue it was the 21st task).
    assert received.index("workflows.tasks.send_notification") <= 1, received
