"""Signals other apps react to; citations never imports them."""

from django.dispatch import Signal

#: Sent inside the transaction that changes a source's status, once the row is saved:
#: what a receiver writes commits or rolls back with the change (workflows records its
#: propagation there, as an outbox row). Arguments: source_id, old_status, new_status,
#: actor_id.
source_status_saved = Signal()

#: Sent after commit when a source's status changes.
#: Arguments: source_id, old_status, new_status, actor_id.
source_status_changed = Signal()
