"""Celery tasks of the source library: thin, given ids; the work is in services.

Tasks acknowledge late, so a worker lost mid-task means the message is delivered
again; the import job resumes after its last stored batch.
"""

from __future__ import annotations

from celery import shared_task

from . import services


@shared_task(acks_late=True)
def run_import_job(job_id: int) -> str:
    """Import a queued file (:func:`citations.services.import_job_run`)."""
    return services.import_job_run(job_id=job_id)
