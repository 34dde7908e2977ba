"""Article API throughput and query counts with many articles.

Usage: .venv/bin/python benchmarks/api_bench.py [--articles 10000] [--seconds 5]

Uses DATABASE_URL if set (PostgreSQL), else a throwaway SQLite file in /tmp. Seeds N
approved articles (each citing 3 sources) with bulk inserts, then times GET requests
through Django's full request stack (middleware, auth, DRF) in-process, and counts the
queries of each request.
"""

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DATABASE_URL", "sqlite:////tmp/reviewsite-api-bench.sqlite3")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "reviewsite.settings")
os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "testserver")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.contrib.auth.models import Group  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.utils import timezone  # noqa: E402
from rest_framework.settings import api_settings  # noqa: E402

from articles.models import Article, ArticleRevision, RevisionCitation  # noqa: E402
from benchmarks.report import emit  # noqa: E402
from citations.models import Source  # noqa: E402


def seed(n: int) -> None:
    """N approved articles with one revision citing three sources each."""
    if Article.objects.count() >= n:
        return
    User = get_user_model()
    editor, _ = User.objects.get_or_create(username="bench-editor")
    editor.groups.add(Group.objects.get(name="Editors"))
    sources = [
        Source.objects.get_or_create(
            key=f"bench{i}", defaults={"title": f"Benchmark source {i}", "doi": f"10.5555/b{i}"}
        )[0]
        for i in range(3)
    ]
    now = timezone.now()
    batch = 2000
    for start in range(Article.objects.count(), n, batch):
        stop = min(start + batch, n)
        articles = Article.objects.bulk_create(
            Article(
                slug=f"bench-article-{i}",
                owner=editor,
                status=Article.Status.APPROVED,
                last_updated=now,
                last_reviewed=now,
                next_review_due=now + timezone.timedelta(days=365),
            )
            for i in range(start, stop)
        )
        if connection.vendor == "sqlite":  # bulk_create does not return ids on old SQLite
            articles = list(Article.objects.filter(slug__in=[a.slug for a in articles]))
        revisions = ArticleRevision.objects.bulk_create(
            ArticleRevision(
                article=a,
                number=1,
                title=f"Benchmark article {a.slug}",
                summary="A summary.",
                body="Axons [@bench0; @bench1] and [@bench2].",
                body_html="<p>Axons</p>",
                content_hash=f"{a.pk:064d}",
                author=editor,
            )
            for a in articles
        )
        revisions = list(
            ArticleRevision.objects.filter(article__in=articles).only("id", "article_id")
        )
        RevisionCitation.objects.bulk_create(
            RevisionCitation(revision=r, number=k + 1, source=s, key=s.key)
            for r in revisions
            for k, s in enumerate(sources)
        )
        for r in revisions:
            Article.objects.filter(pk=r.article_id).update(latest_revision=r, live_revision=r)
        print(f"  seeded {stop}/{n}", flush=True)


def measure(client: Client, url: str, seconds: float) -> tuple[float, int]:
    """Requests per second over ``seconds``, and the queries of one request."""
    queries = []

    def count(execute, sql, params, many, context):
        queries.append(sql)
        return execute(sql, params, many, context)

    # Django resets connection.queries at each request, so count with a wrapper instead.
    with connection.execute_wrapper(count):
        response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    count, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        client.get(url)
        count += 1
    elapsed = time.perf_counter() - started
    return count / elapsed, len(queries)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--articles", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    # Throughput, not abuse: the per-address and per-user API rates are off here.
    rest = settings.REST_FRAMEWORK
    rates = {**rest.get("DEFAULT_THROTTLE_RATES", {}), "anon": None, "user": None}
    settings.REST_FRAMEWORK = {**rest, "DEFAULT_THROTTLE_RATES": rates}
    api_settings.reload()
    call_command("migrate", verbosity=0)
    print(f"database: {connection.vendor}; seeding {args.articles} articles")
    seed(args.articles)
    # Fresh planner statistics, as autovacuum would have gathered on a live database.
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")
    anonymous = Client()
    staff = Client()
    staff.force_login(get_user_model().objects.get(username="bench-editor"))
    detail_id = Article.objects.order_by("id").values_list("id", flat=True)[args.articles // 2]
    deep = max(1, min(50, args.articles // 100))
    rows = []
    for label, client in (("anonymous", anonymous), ("editor", staff)):
        for name, url in (
            ("list (page 1, 20 items)", "/api/v1/articles/"),
            (f"list (page {deep}, 100 items)", f"/api/v1/articles/?page={deep}&page_size=100"),
            ("list ?q= search", "/api/v1/articles/?q=article-77"),
            ("detail", f"/api/v1/articles/{detail_id}/"),
        ):
            rps, queries = measure(client, url, args.seconds)
            rows.append((label, name, rps, queries))
            print(f"{label:9} {name:28} {rps:8.1f} req/s  {queries} queries", flush=True)
            if label == "anonymous" and name.startswith("list (page 1"):
                # Interleaved: the bare view right after ours, then ours again.
                bare_rps = bare_list_rps(args.seconds)
                again, _ = measure(client, url, args.seconds)
                ours = (rps + again) / 2
                print(f"{'bare DRF':9} {name:28} {bare_rps:8.1f} req/s", flush=True)
                emit(
                    "API list, anonymous, page 1 (20 items)",
                    ours,
                    bare_rps,
                    unit="req/s",
                    higher_is_better=True,
                    detail=f"{connection.vendor}, {args.articles:,} articles; baseline: bare "
                    "DRF ListAPIView of the same rows (ModelSerializer of the article "
                    "columns, no authentication, permissions, throttles or middleware)",
                )
            if label == "anonymous" and name == "detail":
                emit(
                    "API detail, anonymous",
                    rps,
                    None,
                    unit="req/s",
                    higher_is_better=True,
                    detail=f"{queries} queries; no baseline yet",
                )


def bare_list_rps(seconds: float) -> float:
    """A bare DRF ListAPIView of the same rows: no auth, permissions, throttles, middleware."""
    from rest_framework import generics, pagination, serializers
    from rest_framework.test import APIRequestFactory

    from articles.models import live_q

    class Row(serializers.ModelSerializer):
        class Meta:
            model = Article
            fields = (
                "id", "slug", "audience", "topic", "status", "version", "last_updated",
                "last_reviewed", "next_review_due", "flag_review_overdue",
                "flag_review_due_soon", "flag_citation_retracted", "flag_citation_concern",
            )  # fmt: skip

    class Page(pagination.PageNumberPagination):
        page_size = 20

    view = generics.ListAPIView.as_view(
        queryset=Article.objects.filter(live_q()).order_by("-last_updated", "-id"),
        serializer_class=Row,
        pagination_class=Page,
        authentication_classes=[],
        permission_classes=[],
        throttle_classes=[],
    )
    factory = APIRequestFactory()

    def get():
        response = view(factory.get("/bare/"))
        response.render()
        assert response.status_code == 200

    get()
    count, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        get()
        count += 1
    return count / (time.perf_counter() - started)


if __name__ == "__main__":
    main()
