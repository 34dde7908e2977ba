"""Receivers that turn source status changes into article flags."""

from django.db import transaction
from django.dispatch import receiver

from citations.models import Source
from citations.signals import source_status_changed
from reviewsite.celery import app

#: The Celery task that runs ``jobs.propagate_source_status``.
PROPAGATE_TASK = "workflows.tasks.propagate_source_status"


@receiver(source_status_changed, dispatch_uid="workflows.propagate_source_status")
def on_source_status_changed(sender, *, source_id, old_status, new_status, **kwargs) -> None:
    """Queue the propagation when a source enters or leaves a flagging status."""
    flagging = set(Source.FLAGGING_STATUSES)
    if old_status in flagging or new_status in flagging:
        # The signal is sent after commit already; on_commit also covers a sender
        # that runs inside a transaction of its own.
        transaction.on_commit(lambda: app.signature(PROPAGATE_TASK, args=(source_id,)).delay())
