"""``manage.py check_sources [--source ID ...]``: run the integrity watch now."""

from django.core.management.base import BaseCommand, CommandError

from citations import integrity


class Command(BaseCommand):
    help = (
        "Ask Crossref and PubMed now whether cited sources were retracted, withdrawn, "
        "corrected or put under an expression of concern, and print what changed."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--source",
            dest="sources",
            action="extend",
            nargs="+",
            type=int,
            metavar="ID",
            help="Check these sources (--source 1 2, or repeated); default: every cited one due.",
        )
        parser.add_argument(
            "--limit", type=int, help="At most this many sources (default: the per-run cap)."
        )

    def handle(self, *args, sources=None, limit=None, **options):
        try:
            run = integrity.check_sources(source_ids=sources, limit=limit)
        except integrity.ChecksDisabled as exc:
            raise CommandError(f"{exc} Set it to true to run checks.")
        for line in run.summary_lines():
            self.stdout.write(line)
