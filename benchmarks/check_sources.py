"""Benchmark: the source integrity watch over N cited sources against the local replay server.

Seeds N sources (60 % with DOI and PMID, 20 % DOI only, 20 % PMID only), cited by
N/10 approved articles, and serves them from the test replay server
(``tests/citations/replay.py``): every DOI answers a real Crossref record (1 % the
retracted Wakefield paper, the rest the PLoS record with its updates removed), every
PMID a PubMed article derived from a real MEDLINE record (1 % the expression of
concern). Then, in a child process (for its peak RSS), it times

* the first run of ``citations.integrity.check_sources`` (about 1.6 % of the sources
  change: status service, propagation and mail included), and
* a second run with no news (every check ``unchanged``),

against the floor: the same HTTP requests (as many Crossref requests at once as the
watch makes) with plain ``requests`` sessions, no parsing and no database, in the
same run. Counts requests
(PubMed batches of 200) and database queries.

    python benchmarks/check_sources.py                 # SQLite file in /tmp, N=10,000
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/reviewsite_integrity_bench \\
        python benchmarks/check_sources.py

Not a test: never run by pytest. It rewrites the benchmark database's tables.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "reviewsite.settings")
os.environ.setdefault(
    "DATABASE_URL",
    f"sqlite:///{Path(tempfile.gettempdir()) / 'reviewsite-bench-integrity.sqlite3'}",
)
os.environ["CELERY_TASK_ALWAYS_EAGER"] = "true"
os.environ["DJANGO_EMAIL_BACKEND"] = "django.core.mail.backends.dummy.EmailBackend"
os.environ["DJANGO_LOG_LEVEL"] = "WARNING"
os.environ["REVIEWSITE_SOURCE_CHECK_ENABLED"] = "true"
os.environ["REVIEWSITE_CROSSREF_MIN_INTERVAL"] = "0"
os.environ["REVIEWSITE_PUBMED_MIN_INTERVAL"] = "0"
os.environ["REVIEWSITE_SOURCE_CHECK_BACKOFF"] = "0"
os.environ["REVIEWSITE_CONTACT_EMAIL"] = "bench@example.org"

import django  # noqa: E402

django.setup()

import requests  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from articles.models import Article, ArticleRevision, RevisionCitation  # noqa: E402
from citations.models import Source  # noqa: E402
from tests import factories  # noqa: E402
from tests.citations.replay import ReplayServer, crossref_records, pubmed_articles  # noqa: E402

if connection.vendor == "postgresql" and "bench" not in connection.settings_dict["NAME"]:
    sys.exit("Refusing to rewrite a PostgreSQL database whose name lacks 'bench'.")

#: Crossref requests at once, in the watch and in the floor alike (the polite-pool default).
CONCURRENCY = 3
ACTIVE_DOI = "10.1371/journal.pone.0064723"
RETRACTED_DOI = "10.1016/s0140-6736(97)11096-0"
ACTIVE_PMID, CONCERN_PMID = "27532363", "23741377"


def identifiers(n: int) -> list[tuple[str, str]]:
    """(doi, pmid) of source i; one of them may be ''."""
    rows = []
    for i in range(n):
        kind = i % 10
        doi = f"10.5555/bench.{i}" if kind < 8 else ""
        pmid = str(70_000_000 + i) if kind < 6 or kind >= 8 else ""
        rows.append((doi, pmid))
    return rows


def seed(n: int) -> None:
    """N sources cited by N/10 approved articles (10 each), set-based."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "UPDATE articles_article SET latest_revision_id = NULL, live_revision_id = NULL"
        )
        for table in (
            "workflows_notification",
            "workflows_auditevent",
            "workflows_approval",
            "workflows_reviewassignment",
            "articles_revisioncitation",
            "articles_articlerevision",
            "articles_article",
            "citations_sourcecheck",
            "citations_sourcestatusevent",
            "citations_source",
        ):
            cursor.execute(f"DELETE FROM {table}")  # noqa: S608 - fixed names
    with transaction.atomic():
        owner = factories.UserFactory(username="bench-owner")
        sources = Source.objects.bulk_create(
            [
                Source(key=f"bench{i}", title=f"Benchmark source {i}", doi=doi, pmid=pmid)
                for i, (doi, pmid) in enumerate(identifiers(n))
            ],
            batch_size=500,
        )
        now = timezone.now()
        articles = Article.objects.bulk_create(
            [
                Article(slug=f"bench-{a}", owner=owner, status="approved", last_reviewed=now)
                for a in range(max(n // 10, 1))
            ],
            batch_size=500,
        )
        revisions = ArticleRevision.objects.bulk_create(
            [
                ArticleRevision(article=a, number=1, title=a.slug, content_hash="x", author=owner)
                for a in articles
            ],
            batch_size=500,
        )
        for article, revision in zip(articles, revisions, strict=True):
            article.latest_revision = article.live_revision = revision
        Article.objects.bulk_update(articles, ["latest_revision", "live_revision"], batch_size=500)
        RevisionCitation.objects.bulk_create(
            [
                RevisionCitation(
                    revision=revisions[i // 10], number=i % 10 + 1, source=s, key=s.key
                )
                for i, s in enumerate(sources)
            ],
            batch_size=500,
        )


def serve(server: ReplayServer, n: int) -> None:
    """Every generated DOI and PMID answers a real record (1 % of them a flagged one)."""
    records = crossref_records()
    active = records[ACTIVE_DOI.lower()]
    active["message"] = {k: v for k, v in active["message"].items() if k != "updated-by"}
    active_bytes = json.dumps(active).encode()
    retracted_bytes = json.dumps(records[RETRACTED_DOI]).encode()
    articles = pubmed_articles()
    state = server.registries
    for i, (doi, pmid) in enumerate(identifiers(n)):
        if doi:
            state.crossref[doi] = retracted_bytes if i % 100 == 1 else active_bytes
        if pmid:
            template = CONCERN_PMID if i % 100 == 9 else ACTIVE_PMID
            state.pubmed[pmid] = articles[template].replace(template.encode(), pmid.encode())


def floor(url: str, n: int, concurrency: int) -> tuple[float, int]:
    """The same requests, as many at once, with plain sessions: no parsing, no database."""
    rows = identifiers(n)
    dois = [d for d, _p in rows if d]
    pmids = [p for _d, p in rows if p]
    local = threading.local()

    def get(url_params):
        if not hasattr(local, "session"):
            local.session = requests.Session()
        target, params = url_params
        return len(local.session.get(target, params=params, timeout=10).content)

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        made = len(list(pool.map(get, [(f"{url}/works/{doi}", None) for doi in dois])))
    for start in range(0, len(pmids), 200):
        get((f"{url}/efetch.fcgi", {"db": "pubmed", "id": ",".join(pmids[start : start + 200])}))
        made += 1
    return time.perf_counter() - started, made


def child(n: int) -> None:
    """In the child: two runs; print JSON with seconds, requests, queries, peak RSS."""
    from citations import integrity

    queries = 0

    def count(execute, sql, params, many, context):
        nonlocal queries
        queries += 1
        return execute(sql, params, many, context)

    out = {}
    for name in ("first", "second"):
        queries = 0
        with connection.execute_wrapper(count):
            started = time.perf_counter()
            run = integrity.check_sources(limit=n)
            seconds = time.perf_counter() - started
        out[name] = {
            "seconds": seconds,
            "checked": run.checked,
            "changed": run.changed,
            "errors": run.errors,
            "requests": {k: v["requests"] for k, v in run.registries.items()},
            "queries": queries,
        }
    out["peak_rss_kib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps(out))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.n)
        return
    call_command("migrate", verbosity=0)
    print(f"{connection.vendor}, {args.n:,} cited sources")
    seed(args.n)
    with ReplayServer() as server:
        serve(server, args.n)
        floor_seconds, floor_requests = floor(server.url, args.n, CONCURRENCY)
        env = {
            **os.environ,
            "REVIEWSITE_CROSSREF_URL": server.url,
            "REVIEWSITE_PUBMED_URL": server.url,
            "REVIEWSITE_SOURCE_CHECK_MAX_PER_RUN": str(args.n),
            "REVIEWSITE_CROSSREF_CONCURRENCY": str(CONCURRENCY),
        }
        server.registries.log.clear()
        result = json.loads(
            subprocess.run(
                [sys.executable, __file__, "--child", "--n", str(args.n)],
                check=True,
                capture_output=True,
                text=True,
                env=env,
            ).stdout.splitlines()[-1]
        )
        served = len(server.registries.log)
    print(
        f"floor (same {floor_requests:,} GETs, {CONCURRENCY} Crossref at once, no parsing, "
        f"no database): {floor_seconds:.2f}s"
    )
    for name in ("first", "second"):
        r = result[name]
        print(
            f"{name} run: {r['seconds']:.2f}s, {r['checked']:,} checked, {r['changed']} changed, "
            f"{r['errors']} errors, requests {r['requests']}, {r['queries']:,} queries "
            f"({r['queries'] / max(r['checked'], 1) * 200:.1f} per batch of 200): "
            f"{r['seconds'] / floor_seconds:.2f}x the floor"
        )
    print(f"requests the server saw (both runs): {served:,}")
    print(f"child peak RSS: {result['peak_rss_kib'] / 1024:.0f} MiB")
    from benchmarks.report import emit

    emit(
        f"integrity check, no news ({connection.vendor}, {args.n:,} sources)",
        result["second"]["seconds"],
        floor_seconds,
        unit="s",
        higher_is_better=False,
        detail=f"baseline: the same {floor_requests:,} GETs alone (no parsing, no database)",
    )


if __name__ == "__main__":
    main()
