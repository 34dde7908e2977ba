"""Workspace page timings: median and p90 of every workspace page, with its queries.

Usage: .venv/bin/python benchmarks/workspace_pages.py [--articles 1000] [--sources 2000]
       [--rounds 30]

Seeds a workspace (benchmarks/workspace_seed.py: 1,000 articles in every state, 2,000
sources, editors, reviewers, a managing editor, notifications, an import job, a figure)
in a fresh SQLite file, or in DATABASE_URL (a PostgreSQL database whose name contains
``bench``), then requests every GET page of the workspace URLconf (``workflows.urls``,
enumerated: a route this script does not know stops it) in-process through Django's
whole stack (middleware, session, auth, templates) with the test client, as the role
that uses it.

Baselines, in the same run and interleaved request by request:

* **bare view**: a view returning the same number of bytes with no template, query or
  session access (benchmarks/workspace_urls.py), through the same middleware and the
  same logged-in client: what Django itself costs for a response of that size. The
  ratio is page / bare view.
* **SQL alone**: the page's own queries (captured from one request), executed again as
  raw SQL on the same connection: what the database costs.

Prints one line per page (median, p90, queries, bytes, bare view, ratio, SQL alone) and
``BENCH {json}`` lines for benchmarks/run.py.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def pages(seeded, figure_id: int) -> list[tuple[str, str, object, list]]:
    """(label, route, user, args) for every GET page of workflows.urls, by role."""
    managing, editor = seeded.managing[0], seeded.editors[0]
    draft = seeded.by_state["draft"][0]
    owner = next(e for e in seeded.editors if e.pk == seeded.owner_of[draft])
    rereview = seeded.by_state["rereview"][0]  # its reviewer reads it again
    reviewer = next(r for r in seeded.reviewers if r.pk == seeded.reviewer_of[rereview])
    approved = seeded.by_state["approved"][0]
    source = seeded.source_ids[0]
    return [
        ("dashboard, managing editor", "dashboard", managing, []),
        ("dashboard, editor", "dashboard", editor, []),
        ("dashboard, reviewer", "dashboard", reviewer, []),
        ("pipeline", "pipeline", managing, []),
        ("notifications", "notifications", editor, []),
        ("article list", "article-list", editor, []),
        ("new article form", "article-create", editor, []),
        ("article edit", "article-edit", owner, [draft]),
        ("review page with diff", "article-review", reviewer, [rereview]),
        ("evidence pack", "evidence-pack", editor, [approved]),
        ("reviewers", "reviewer-list", managing, []),
        ("reviewer profile form", "reviewer-edit", managing, [reviewer.pk]),
        ("approval checklist", "checklist", managing, []),
        ("sources list", "source-library", editor, []),
        ("import job", "import-job", editor, [seeded.import_job_id]),
        ("source detail", "source-detail", editor, [source]),
        ("source edit form", "source-edit", editor, [source]),
        ("source picker (no script)", "source-picker", editor, []),
        ("figures", "figure-list", editor, []),
        ("new figure form", "figure-create", editor, []),
        ("figure detail", "figure-detail", editor, [figure_id]),
        ("figure picker (no script)", "figure-picker", editor, []),
        # Not under /workspace/ but a staff page of the workspace: the rendered preview.
        ("preview (reader layout)", "articles:preview", owner, [draft]),
    ]


def check_every_route_is_covered(listed: list) -> None:
    from workflows import urls

    routes = {p.name for p in urls.urlpatterns}
    covered = {route for _, route, _, _ in listed}
    missing = routes - covered - urls.POST_ONLY
    if missing:
        raise SystemExit(f"workspace routes with no page in this benchmark: {sorted(missing)}")


def make_figure(editor) -> int:
    import io

    from django.core.files.uploadedfile import SimpleUploadedFile
    from PIL import Image

    from articles.services import figure_upload

    out = io.BytesIO()
    Image.new("RGB", (1200, 800), color=(30, 120, 200)).save(out, format="PNG")
    upload = SimpleUploadedFile("scan.png", out.getvalue(), content_type="image/png")
    return figure_upload(actor=editor, file=upload, alt_text="Brain MRI with lesions").pk


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=1000)
    parser.add_argument("--sources", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument(
        "--through-services",
        type=int,
        default=200,
        help="articles made through the workflow services (the rest are copies)",
    )
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="reviewsite-workspace-bench-"))
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{workdir / 'bench.sqlite3'}")
    database_url = os.environ["DATABASE_URL"]
    if database_url.startswith("postgres") and "bench" not in database_url.rsplit("/", 1)[-1]:
        raise SystemExit("a PostgreSQL DATABASE_URL must name a database containing 'bench'")
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "reviewsite.settings",
            "DJANGO_DEBUG": "false",
            "DJANGO_ALLOWED_HOSTS": "testserver",
            "DJANGO_EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
            "CELERY_TASK_ALWAYS_EAGER": "true",
            "REVIEWSITE_MEDIA_ROOT": str(workdir / "media"),
            "DJANGO_LOG_LEVEL": "WARNING",
        }
    )
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    import logging

    logging.getLogger("celery").setLevel(logging.WARNING)
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse

    from benchmarks.report import emit
    from benchmarks.workspace_seed import seed

    settings.ROOT_URLCONF = "benchmarks.workspace_urls"
    call_command("migrate", verbosity=0)
    started = time.monotonic()
    seeded = seed(
        articles=args.articles, sources=args.sources, through_services=args.through_services
    )
    figure_id = make_figure(seeded.editors[0])
    seed_seconds = time.monotonic() - started
    listed = pages(seeded, figure_id)
    check_every_route_is_covered(listed)

    clients = {}
    for _, _, user, _ in listed:
        if user.pk not in clients:
            clients[user.pk] = Client()
            clients[user.pk].force_login(user)

    plan = []
    for label, route, user, route_args in listed:
        name = route if ":" in route else f"workflows:{route}"
        url = reverse(name, args=route_args)
        client = clients[user.pk]
        response = client.get(url)
        if response.status_code != 200:
            raise SystemExit(f"{label}: {url} answered {response.status_code}")
        with CaptureQueriesContext(connection) as captured:
            client.get(url)
        queries = [q["sql"] for q in captured.captured_queries]
        size = len(response.content)
        bare = reverse("bench-bytes", args=[size])
        client.get(bare)
        plan.append(
            {"label": label, "url": url, "client": client, "bare": bare, "queries": queries}
        )
        plan[-1].update(size=size, page=[], bare_times=[], sql=[])

    def timed(call) -> float:
        begin = time.perf_counter()
        call()
        return (time.perf_counter() - begin) * 1000

    def replay(statements: list[str]) -> None:
        with connection.cursor() as cursor:
            for sql in statements:
                cursor.execute(sql)
                if cursor.description is not None:
                    cursor.fetchall()

    loads = [os.getloadavg()[0]]
    for _ in range(args.rounds):  # interleaved: page, bare view, SQL alone, next page
        for entry in plan:
            client = entry["client"]
            entry["page"].append(timed(lambda e=entry, c=client: c.get(e["url"])))
            entry["bare_times"].append(timed(lambda e=entry, c=client: c.get(e["bare"])))
            entry["sql"].append(timed(lambda e=entry: replay(e["queries"])))
        loads.append(os.getloadavg()[0])

    print(
        f"database {connection.vendor}; {args.articles} articles, {args.sources} sources "
        f"(seeded in {seed_seconds:.0f}s); {args.rounds} rounds, interleaved; "
        f"load average {min(loads):.1f}-{max(loads):.1f}"
    )
    header = f"{'page':32} {'median':>8} {'p90':>8} {'queries':>7} {'bytes':>8} "
    print(header + f"{'bare':>7} {'ratio':>6} {'SQL':>7}")
    for entry in plan:
        median, p90 = statistics.median(entry["page"]), percentile(entry["page"], 0.9)
        bare = statistics.median(entry["bare_times"])
        sql = statistics.median(entry["sql"])
        print(
            f"{entry['label']:32} {median:7.1f}ms {p90:7.1f}ms {len(entry['queries']):7d} "
            f"{entry['size']:8d} {bare:6.2f}ms {median / bare:5.1f}x {sql:6.2f}ms"
        )
        emit(
            f"workspace: {entry['label']} ({len(entry['queries'])} queries; p90 {p90:.1f} ms; "
            f"its SQL alone {sql:.2f} ms) vs bare view, same bytes",
            median,
            bare,
            unit="ms",
            higher_is_better=False,
            detail=f"{args.articles} articles, {args.sources} sources, {connection.vendor}",
        )


if __name__ == "__main__":
    main()
