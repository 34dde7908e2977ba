"""Citation benchmarks (a script, never a test): article rendering and bulk import.

(a) An article with 500 citation markers of 300 sources: the first render
    (``articles.services.revision_create``, which formats every entry with citeproc)
    against serving the stored revision (``GET /articles/<slug>/`` through Django's
    test Client), counting citeproc calls during the GET (expected: 0).
(b) Importing 10,000 generated BibTeX entries with ``citations.services.source_import``
    (entries/s), then importing the same file again (all merges). With ``--old`` the
    import as committed before the rewrite (``git show HEAD:citations/services.py``)
    runs too, for comparison.

Usage (throwaway databases only; the SQLite file is deleted first)::

    .venv/bin/python benchmarks/citations_bench.py                 # sqlite:////tmp/bench.sqlite3
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/reviewsite_bench \\
        .venv/bin/python benchmarks/citations_bench.py --old
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import subprocess
import sys
import time
import types
from contextlib import contextmanager
from pathlib import Path
from unittest import mock

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DATABASE_URL", "sqlite:////tmp/bench.sqlite3")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "reviewsite.settings")
# The test Client talks to "testserver".
os.environ["DJANGO_ALLOWED_HOSTS"] = "testserver,127.0.0.1,localhost"


def _setup() -> None:
    url = os.environ["DATABASE_URL"]
    if url.startswith("sqlite:///"):
        path = Path(url[len("sqlite:///") :])
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    import django

    django.setup()
    from django.core.management import call_command

    if url.startswith("postgres"):
        from django.db import connection

        # The schema is dropped: refuse anything that does not look like a throwaway database.
        if "bench" not in connection.settings_dict["NAME"]:
            sys.exit("Use a throwaway PostgreSQL database whose name contains 'bench'.")
        with connection.cursor() as cursor:
            cursor.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
    call_command("migrate", verbosity=0)


@contextmanager
def timed(label: str, results: dict):
    start = time.perf_counter()
    yield
    results[label] = time.perf_counter() - start


def _users():
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.utils import timezone

    from articles.models import ReviewerProfile
    from reviewsite.roles import EDITORS, REVIEWERS

    user_model = get_user_model()
    editor, _ = user_model.objects.get_or_create(username="bench-editor")
    editor.groups.add(Group.objects.get(name=EDITORS))
    reviewer, _ = user_model.objects.get_or_create(username="bench-reviewer")
    reviewer.groups.add(Group.objects.get(name=REVIEWERS))
    ReviewerProfile.objects.get_or_create(
        user=reviewer,
        defaults={
            "display_name": "Dr Bench",
            "credentials": "MD",
            "credentials_verified_at": timezone.now(),  # only verified reviewers approve
        },
    )
    return editor, reviewer


def _signed(audience: str) -> dict:
    """What a reviewer signs with an approval: the checklist confirmed, no conflict."""
    from workflows.review_record import checklist_for

    return {
        "checklist": {item.key: True for item in checklist_for(audience)},
        "conflict_of_interest": {"declared": False},
    }


# --- (a) rendering ---------------------------------------------------------------------------


def bench_render(editor, reviewer) -> dict:
    """First render vs serving a stored revision of an article with 500 markers."""
    from django.core.cache import cache
    from django.db import transaction
    from django.test import Client

    import citations.formatting as formatting
    from articles.services import Content, revision_create
    from citations.models import Source
    from workflows import services as workflow

    sources = Source.objects.bulk_create(
        Source(
            key=f"bench{i}",
            title=f"Outcomes of disease-modifying therapy in cohort {i}",
            authors=[{"family": f"Author{i}", "given": "A B"}, {"family": "Second", "given": "C"}],
            container_title="Journal of Neurology",
            issued=f"{2000 + i % 24}-0{1 + i % 9}",
            volume=str(i % 90 + 1),
            issue=str(i % 12 + 1),
            pages=f"{i}-{i + 9}",
            doi=f"10.5555/bench.{i}",
            pmid=str(30000000 + i),
            evidence_type=Source.EvidenceType.COHORT,
        )
        for i in range(300)
    )
    keys = [s.key for s in sources]
    paragraphs, markers = [], 0
    for n in range(250):
        first, second = keys[n % 300], keys[(n * 7 + 50) % 300]
        paragraphs.append(
            f"## Section {n}\n\nFinding {n} was replicated [@{first}]. "
            f"Later cohorts disagreed [@{second}; @{keys[(n + 150) % 300]}, p. {n}]."
        )
        markers += 2
    body = "\n\n".join(paragraphs)
    results: dict = {"markers": markers, "marker keys": 3 * 250, "sources": 300}

    article = workflow.article_create(actor=editor, title="Benchmark article", body="Start.")
    content = Content(title="Benchmark article", summary="S", body=body, intentional={})
    calls = {"format_one": 0}
    real_format_one = formatting._format_one

    def counting_format_one(*args, **kwargs):
        calls["format_one"] += 1
        return real_format_one(*args, **kwargs)

    with (
        mock.patch.object(formatting, "_format_one", counting_format_one),
        timed("revision_create (first render)", results),
        transaction.atomic(),
    ):
        revision = revision_create(article=article, content=content, author=editor)
        article.save(update_fields=["latest_revision"])
    results["citeproc calls in revision_create"] = calls["format_one"]
    results["citations stored"] = revision.citations.count()

    workflow.article_submit(article_id=article.pk, actor=editor)
    workflow.article_start_review(article_id=article.pk, actor=reviewer)
    article = workflow.article_approve(
        article_id=article.pk, actor=reviewer, **_signed(article.audience)
    )

    client = Client()
    url = f"/articles/{article.slug}/"
    calls["format_one"] = 0
    cold, warm = [], []
    with mock.patch.object(formatting, "_format_one", counting_format_one):
        for _ in range(10):
            cache.clear()
            start = time.perf_counter()
            response = client.get(url)
            cold.append(time.perf_counter() - start)
            assert response.status_code == 200, response.status_code
            start = time.perf_counter()
            client.get(url)
            warm.append(time.perf_counter() - start)
    results["citeproc calls during 20 page GETs"] = calls["format_one"]
    results["GET stored revision, page cache empty (median s)"] = statistics.median(cold)
    results["GET stored revision, page cached (median s)"] = statistics.median(warm)
    results["page bytes"] = len(response.content)
    return results


# --- (b) import ------------------------------------------------------------------------------


def generate_bibtex(n: int, *, offset: int = 0) -> bytes:
    """``n`` BibTeX entries; a third carry a PMID, every fifth no DOI (merged by signature)."""
    parts = []
    for i in range(offset, offset + n):
        fields = [
            f"  title = {{Effect of treatment {i} on relapse rate in multiple sclerosis}}",
            f"  author = {{Family{i}, Given and Other, Person}}",
            "  journal = {Mult Scler J}",
            f"  year = {{{1990 + i % 35}}}",
            f"  volume = {{{i % 40 + 1}}}",
            f"  pages = {{{i % 900 + 1}--{i % 900 + 12}}}",
        ]
        if i % 5:
            fields.append(f"  doi = {{10.7777/bench.{i}}}")
        if i % 3 == 0:
            fields.append(f"  pmid = {{{20000000 + i}}}")
        parts.append(f"@article{{gen{i},\n" + ",\n".join(fields) + "\n}\n")
    return "\n".join(parts).encode()


def _old_services() -> types.ModuleType | None:
    """The committed (pre-rewrite) citations.services, loaded under another name."""
    try:
        text = subprocess.run(
            ["git", "show", "HEAD:citations/services.py"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    module = types.ModuleType("citations._services_before")
    module.__package__ = "citations"
    exec(compile(text, "citations/services.py@HEAD", "exec"), module.__dict__)  # noqa: S102
    return module


def bench_import(editor, n: int, old: bool) -> dict:
    """Entries per second for a fresh import and a re-import of the same file.

    Parsing (bibtexparser + pylatexenc, in ``citations/importers/``) is timed on its own, and
    the imports run on the pre-parsed entries, so the service's own (database) cost is
    not hidden in parser time on a busy machine.
    """
    import citations.services as services
    from citations.importers import parse_file
    from citations.models import Source

    data = generate_bibtex(n)
    results: dict = {"entries": n, "file bytes": len(data)}
    existing = Source.objects.count()
    with timed("parse_file", results):
        entries = parse_file(data, "bench.bib")
    results["parse entries/s"] = n / results["parse_file"]

    def run(module, label: str, parsed) -> dict:
        from citations.importers import OpenedFile

        # Services read a file either whole (parse_file) or in batches (open_file).
        if hasattr(module, "open_file"):
            patch = mock.patch.object(
                module, "open_file", return_value=OpenedFile("bibtex", n, iter([parsed]))
            )
        else:
            patch = mock.patch.object(module, "parse_file", return_value=parsed)
        with patch, timed(label, results):
            report = module.source_import(actor=editor, data=b"", filename="bench.bib")
        results[f"{label}: entries/s"] = n / results[label]
        return report

    first = run(services, "import, new sources (no parse)", entries)
    assert first["created"] == n, {k: first[k] for k in ("created", "merged", "refused")}
    second = run(services, "re-import, all merged (no parse)", entries)
    assert second["merged"] == n and Source.objects.count() == existing + n
    results["end to end import entries/s (parse + import)"] = n / (
        results["parse_file"] + results["import, new sources (no parse)"]
    )
    if old:
        before = _old_services()
        if before is not None:
            other = parse_file(generate_bibtex(n, offset=n), "old.bib")
            report = run(before, "old code: import, new sources (no parse)", other)
            assert report["created"] == n
            run(before, "old code: re-import, all merged (no parse)", other)
    results["database"] = connection_vendor()
    return results


def connection_vendor() -> str:
    from django.db import connection

    return connection.vendor


def _print(title: str, results: dict) -> None:
    print(f"\n{title}")
    for label, value in results.items():
        shown = f"{value:.4f}" if isinstance(value, float) else value
        print(f"  {label:<52} {shown}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=10_000)
    parser.add_argument("--old", action="store_true", help="also time the pre-rewrite import")
    parser.add_argument("--skip-render", action="store_true")
    args = parser.parse_args()
    # bibtexparser logs one line per multi-author field; it would drown the results.
    logging.getLogger("bibtexparser").setLevel(logging.ERROR)
    _setup()
    editor, reviewer = _users()
    print(f"database: {os.environ['DATABASE_URL']}")
    from benchmarks.report import emit

    if not args.skip_render:
        render = bench_render(editor, reviewer)
        _print("(a) article with 500 markers of 300 sources", render)
        emit(
            "citation rendering, cached page GET (500 markers)",
            render["GET stored revision, page cached (median s)"] * 1000,
            render["GET stored revision, page cache empty (median s)"] * 1000,
            unit="ms",
            higher_is_better=False,
            detail="baseline: the same GET with the page cache empty (rendered body and "
            f"references read, not re-rendered); {render['citeproc calls during 20 page GETs']} "
            "citeproc calls per GET",
        )
    imported = bench_import(editor, args.entries, args.old)
    _print(f"(b) import of {args.entries} BibTeX entries", imported)
    import bibtexparser

    started = time.perf_counter()
    bibtexparser.parse_string(generate_bibtex(args.entries).decode())
    bare = time.perf_counter() - started
    emit(
        f"BibTeX import, {args.entries:,} entries (parse + store)",
        imported["parse_file"] + imported["import, new sources (no parse)"],
        bare,
        unit="s",
        higher_is_better=False,
        detail="baseline: bibtexparser.parse_string alone on the same file, same run",
    )


if __name__ == "__main__":
    main()
