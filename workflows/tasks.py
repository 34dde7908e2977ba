"""Celery tasks: thin, idempotent, given ids; the work is in services and jobs.

Every task acknowledges late (after it ran), so a worker lost mid-task means the
message is delivered again; each task is therefore safe to run twice.
"""

from __future__ import annotations

import smtplib

from celery import shared_task

from . import jobs, mail


@shared_task(
    bind=True,
    acks_late=True,
    autoretry_for=(OSError, smtplib.SMTPException),
    retry_backoff=True,
    retry_backoff_max=600,  # well under the broker's visibility timeout
    retry_jitter=True,
    max_retries=8,
)
def send_notification(self, notification_id: int) -> str:
    """Send one queued email unless it was sent already."""
    return mail.send(notification_id)


@shared_task(acks_late=True)
def flag_stale_articles() -> dict:
    """Run the stale-review sweep (beat, daily); a second run changes nothing."""
    # The task's result keeps counts only: no need to read slugs for a report.
    return jobs.flag_stale_articles(report=False).as_dict()


@shared_task(acks_late=True)
def propagate_source_status(source_id: int) -> dict:
    """Recompute the citation flags of the articles citing one source."""
    return jobs.propagate_source_status(source_id=source_id).as_dict()
