"""``manage.py outbox_retry``: list the outbox rows that gave up, and put them back."""

from django.core.management.base import BaseCommand

from workflows import outbox
from workflows.models import OutboxMessage


class Command(BaseCommand):
    help = "Show outbox rows marked failed after repeated errors; --all puts them back."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--all", action="store_true", help="retry every failed row")

    def handle(self, *args, **options) -> None:
        failed = OutboxMessage.objects.filter(state=OutboxMessage.State.FAILED).order_by("id")
        rows = list(failed.values_list("pk", "kind", "key", "failures", "last_error"))
        if not rows:
            self.stdout.write("No failed outbox rows.")
            return
        for pk, kind, key, failures, error in rows:
            self.stdout.write(f"#{pk} {kind} {key}: {failures} failures, last: {error}")
        if options["all"]:
            count = outbox.retry_failed()
            self.stdout.write(f"{count} row(s) put back; the relay publishes them within a minute.")
        else:
            self.stdout.write("Run with --all to retry them.")
