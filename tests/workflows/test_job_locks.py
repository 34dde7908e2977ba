"""Two runs of one job at once: real threads, each with its own database connection.

On PostgreSQL, without a lock, both runs read the articles as unchanged before either
commits, and each audits every change (2 × N events). Each run here holds its
transaction open until the other has started (or for ``HOLD`` seconds), as a long run
over thousands of articles would. On SQLite the ``BEGIN IMMEDIATE`` of the second run
already waits for the first; the same assertions hold there.
"""

from __future__ import annotations

import contextlib
import threading
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone

from articles.models import Article
from tests.factories import SourceFactory
from tests.helpers import clone_approved, make_article
from workflows import jobs, outbox
from workflows.models import AuditEvent, OutboxMessage

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("eager_celery")]

ARTICLES = 200
#: Seconds a run keeps its transaction open waiting for the other run to get going.
HOLD = 2.0


def run_twice_at_once(job) -> list:
    """Start ``job`` in two threads together; each holds its transaction open a while."""
    start, both_done = threading.Barrier(2), threading.Barrier(2)
    results, errors = [], []

    def run():
        try:
            start.wait(timeout=30)
            with transaction.atomic():
                results.append(job())
                # Broken: the other run waits for this one, so commit and let it go.
                with contextlib.suppress(threading.BrokenBarrierError):
                    both_done.wait(timeout=HOLD)
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    return results


def test_two_propagations_of_one_source_at_once_audit_each_change_once(editor, reviewer):
    source = SourceFactory()
    template = make_article(
        editor=editor, reviewer=reviewer, state="approved", body=f"Text [@{source.key}]."
    )
    clone_approved(template, ARTICLES - 1)
    source.status = "retracted"
    source.save(update_fields=["status"])

    results = run_twice_at_once(lambda: jobs.propagate_source_status(source_id=source.pk))

    assert sorted(r.articles for r in results) == [0, ARTICLES]
    assert AuditEvent.objects.filter(action="flag:citation_retracted").count() == ARTICLES
    assert Article.objects.filter(flag_citation_retracted=True).count() == ARTICLES


def test_a_manual_sweep_while_beat_runs_audits_each_change_once(editor, reviewer):
    template = make_article(editor=editor, reviewer=reviewer, state="approved")
    clone_approved(template, ARTICLES - 1)
    Article.objects.update(next_review_due=timezone.now() - timedelta(days=1))

    results = run_twice_at_once(lambda: jobs.flag_stale_articles())

    assert sorted(r.articles for r in results) == [0, ARTICLES]
    assert AuditEvent.objects.filter(action="flag:review_overdue").count() == ARTICLES


def test_a_row_redelivered_while_it_runs_is_skipped(editor, reviewer, settings):
    settings.REVIEWSITE_PROPAGATION_CHUNK = ARTICLES * 2  # one chunk
    source = SourceFactory()
    template = make_article(
        editor=editor, reviewer=reviewer, state="approved", body=f"Text [@{source.key}]."
    )
    clone_approved(template, ARTICLES - 1)
    source.status = "retracted"
    source.save(update_fields=["status"])
    with transaction.atomic():
        row = outbox.OutboxMessage.objects.create(
            kind="propagate", key="propagate:redelivered", payload={"source": source.pk}
        )

    results = run_twice_at_once(lambda: outbox.run(row.pk, jobs.propagate_step))

    assert sorted(results) == ["done", "skipped"]
    assert OutboxMessage.objects.get(pk=row.pk).attempts == 1
    assert AuditEvent.objects.filter(action="flag:citation_retracted").count() == ARTICLES
