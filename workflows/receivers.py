"""Receivers that turn source status changes into article flags."""

from django.dispatch import receiver

from citations.models import Source
from citations.signals import source_status_changed


@receiver(source_status_changed, dispatch_uid="workflows.propagate_source_status")
def on_source_status_changed(sender, *, source_id, old_status, new_status, **kwargs) -> None:
    """Queue the propagation when a source enters or leaves a flagging status."""
    from .tasks import propagate_source_status

    flagging = {*Source.FLAGGING_STATUSES, Source.Status.CORRECTED}
    if old_status in flagging or new_status in flagging:
        # The signal is sent after commit already; delay_on_commit also covers a
        # sender that runs inside a transaction of its own.
        propagate_source_status.delay_on_commit(source_id)
