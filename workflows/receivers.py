"""Receivers: source status changes become article flags; a starting worker relays."""

import logging

from celery.signals import worker_ready
from django.dispatch import receiver

from citations.models import Source
from citations.signals import source_status_saved
from reviewsite.celery import app

from . import jobs

logger = logging.getLogger(__name__)

#: The task a worker publishes when it starts (outbox rows left pending by an outage).
RELAY_TASK = "workflows.tasks.relay_outbox"


@receiver(source_status_saved, dispatch_uid="workflows.propagate_source_status")
def on_source_status_saved(sender, *, source_id, old_status, new_status, **kwargs) -> None:
    """Record the propagation, in the status change's own transaction, when a source
    enters or leaves a flagging status."""
    flagging = {*Source.FLAGGING_STATUSES, Source.Status.CORRECTED}
    if old_status in flagging or new_status in flagging:
        jobs.queue_propagation(source_id=source_id)


@worker_ready.connect(dispatch_uid="workflows.relay_on_worker_start")
def relay_on_worker_start(**kwargs) -> None:
    """Relay everything pending, however young: it may be what an outage left behind."""
    try:
        app.signature(RELAY_TASK, kwargs={"older_than": 0}).apply_async(ignore_result=True)
    except Exception:  # noqa: BLE001 - beat relays within a minute anyway
        logger.warning("Outbox: could not queue the relay on worker start", exc_info=True)
