"""Redis (broker and cache) stopped in the middle of the day: requests answer, nothing is lost.

A private ``redis-server`` is started, stopped and started again inside the test; the
web side publishes through it in this process and a real worker consumes from it. The
side effects of requests made while it was down wait as outbox rows, and the worker
relays them when it starts, each exactly once.
"""

from __future__ import annotations

import os
import time

import pytest
from django.contrib.auth.models import Group
from django.db import connection

from articles.models import Article
from reviewsite.celery import app, ping
from reviewsite.roles import ALL_GROUPS
from tests import worker as harness
from tests.factories import SourceFactory
from tests.helpers import approval_kwargs, client_for, make_article
from workflows.models import AuditEvent, Notification

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

TIMEOUT = harness.TIMEOUT
#: A request whose publish gives up at once takes well under a second; before the
#: outbox it took up to 19 s, then failed. Generous for a shared, noisy machine.
PATIENCE = 5.0


@pytest.fixture(autouse=True)
def roles(transactional_db):
    for name in ALL_GROUPS:
        Group.objects.get_or_create(name=name)


@pytest.fixture
def redis_server(tmp_path):
    server = harness.RedisServer(tmp_path).start()
    yield server
    server.stop()


@pytest.fixture
def private_redis(redis_server, settings):
    """Broker (db 0) and cache (db 1) of this process on the private server."""
    from reviewsite.cache import cache_settings

    settings.CACHES = {"default": cache_settings(redis_server.url(1))}
    with harness.use_broker(app, redis_server.url(0)):
        yield redis_server


@pytest.fixture
def start_worker(tmp_path):
    started: list[harness.Worker] = []

    def start(**extra_env) -> harness.Worker:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "reviewsite.settings",
            "DATABASE_URL": harness.database_url(connection.settings_dict),
            "DJANGO_EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
            "DJANGO_EMAIL_FILE_PATH": str(tmp_path / "mail"),
            "CELERY_TASK_ALWAYS_EAGER": "false",
            **extra_env,
        }
        worker = harness.Worker(env=env, log_dir=tmp_path).start()
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()


def timed(call):
    started = time.monotonic()
    response = call()
    return response, time.monotonic() - started


def test_requests_answer_with_redis_stopped_and_the_worker_relays_once(
    private_redis, start_worker, tmp_path, editor, reviewer, second_reviewer
):
    from workflows.models import OutboxMessage

    source = SourceFactory()
    cited = make_article(
        editor=editor, reviewer=reviewer, state="approved", body=f"Text [@{source.key}]."
    )
    to_submit = make_article(editor=editor, title="To submit")
    to_approve = make_article(
        editor=editor, reviewer=second_reviewer, state="under_review", title="To approve"
    )
    done_before = set(OutboxMessage.objects.values_list("pk", flat=True))
    private_redis.stop()

    editor_api, reviewer_api = client_for(editor), client_for(second_reviewer)
    for api in (editor_api, reviewer_api):
        api.raise_request_exception = False
    answers = {
        "submit": timed(lambda: editor_api.post(f"/api/v1/articles/{to_submit.pk}/submit/")),
        "approve": timed(
            lambda: reviewer_api.post(
                f"/api/v1/articles/{to_approve.pk}/approve/", approval_kwargs(), format="json"
            )
        ),
        "status": timed(
            lambda: reviewer_api.post(
                f"/api/v1/sources/{source.pk}/status/",
                {"status": "retracted", "reason": "Fabricated data"},
                format="json",
            )
        ),
    }
    from django.test import Client

    reader = Client(raise_request_exception=False)
    answers["reader page"] = timed(lambda: reader.get(f"/articles/{cited.slug}/"))
    assert {name: r.status_code for name, (r, _s) in answers.items()} == dict.fromkeys(answers, 200)
    slow = {name: round(s, 2) for name, (_r, s) in answers.items() if s > PATIENCE}
    assert slow == {}

    # Committed, and every side effect waits as a row; the propagation has not run.
    assert Article.objects.get(pk=to_approve.pk).status == "approved"
    waiting = OutboxMessage.objects.filter(state="pending").exclude(pk__in=done_before)
    assert sorted(waiting.values_list("kind", flat=True)) == ["mail", "mail", "mail", "propagate"]
    assert not Article.objects.get(pk=cited.pk).flag_citation_retracted

    private_redis.start()  # empty: it kept nothing of what was queued before it stopped
    worker = start_worker(CELERY_BROKER_URL=private_redis.url(0), CACHE_URL=private_redis.url(1))
    harness.wait_for(
        lambda: not OutboxMessage.objects.filter(state="pending").exists(),
        what=f"the relay on worker start\n{worker.log_tail()}",
    )
    mail_dir = tmp_path / "mail"
    harness.wait_for(
        lambda: harness.sent_mail(mail_dir, "Cited source"), what=f"digests\n{worker.log_tail()}"
    )
    # Relaying again (beat would) and draining the queue changes nothing.
    from workflows import outbox

    assert outbox.relay(older_than=0) == 0
    try:
        assert ping.delay().get(timeout=TIMEOUT) == "pong"  # the queues are drained up to here
    except Exception as error:
        raise AssertionError(worker.log_tail()) from error

    assert sorted(harness.sent_mail(mail_dir, "Awaiting review: To submit")) == sorted(
        [reviewer.email, second_reviewer.email]
    )
    assert harness.sent_mail(mail_dir, "Approved and live: To approve") == [editor.email]
    assert sorted(harness.sent_mail(mail_dir, "Cited source")) == sorted(
        [editor.email, reviewer.email]
    )
    assert Article.objects.get(pk=cited.pk).flag_citation_retracted
    events = AuditEvent.objects.filter(article=cited, action="flag:citation_retracted")
    assert events.count() == 1
    assert not Notification.objects.filter(state="pending").exists()


def test_on_the_embedded_broker_a_worker_relays_what_could_not_be_published(
    start_worker, tmp_path, editor, reviewer, second_reviewer
):
    """The default filesystem broker, unwritable (its folders missing), then back."""
    from workflows.models import OutboxMessage

    folder = tmp_path / "broker"
    options = {
        "data_folder_in": f"{folder}/queue",
        "data_folder_out": f"{folder}/queue",
        "control_folder": f"{folder}/control",
        "store_processed": False,
    }
    article = make_article(editor=editor, title="Submitted while down")
    with harness.use_broker(app, "filesystem://", options):
        response, seconds = timed(
            lambda: client_for(editor).post(f"/api/v1/articles/{article.pk}/submit/")
        )
    assert response.status_code == 200 and seconds < PATIENCE
    waiting = OutboxMessage.objects.filter(state="pending", kind="mail")
    assert waiting.count() == 2  # both reviewers

    worker = start_worker(CELERY_BROKER_URL="filesystem://", CELERY_FILESYSTEM_DIR=str(folder))
    harness.wait_for(
        lambda: not waiting.exists(), what=f"the relay on worker start\n{worker.log_tail()}"
    )
    mail_dir = tmp_path / "mail"
    harness.wait_for(
        lambda: len(harness.sent_mail(mail_dir, "Awaiting review")) == 2,
        what=f"the mails\n{worker.log_tail()}",
    )
    assert sorted(harness.sent_mail(mail_dir, "Awaiting review")) == sorted(
        [reviewer.email, second_reviewer.email]
    )
