"""Benchmark: the stale-review sweep against a plain SQL UPDATE, and its peak memory.

Seeds N approved articles with set-based SQL (review dates spread so that about 14 %
are overdue and 7 % due soon), then on the same database times

* the first sweep (every flag is new: an audit event per change, digests) against one
  raw ``UPDATE`` setting the same flags on the same rows;
* a daily sweep (one day later, few changes) against the same raw ``UPDATE``;

and runs the sweep in child processes at N/10 and N articles, reading their peak RSS.

    python benchmarks/stale_sweep.py                      # SQLite file in /tmp, N=100,000
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/reviewsite_bench \\
        python benchmarks/stale_sweep.py --n 1000000

Not a test: never run by pytest. It rewrites the benchmark database's tables.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "reviewsite.settings")
os.environ.setdefault(
    "DATABASE_URL", f"sqlite:///{Path(tempfile.gettempdir()) / 'reviewsite-bench.sqlite3'}"
)
# Digests are queued as usual; send them inline to nowhere instead of to a broker.
os.environ["CELERY_TASK_ALWAYS_EAGER"] = "true"
os.environ["DJANGO_EMAIL_BACKEND"] = "django.core.mail.backends.dummy.EmailBackend"

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import DatabaseError, connection, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from articles.models import Article, ArticleRevision  # noqa: E402
from tests import factories  # noqa: E402
from workflows import jobs  # noqa: E402

POSTGRES = connection.vendor == "postgresql"
T = Article._meta.db_table
SPREAD, OVERDUE_DAYS = 425, 60  # due dates from 60 days ago to 365 days ahead


def seed(n: int, now) -> None:
    """N approved articles sharing one owner, reviewer and live revision; set-based."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"UPDATE {T} SET latest_revision_id = NULL, live_revision_id = NULL")
        for table in (
            "workflows_notification",
            "workflows_auditevent",
            "workflows_approval",
            "workflows_reviewassignment",
            "articles_revisioncitation",
            "articles_articlerevision",
            T,
        ):
            cursor.execute(f"DELETE FROM {table}")
    with transaction.atomic():
        # A run killed half-way leaves its users behind.
        factories.UserFactory._meta.model.objects.filter(
            username__in=["bench-owner", "bench-reviewer"]
        ).delete()
        owner = factories.UserFactory(username="bench-owner")
        reviewer = factories.UserFactory(username="bench-reviewer")
        template = Article.objects.create(slug="bench-template", owner=owner, status="approved")
        revision = ArticleRevision.objects.create(
            article=template, number=1, title="Benchmark article", content_hash="x", author=owner
        )
    ts = "%s"
    if POSTGRES:
        series = "SELECT g AS i FROM generate_series(1, %s) AS g"
        due = f"{ts}::timestamptz + ((i %% {SPREAD}) - {OVERDUE_DAYS}) * interval '1 day'"
        source = series
    else:
        source = (
            "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < %s) "
            "SELECT i FROM s"
        )
        days = f"((i %% {SPREAD}) - {OVERDUE_DAYS}) || ' days'"
        due = f"strftime('%%Y-%%m-%%d %%H:%%M:%%f', {ts}, {days})"
    columns = (
        "slug, audience, topic, variant_group, owner_id, status, latest_revision_id, "
        "live_revision_id, required_approvals, version, last_updated, last_reviewed, "
        "last_reviewed_by_id, next_review_due, flag_review_overdue, flag_review_due_soon, "
        "flag_citation_retracted, flag_citation_concern, flag_citation_corrected, "
        "flag_variant_changed, review_declarations, created_at, updated_at"
    )
    select = (
        f"SELECT 'bench-' || i, 'general', '', '', {owner.pk}, 'approved', {revision.pk}, "
        f"{revision.pk}, 1, 1, {ts}, {ts}, {reviewer.pk}, {due}, "
        f"false, false, false, false, false, false, '[]', {ts}, {ts} FROM ({source}) AS src"
    )
    stamp = now if POSTGRES else now.strftime("%Y-%m-%d %H:%M:%S.%f")
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {T} ({columns}) {select}", [stamp] * 4 + [stamp, n])
    analyze()


def analyze() -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM ANALYZE {T}" if POSTGRES else "ANALYZE")


def reset_flags() -> None:
    """Back to no flags and no audit trail, so every round starts from the same rows."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {T} SET flag_review_overdue = false, flag_review_due_soon = false "
            "WHERE flag_review_overdue OR flag_review_due_soon"
        )
        cursor.execute("DELETE FROM workflows_notification")
        cursor.execute("DELETE FROM workflows_auditevent")
    analyze()
    if POSTGRES:
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE workflows_auditevent")
        # Every timed step (ours and the raw UPDATE alike) starts with no dirty pages
        # left by the step before: at PostgreSQL's default max_wal_size each step forces
        # a checkpoint, which otherwise lands in whichever step comes next.
        try:
            with connection.cursor() as cursor:
                cursor.execute("CHECKPOINT")
        except DatabaseError:  # needs a superuser or pg_checkpoint: then noisier rounds
            pass


def raw_update(now) -> tuple[float, int]:
    """The floor: one UPDATE that sets exactly the flags the sweep sets."""
    soon = now + timedelta(days=30)
    if not POSTGRES:
        now, soon = (d.strftime("%Y-%m-%d %H:%M:%S.%f") for d in (now, soon))
    live = "status <> 'archived' AND live_revision_id IS NOT NULL AND next_review_due IS NOT NULL"
    over = f"({live} AND next_review_due <= %(now)s)"
    due = f"({live} AND next_review_due > %(now)s AND next_review_due <= %(soon)s)"
    sql = (
        f"UPDATE {T} SET flag_review_overdue = {over}, flag_review_due_soon = {due}, "
        f"version = version + 1 WHERE flag_review_overdue <> {over} "
        f"OR flag_review_due_soon <> {due}"
    )
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, {"now": now, "soon": soon})
        rows = cursor.rowcount
    return time.perf_counter() - started, rows


def timed_sweep(now) -> tuple[float, jobs.SweepResult]:
    started = time.perf_counter()
    result = jobs.flag_stale_articles(now=now, report=False)  # as the Celery task runs it
    return time.perf_counter() - started, result


def child_peak_rss(n: int) -> tuple[float, int]:
    """Seed n articles here, sweep them in a child process; (seconds, child's peak KiB)."""
    now = timezone.now()
    seed(n, now)
    out = subprocess.run(
        [sys.executable, __file__, "--child", now.isoformat()],
        check=True,
        capture_output=True,
        text=True,
        env=os.environ,
    ).stdout.split()
    return float(out[0]), int(out[1])


def child(now_iso: str) -> None:
    """In the child: one sweep, then print its duration and this process's peak RSS (KiB)."""
    from datetime import datetime

    seconds, _result = timed_sweep(datetime.fromisoformat(now_iso))
    print(f"{seconds:.3f} {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000 if POSTGRES else 100_000)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--no-memory", action="store_true", help="skip the peak-RSS children")
    parser.add_argument("--rounds", type=int, default=1, help="interleaved first-sweep rounds")
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return
    call_command("migrate", verbosity=0)
    n, now = args.n, timezone.now()
    print(f"{connection.vendor}, {n:,} approved articles")
    seed(n, now)

    # Warm up (imports, first queries) with a sweep that changes nothing: a century ago
    # no review was due.
    timed_sweep(now - timedelta(days=36500))
    raws, sweeps = [], []
    for round_ in range(args.rounds):
        # Interleaved, and every other round the sweep first, so neither always runs
        # on the table the other just left.
        for step in ("raw", "sweep") if round_ % 2 == 0 else ("sweep", "raw"):
            if step == "raw":
                seconds, raw_rows = raw_update(now)
                raws.append(seconds)
            else:
                seconds, result = timed_sweep(now)
                sweeps.append(seconds)
            reset_flags()
        print(
            f"round {round_ + 1}: sweep {sweeps[-1]:.2f}s, raw UPDATE {raws[-1]:.2f}s: "
            f"{sweeps[-1] / raws[-1]:.2f}x (load {os.getloadavg()[0]:.1f})",
            flush=True,
        )
    raw_first, sweep_first = statistics.median(raws), statistics.median(sweeps)
    first_rows = raw_rows
    ratios = sorted(s / r for s, r in zip(sweeps, raws, strict=True))
    print(
        f"first sweep: {sweep_first:.2f}s ({result.articles:,} articles, "
        f"{sum(result.changes.values()):,} audit events, {result.notifications} digests) "
        f"vs raw UPDATE {raw_first:.2f}s ({raw_rows:,} rows): {sweep_first / raw_first:.2f}x "
        f"(medians of {args.rounds}; per-round {', '.join(f'{r:.2f}' for r in ratios)})"
    )
    raw_update(now)  # today's flags, as the first sweep leaves them
    analyze()
    tomorrow = now + timedelta(days=1)
    raw_daily, raw_rows = raw_update(tomorrow)
    raw_update(now)  # back to today's flags, so the sweep sees the same change set
    analyze()
    sweep_daily, result = timed_sweep(tomorrow)
    print(
        f"daily sweep: {sweep_daily:.2f}s ({result.articles:,} articles) "
        f"vs raw UPDATE {raw_daily:.2f}s ({raw_rows:,} rows): {sweep_daily / raw_daily:.2f}x"
    )
    from benchmarks.report import emit

    emit(
        f"stale sweep, first ({connection.vendor}, {n:,} articles)",
        sweep_first,
        raw_first,
        unit="s",
        higher_is_better=False,
        goal=1.5 if POSTGRES else None,  # the goal is on PostgreSQL
        detail=f"baseline: raw UPDATE of the same {first_rows:,} rows, same run; median of "
        f"{args.rounds} interleaved rounds, per-round ratios {ratios[0]:.2f}-{ratios[-1]:.2f}",
    )
    emit(
        f"stale sweep, daily ({connection.vendor}, {n:,} articles)",
        sweep_daily,
        raw_daily,
        unit="s",
        higher_is_better=False,
        detail="baseline: raw UPDATE of the same rows one day later",
    )
    if args.no_memory:
        return
    for size in (max(n // 10, 1), n):
        seconds, peak = child_peak_rss(size)
        print(
            f"sweep in a child, {size:,} articles: {seconds:.2f}s, peak RSS {peak / 1024:.0f} MiB"
        )
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print(f"largest child peak RSS (RUSAGE_CHILDREN): {children / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
