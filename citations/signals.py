"""Signals other apps react to; citations never imports them."""

from django.dispatch import Signal

#: Sent after commit when a source's status changes.
#: Arguments: source_id, old_status, new_status, actor_id.
source_status_changed = Signal()
