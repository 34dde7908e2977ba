"""Celery tasks: thin, idempotent, given ids; the work is in services."""

from __future__ import annotations

import smtplib

from celery import shared_task
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from .models import Notification


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
