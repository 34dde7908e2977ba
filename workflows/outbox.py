"""The transactional outbox: side effects are rows, written with the change they follow.

``record`` writes a row in the caller's transaction and publishes it after commit.
Publishing never fails the request: it gives up at once (no retries, short broker
timeouts), logs, and leaves the row pending; after one failure this process stops
trying for ``BACKOFF`` seconds, so a request that queues twelve mails pays for at most
one. ``relay`` (beat, and every worker when it starts) publishes what is still
pending. ``run`` is what a task calls: it takes the row under a lock, skips it if it is
done, runs the handler and marks it done in one transaction, so a row is done once
however often it is delivered.

The task names are looked up by name: this module never imports ``workflows.tasks``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from reviewsite.celery import app

from .models import Notification, OutboxMessage

logger = logging.getLogger(__name__)

Kind = OutboxMessage.Kind
#: The task that runs each kind of row (the queue is in settings.CELERY_TASK_ROUTES).
TASKS = {
    Kind.MAIL: "workflows.tasks.send_notification",
    Kind.PROPAGATE: "workflows.tasks.run_side_effect",
}
#: After a failed publish, this process leaves new rows to the relay for this long: the
#: rest of the same commit's rows (a broker that times out costs a request one timeout).
BACKOFF = 1.0
#: How many rows one relay run publishes (the next run takes the rest).
RELAY_BATCH = 500
#: A row whose handler has failed this many times is marked failed and left alone: an
#: address the mail server refuses, say, is not retried every minute for ever. Failed
#: rows stay for an operator (admin, ``outbox_retry``).
MAX_FAILURES = 20
#: Done rows are kept this long (to see what ran), then the relay deletes them.
KEEP_DONE = timedelta(days=7)

_broker_down_until = 0.0

#: A handler takes the row's payload and returns the new payload and whether it is done.
Handler = Callable[[dict], tuple[dict, bool]]


def record(kind: str, key: str, payload: dict) -> OutboxMessage:
    """Write one row and publish it after commit. ``key`` names the side effect and
    must be new (a notification's id, a fresh uuid): one INSERT, no look-up."""
    message = OutboxMessage.objects.create(kind=kind, key=key[:200], payload=payload)
    transaction.on_commit(lambda: publish(message.pk, kind))
    return message


def publish(message_id: int, kind: str, *, force: bool = False) -> bool:
    """Hand one row to the broker; False (logged, row still pending) if that fails."""
    global _broker_down_until
    task = app.signature(TASKS[kind], args=(message_id,))
    if app.conf.task_always_eager:
        # Tests and demos without a worker: run it here, errors and all. A task unknown
        # to this process would be published instead, so load the task modules first.
        if TASKS[kind] not in app.tasks:
            app.loader.import_default_modules()
        task.apply_async()
        return True
    if not force and time.monotonic() < _broker_down_until:
        return False
    try:
        task.apply_async(retry=False, ignore_result=True)
    except Exception:  # noqa: BLE001 - whatever the broker raises, the change has committed
        _broker_down_until = time.monotonic() + BACKOFF
        logger.warning(
            "Outbox: could not publish %s row %s; the relay will retry",
            kind,
            message_id,
            exc_info=True,
        )
        return False
    _broker_down_until = 0.0
    return True


def relay(*, older_than: float | None = None) -> int:
    """Publish pending rows untouched for ``older_than`` seconds; the number published.

    Rows younger than that are probably on their way already (published after commit,
    or a long job's next chunk); publishing one twice is harmless, only wasted work.
    Stops at the first failure: the broker is still down, the next run tries again.
    Also deletes rows done more than KEEP_DONE ago.
    """
    if older_than is None:
        older_than = settings.REVIEWSITE_OUTBOX_RELAY_AFTER
    cutoff = timezone.now() - timedelta(seconds=older_than)
    rows = (
        OutboxMessage.objects.filter(state=OutboxMessage.State.PENDING, updated_at__lte=cutoff)
        .order_by("updated_at", "id")
        .values_list("pk", "kind")[:RELAY_BATCH]
    )
    published = 0
    for message_id, kind in rows:
        if not publish(message_id, kind, force=True):
            break
        published += 1
    if published:
        logger.info("Outbox: relayed %s pending rows", published)
    OutboxMessage.objects.filter(
        state=OutboxMessage.State.DONE, done_at__lt=timezone.now() - KEEP_DONE
    ).delete()
    return published


def run(message_id: int, handler: Handler) -> str:
    """Run one pending row's handler and mark it done, in one transaction.

    'done', 'continued' (a long job ran one chunk and published the next) or 'skipped'
    (done or failed already, or being run right now by another worker). A handler that
    raises rolls its work back; the failure is counted on the row (in a transaction of
    its own) and re-raised for the task's retries. After ``MAX_FAILURES`` the row is
    marked failed and neither the task nor the relay runs it again.
    """
    try:
        with transaction.atomic():
            message = (
                OutboxMessage.objects.select_for_update(skip_locked=True)
                .filter(pk=message_id, state=OutboxMessage.State.PENDING)
                .first()
            )
            if message is None:
                return "skipped"
            message.payload, done = handler(message.payload)
            message.attempts += 1
            if done:
                message.state = OutboxMessage.State.DONE
                message.done_at = timezone.now()
            message.failures, message.last_error = 0, ""
            fields = ["payload", "attempts", "state", "done_at", "failures", "last_error"]
            fields.append("updated_at")
            message.save(update_fields=fields)
            if not done:
                transaction.on_commit(lambda: publish(message.pk, message.kind))
    except Exception as error:
        _count_failure(message_id, error)
        raise
    return "done" if done else "continued"


def _count_failure(message_id: int, error: Exception) -> None:
    with transaction.atomic():
        message = (
            OutboxMessage.objects.select_for_update()
            .filter(pk=message_id, state=OutboxMessage.State.PENDING)
            .first()
        )
        if message is None:
            return
        message.failures += 1
        message.last_error = f"{type(error).__name__}: {error}"[:2000]
        if message.failures >= MAX_FAILURES:
            message.state = OutboxMessage.State.FAILED
            logger.error(
                "Outbox: %s row %s failed %s times in a row; marked failed (%s)",
                message.kind,
                message.pk,
                message.failures,
                message.last_error,
            )
            if message.kind == Kind.MAIL:
                Notification.objects.filter(pk=message.payload.get("notification")).exclude(
                    state=Notification.State.SENT
                ).update(state=Notification.State.FAILED)
        message.save(update_fields=["failures", "last_error", "state", "updated_at"])


def retry_failed(queryset=None) -> int:
    """Put failed rows back to pending with a fresh count (an operator's retry)."""
    rows = OutboxMessage.objects.filter(state=OutboxMessage.State.FAILED)
    if queryset is not None:
        rows = rows.filter(pk__in=queryset.values("pk"))
    payloads = rows.filter(kind=Kind.MAIL).values_list("payload", flat=True)
    mails = [payload.get("notification") for payload in payloads]
    Notification.objects.filter(pk__in=mails, state=Notification.State.FAILED).update(
        state=Notification.State.PENDING
    )
    # Dated back, so the next relay run publishes them.
    return rows.update(
        state=OutboxMessage.State.PENDING, failures=0, updated_at=timezone.now() - KEEP_DONE
    )
