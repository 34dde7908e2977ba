"""``manage.py flag_stale``: run the stale-review sweep now and print what it changed."""

from django.core.management.base import BaseCommand

from workflows import jobs


class Command(BaseCommand):
    help = "Flag approved articles overdue or due soon for review; clear flags that no longer hold."

    def handle(self, *args, **options) -> None:
        result = jobs.flag_stale_articles()
        if not result.changed:
            self.stdout.write("No changes.")
            return
        self.stdout.write(
            f"{result.articles} article(s) changed, {result.notifications} digest(s) queued."
        )
        for action, count in result.changes.items():
            if not count:
                continue
            self.stdout.write(f"{action}: {count}")
            slugs = result.slugs.get(action, [])
            for slug in slugs:
                self.stdout.write(f"  {slug}")
            if count > len(slugs):
                self.stdout.write(f"  … and {count - len(slugs)} more")
