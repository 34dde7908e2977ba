"""Celery tasks of the source library: thin, given ids; the work is in services.

Tasks acknowledge late, so a worker lost mid-task means the message is delivered
again: the import job resumes after its last stored batch, and the integrity watch
redoes its run without repeating a change.
"""

from __future__ import annotations

from celery import shared_task
from django.conf import settings

from . import integrity, services


@shared_task(bind=True, acks_late=True, max_retries=12)
def run_import_job(self, job_id: int) -> str:
    """Import a queued file (:func:`citations.services.import_job_run`).

    A delivery that finds another run holding the job (a message delivered twice, or
    again while its first worker still runs) does nothing and looks again once that
    run's lease would have expired: if the run was lost, this one resumes the job.
    """
    outcome = services.import_job_run(job_id=job_id)
    if outcome == "busy":
        raise self.retry(countdown=services.IMPORT_LEASE.total_seconds())
    return outcome


@shared_task(acks_late=True)
def check_sources(source_ids: list[int] | None = None) -> dict:
    """Re-check cited sources against Crossref and PubMed; a second run changes nothing.

    Acknowledged late: a worker lost mid-run means the run is redone. Each batch
    commits on its own and statuses only ever rise, so the redo neither repeats a
    change nor sends its mail twice (notifications are keyed by the change).
    """
    if not settings.REVIEWSITE_SOURCE_CHECK_ENABLED:
        return {"disabled": True}
    return integrity.check_sources(source_ids=source_ids).as_dict()
