"""Email: queue a notification in the caller's transaction, send it from a worker.

Each notification and its outbox row are written in the caller's transaction and sent
by a worker only after it commits, so a rolled-back change sends nothing and a broker
that is down delays the mail instead of losing it (see ``workflows.outbox``).
"""

from __future__ import annotations

from collections.abc import Iterable

from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from . import outbox
from .models import Notification


def queue(*, recipients: Iterable, subject: str, body: str, dedupe_key: str) -> list[Notification]:
    """Create one notification per recipient with an email, once per dedupe key."""
    created_rows = []
    seen = set()
    for user in recipients:
        if user is None or user.pk in seen or not user.email or not user.is_active:
            continue
        seen.add(user.pk)
        notification, created = Notification.objects.get_or_create(
            dedupe_key=f"{dedupe_key}:u{user.pk}"[:200],
            defaults={"recipient": user, "subject": subject[:300], "body": body},
        )
        if created:
            outbox.record(
                outbox.Kind.MAIL, f"mail:n{notification.pk}", {"notification": notification.pk}
            )
            created_rows.append(notification)
    return created_rows


def send(payload: dict) -> tuple[dict, bool]:
    """The outbox handler of a mail row: send it unless it was sent already."""
    return payload, send_notification(payload["notification"]) in ("sent", "skipped")


def send_notification(notification_id: int) -> str:
    """Send one queued email unless it was sent already: 'sent' or 'skipped'."""
    with transaction.atomic():
        notification = (
            Notification.objects.select_for_update()
            .select_related("recipient")
            .filter(pk=notification_id)
            .first()
        )
        if notification is None or notification.state == Notification.State.SENT:
            return "skipped"
        send_mail(
            notification.subject,
            notification.body,
            None,
            [notification.recipient.email],
        )
        notification.state = Notification.State.SENT
        notification.sent_at = timezone.now()
        notification.attempts += 1
        notification.save(update_fields=["state", "sent_at", "attempts"])
    return "sent"
