"""Benchmark: retracting a source cited by N articles, through the outbox, in chunks.

Seeds N approved articles whose live revision cites one source (one owner, one
reviewer), then on the same database times

* a plain SQL ``UPDATE`` setting ``flag_citation_retracted`` on the same rows (the
  baseline), reset afterwards;
* the retraction as the API makes it (``source_set_status``): the outbox row, then every
  chunk of the propagation and the digests, run inline (eager) as a worker would run
  them one task at a time;

and reports the mails queued, the audit events written, the number of chunks and the
slowest chunk (the longest any one task runs, to compare with the broker's visibility
timeout, and the longest a transactional mail can wait behind this job on one worker).

    python benchmarks/propagation.py                      # SQLite file in /tmp, N=20,000
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/reviewsite_bench \\
        python benchmarks/propagation.py --n 20000

Not a test: never run by pytest. It rewrites the benchmark database's tables.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "reviewsite.settings")
os.environ.setdefault(
    "DATABASE_URL",
    f"sqlite:///{Path(tempfile.gettempdir()) / 'reviewsite-bench-propagation.sqlite3'}",
)
os.environ["CELERY_TASK_ALWAYS_EAGER"] = "true"
os.environ["DJANGO_EMAIL_BACKEND"] = "django.core.mail.backends.dummy.EmailBackend"

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from articles.models import Article  # noqa: E402
from citations.models import Source  # noqa: E402
from citations.services import source_set_status  # noqa: E402
from tests import factories  # noqa: E402
from tests.helpers import clone_approved, make_article  # noqa: E402
from workflows import jobs  # noqa: E402
from workflows.models import AuditEvent, Notification, OutboxMessage  # noqa: E402

OWNER, RETRACTOR = "bench-propagation-owner", "bench-propagation-retractor"


def seed(n: int) -> Source:
    for model in (OutboxMessage, Notification):
        model.objects.all().delete()
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {AuditEvent._meta.db_table}")  # noqa: S608
    Article.objects.update(latest_revision=None, live_revision=None)
    Article.objects.all().delete()
    Source.objects.all().delete()
    source = factories.SourceFactory(key="bench1998")
    # Its own usernames, removed first: a rerun, or another benchmark on the same
    # BENCH_DATABASE_URL (stale_sweep.py has a "bench-owner"), left users behind.
    get_user_model().objects.filter(username__in=[OWNER, RETRACTOR]).delete()
    owner = factories.editor(username=OWNER)
    reviewer = factories.reviewer(username=RETRACTOR)
    template = make_article(
        editor=owner, reviewer=reviewer, state="approved", body="Text [@bench1998]."
    )
    clone_approved(template, n - 1, prefix="bench")
    return source


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20_000)
    args = parser.parse_args()
    name = connection.settings_dict["NAME"]
    if connection.vendor == "postgresql" and "bench" not in name:
        raise SystemExit(f"refusing to rewrite {name!r}: use a database named *bench*")
    call_command("migrate", verbosity=0)
    source = seed(args.n)

    started = time.perf_counter()
    Article.objects.update(flag_citation_retracted=True)
    baseline = time.perf_counter() - started
    Article.objects.update(flag_citation_retracted=False)

    chunks: list[float] = []
    step = jobs.propagate_step

    def timed_step(payload):
        began = time.perf_counter()
        try:
            return step(payload)
        finally:
            chunks.append(time.perf_counter() - began)

    jobs.propagate_step = timed_step
    reviewer = get_user_model().objects.get(username=RETRACTOR)  # made by seed()
    started = time.perf_counter()
    source_set_status(source_id=source.pk, actor=reviewer, status="retracted")
    total = time.perf_counter() - started
    jobs.propagate_step = step

    chunk = jobs.settings.REVIEWSITE_PROPAGATION_CHUNK
    median = sorted(chunks)[len(chunks) // 2]
    events = AuditEvent.objects.filter(action="flag:citation_retracted").count()
    mails = Notification.objects.filter(dedupe_key__startswith="source-status").count()
    print(f"{connection.vendor}, {args.n} citing articles, chunk {chunk}")
    print(f"  raw UPDATE of the same rows: {baseline:.2f} s")
    print(f"  retraction end to end:       {total:.2f} s ({total / baseline:.1f}x the UPDATE)")
    print(f"  chunks: {len(chunks)}, slowest {max(chunks):.2f} s, median {median:.2f} s")
    print(f"  audit events: {events}")
    print(f"  flagged: {Article.objects.filter(flag_citation_retracted=True).count()}")
    print(f"  mails queued: {mails}")
    print(f"  outbox rows pending: {OutboxMessage.objects.filter(state='pending').count()}")
    from benchmarks.report import emit

    emit(
        f"retraction propagation ({connection.vendor}, {args.n:,} articles)",
        total,
        baseline,
        unit="s",
        higher_is_better=False,
        detail=f"baseline: raw UPDATE of the same rows; {len(chunks)} chunks of {chunk}",
    )


if __name__ == "__main__":
    main()
