"""Celery tasks: thin, idempotent, given ids; the work is in services and jobs.

Every task acknowledges late (after it ran), so a worker lost mid-task means the
message is delivered again; each task is therefore safe to run twice. Outbox rows are
run through ``outbox.run``, which does each row once. Queues (settings.CELERY_TASK_ROUTES):
mail on ``transactional``, everything else on ``bulk``.
"""

from __future__ import annotations

import smtplib

from celery import shared_task

from . import jobs, mail, outbox


@shared_task(
    bind=True,
    acks_late=True,
    ignore_result=True,
    autoretry_for=(OSError, smtplib.SMTPException),
    retry_backoff=True,
    retry_backoff_max=600,  # well under the broker's visibility timeout
    retry_jitter=True,
    max_retries=8,
)
def send_notification(self, message_id: int) -> str:
    """Send the email of one outbox row unless it was sent already."""
    return outbox.run(message_id, mail.send)


@shared_task(acks_late=True, ignore_result=True)
def run_side_effect(message_id: int) -> str:
    """Run one outbox row of bulk work (one chunk of a propagation, then the next)."""
    return outbox.run(message_id, jobs.propagate_step)


@shared_task(acks_late=True, ignore_result=True)
def relay_outbox(older_than: float | None = None) -> int:
    """Publish outbox rows left pending (beat, every minute; each worker on start)."""
    return outbox.relay(older_than=older_than)


@shared_task(acks_late=True)
def flag_stale_articles() -> dict:
    """Run the stale-review sweep (beat, daily); a second run changes nothing."""
    # The task's result keeps counts only: no need to read slugs for a report.
    return jobs.flag_stale_articles(report=False).as_dict()


@shared_task(acks_late=True)
def propagate_source_status(source_id: int) -> dict:
    """Recompute the citation flags of the articles citing one source (an operator's
    re-run): queued as an outbox row, so it runs in chunks like the automatic one."""
    message = jobs.queue_propagation(source_id=source_id)
    return {"source_id": source_id, "queued": message.pk}
