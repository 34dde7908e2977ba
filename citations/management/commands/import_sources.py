"""``manage.py import_sources FILE [FILE ...] [--format F] [--as USERNAME]``."""

from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.core.management.base import BaseCommand, CommandError

from citations.importers import FORMATS, UnsupportedFormat
from citations.services import import_size_problem, source_import


class Command(BaseCommand):
    """Import citation files into the source library and print what happened to each entry."""

    help = (
        "Import BibTeX, RIS, CSL-JSON, PubMed MEDLINE or Retraction Watch CSV files into the "
        "source library. Duplicates merge into existing sources. Exits non-zero when a file "
        "cannot be read or its format is not supported (the other files are still imported)."
    )

    def add_arguments(self, parser):
        parser.add_argument("files", nargs="+", metavar="FILE")
        parser.add_argument(
            "--format", dest="fmt", choices=FORMATS, help="Format of every file (default: detect)"
        )
        parser.add_argument(
            "--as",
            dest="username",
            help="Import as this user (an Editor): recorded as creator, permissions checked. "
            "Default: the system, with no creator recorded.",
        )

    def handle(self, *args, files, fmt, username, **options):
        actor = self._actor(username)
        totals = {"created": 0, "merged": 0, "refused": 0}
        failed = []
        for name in files:
            path = Path(name)
            try:
                data = path.read_bytes()
            except OSError as exc:
                failed.append(name)
                self.stderr.write(f"{name}: cannot read: {exc.strerror or exc}")
                continue
            problem = import_size_problem(len(data), path.name)
            if problem:
                failed.append(name)
                self.stderr.write(f"{name}: {problem}")
                continue
            try:
                report = source_import(actor=actor, data=data, filename=path.name, fmt=fmt)
            except UnsupportedFormat as exc:
                failed.append(name)
                self.stderr.write(f"{name}: {exc}")
                continue
            except PermissionDenied as exc:
                raise CommandError(str(exc))
            self._print_report(name, report)
            for outcome in totals:
                totals[outcome] += report[outcome]
        self.stdout.write(
            f"Total: {totals['created']} created, {totals['merged']} merged, "
            f"{totals['refused']} refused in {len(files) - len(failed)} file(s)"
        )
        if failed:
            raise CommandError(f"{len(failed)} file(s) not imported: {', '.join(failed)}")

    def _actor(self, username):
        if not username:
            return None
        try:
            return get_user_model().objects.get(username=username)
        except get_user_model().DoesNotExist:
            raise CommandError(f"No user {username!r}.")

    def _print_report(self, name: str, report: dict) -> None:
        self.stdout.write(f"{name}:")
        for line in report["entries"]:
            source = f" -> source {line['source']}" if line["source"] else ""
            reason = f": {line['reason']}" if line["reason"] else ""
            text = (
                f"  #{line['index']} {line['key'] or '(no key)'} {line['outcome']}{source}{reason}"
            )
            style = self.style.ERROR if line["outcome"] == "refused" else self.style.SUCCESS
            self.stdout.write(style(text) if line["outcome"] != "merged" else text)
        self.stdout.write(
            f"  {report['created']} created, {report['merged']} merged, {report['refused']} refused"
        )
