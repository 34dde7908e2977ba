"""Reader-side reads: what readers may see, the queries behind each page, the page cache key.

Visibility rule, in one place: an article is live when it has a live revision and is
not archived. Everything readers get goes through :func:`live_articles`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime

from django.core.cache import cache
from django.db import connection
from django.db.models import Max, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from .models import Article, ArticleRevision, EditorialPolicy, ReviewerProfile, RevisionCitation

#: Bump when the page templates change shape, so cached pages of the old shape are not served.
PAGE_CACHE_VERSION = "reader-page-3"
#: Text search configuration; the GIN index in migration 0002 uses the same one.
SEARCH_CONFIG = "english"
_AUDIENCE_ORDER = {value: index for index, value in enumerate(Article.Audience.values)}


def live_articles() -> QuerySet[Article]:
    """Articles readers may see: approved at least once (a live revision) and not archived."""
    return Article.objects.live()


def reader_article_list(*, q: str = "", topic: str = "", audience: str = "") -> QuerySet[Article]:
    """Live articles for the home page: searched, filtered, newest ``last_updated`` first."""
    articles = live_articles().select_related("live_revision", "last_reviewed_by__reviewer_profile")
    # The list never shows bodies; leave the largest columns in the database.
    articles = articles.defer("live_revision__body", "live_revision__body_html")
    if topic:
        articles = articles.filter(topic=topic)
    if audience:
        articles = articles.filter(audience=audience)
    q = q.strip()
    if not q:
        return articles.order_by("-last_updated", "-id")
    if connection.vendor == "postgresql":
        return _postgres_search(articles, q)
    # SQLite (development) has no full-text search worth the name: substring match.
    return articles.filter(_icontains(q)).order_by("-last_updated", "-id")


def _icontains(q: str) -> Q:
    condition = Q()
    # Every word must appear somewhere, as full-text search would require.
    for word in q.split()[:10]:
        condition &= (
            Q(live_revision__title__icontains=word)
            | Q(live_revision__summary__icontains=word)
            | Q(live_revision__body__icontains=word)
        )
    return condition


def _postgres_search(articles: QuerySet[Article], q: str) -> QuerySet[Article]:
    from django.contrib.postgres.search import SearchQuery, SearchRank, SearchVector

    # The same expression as the GIN index on articles_articlerevision, so the index is used.
    vector = SearchVector(
        "live_revision__title",
        "live_revision__summary",
        "live_revision__body",
        config=SEARCH_CONFIG,
    )
    query = SearchQuery(q, config=SEARCH_CONFIG, search_type="websearch")
    return (
        articles.annotate(search=vector)
        .filter(search=query)
        .annotate(rank=SearchRank(vector, query))
        .order_by("-rank", "-last_updated", "-id")
    )


def was_published(*, slug: str) -> bool:
    """Whether readers once had a reviewed page at ``slug`` (it is not live now)."""
    return Article.objects.filter(slug=slug, last_reviewed__isnull=False).exists()


def reader_topics() -> list[str]:
    """Distinct topics of live articles, for the filter."""
    return list(
        live_articles()
        .exclude(topic="")
        .order_by("topic")
        .values_list("topic", flat=True)
        .distinct()
    )


def reader_article(*, slug: str) -> Article | None:
    """The live article at ``slug`` with its live revision and reviewer, for rendering."""
    return (
        live_articles()
        .filter(slug=slug)
        .select_related("live_revision", "last_reviewed_by__reviewer_profile")
        # The body is fetched separately, and only when the page is not cached.
        .defer("live_revision__body", "live_revision__body_html")
        .order_by()
        .first()
    )


@dataclass(frozen=True)
class PageState:
    """Everything an article page depends on, read in one query: the cache key's input."""

    article_id: int
    slug: str
    audience: str
    variant_group: str
    values: tuple  # the remaining columns, only ever compared (see _STATE_COLUMNS)
    modified: tuple  # datetimes (or their database text) that bound Last-Modified


# (name, ORM path) of every column the page state reads, after the four above.
_STATE_COLUMNS = (
    "live_revision_id",
    "live_revision__content_hash",
    "version",
    "updated_at",
    "flag_review_overdue",
    "flag_review_due_soon",
    "flag_citation_retracted",
    "flag_citation_concern",
    "last_reviewed_by_id",
    "last_reviewed_by__reviewer_profile__display_name",
    "last_reviewed_by__reviewer_profile__credentials",
    "policy_id",
)
_MODIFIED_COLUMNS = (
    "last_updated",
    "last_reviewed",
    "sources_status_changed_at",
    "sources_updated_at",
    "policy_updated_at",
)
_SLUG_PLACEHOLDER = "\x00reader-page-state\x00"
_compiled_state_sql: dict[tuple[str, str], tuple[str, list, int]] = {}


def _state_queryset(slug: str) -> QuerySet:
    cited = (
        RevisionCitation.objects.filter(revision=OuterRef("live_revision"))
        .order_by()
        .values("revision")
    )
    policy = EditorialPolicy.objects.order_by("-updated_at", "-id")
    return (
        live_articles()
        .filter(slug=slug)
        .annotate(
            sources_status_changed_at=Subquery(
                cited.annotate(latest=Max("source__status_changed_at")).values("latest")
            ),
            sources_updated_at=Subquery(
                cited.annotate(latest=Max("source__updated_at")).values("latest")
            ),
            policy_id=Subquery(policy.values("id")[:1]),
            policy_updated_at=Subquery(policy.values("updated_at")[:1]),
        )
        .order_by()
        .values_list("id", "slug", "audience", "variant_group", *_STATE_COLUMNS, *_MODIFIED_COLUMNS)
    )


def reader_page_state(*, slug: str) -> PageState | None:
    """The state of the live article at ``slug`` (None if readers may not see it); one query.

    This runs on every article request, cached page or not. Building and compiling
    this ORM query costs several times more than running it, so its SQL is compiled
    once per process and database, and only the slug parameter changes.
    """
    compiled = _compiled_state_sql.get((connection.alias, connection.vendor))
    if compiled is None:
        sql, params = _state_queryset(_SLUG_PLACEHOLDER).query.sql_with_params()
        params = list(params)
        compiled = (sql, params, params.index(_SLUG_PLACEHOLDER))
        _compiled_state_sql[(connection.alias, connection.vendor)] = compiled
    sql, params, slug_index = compiled
    params = [*params[:slug_index], slug, *params[slug_index + 1 :]]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return None
    split = 4 + len(_STATE_COLUMNS)
    return PageState(
        article_id=row[0],
        slug=row[1],
        audience=row[2],
        variant_group=row[3],
        values=tuple(row[4:split]),
        modified=tuple(row[split:]),
    )


def preview_article(*, article_id: int) -> Article | None:
    """Any article with its working revision, for the staff preview."""
    return (
        Article.objects.filter(pk=article_id)
        .select_related("latest_revision", "live_revision", "last_reviewed_by__reviewer_profile")
        .first()
    )


@dataclass(frozen=True)
class Variant:
    """One audience version of an article, as the switcher and the redirect need it."""

    article_id: int
    slug: str
    audience: str
    live_revision_id: int

    @property
    def audience_label(self) -> str:
        """Human name of the audience."""
        return Article.Audience(self.audience).label


def reader_variants(variant_group: str) -> list[Variant]:
    """Live articles of a variant group, in audience order (none for an empty group)."""
    if not variant_group:
        return []
    rows = (
        live_articles()
        .filter(variant_group=variant_group)
        .values_list("id", "slug", "audience", "live_revision_id")
    )
    variants = [Variant(*row) for row in rows]
    return sorted(variants, key=lambda v: (_AUDIENCE_ORDER.get(v.audience, 99), v.article_id))


def revision_body_html(revision_id: int) -> str:
    """The stored, already sanitised body of a revision."""
    return ArticleRevision.objects.filter(pk=revision_id).values_list("body_html", flat=True).get()


def revision_references(revision_id: int) -> list[RevisionCitation]:
    """A revision's numbered references with their sources' current status, in one query."""
    return list(
        RevisionCitation.objects.filter(revision_id=revision_id)
        .select_related("source")
        .order_by("number")
    )


def current_policy() -> EditorialPolicy | None:
    """The newest editorial policy row, or None before one is written."""
    return EditorialPolicy.objects.order_by("-updated_at", "-id").first()


def policy_disclaimer() -> str:
    """The disclaimer of the current editorial policy ('' if none)."""
    newest = EditorialPolicy.objects.order_by("-updated_at", "-id")
    return newest.values_list("disclaimer", flat=True).first() or ""


def advisory_board() -> list[ReviewerProfile]:
    """Reviewer profiles shown on the editorial-policy page."""
    return list(ReviewerProfile.objects.filter(on_advisory_board=True).order_by("display_name"))


def feed_articles(limit: int = 20) -> list[Article]:
    """The most recently approved live articles, for the Atom feed."""
    return list(
        live_articles()
        .select_related("live_revision", "last_reviewed_by__reviewer_profile")
        .defer("live_revision__body", "live_revision__body_html")
        .order_by("-last_updated", "-id")[:limit]
    )


# --- the page cache ---------------------------------------------------------------------------


def reader_page_cache_key(state: PageState, variants: list[Variant], *, authenticated: bool) -> str:
    """Cache key of an article's rendered page: changes whenever the page would change.

    It covers the live revision and its content hash, the article's version, update
    time and flags, the reviewer shown, the last status change of any cited source, the
    disclaimer, the audience variants, and the header variant (signed in or not).
    """
    parts = [
        PAGE_CACHE_VERSION,
        state.article_id,
        state.slug,
        state.audience,
        state.variant_group,
        *state.values,
        *state.modified,
        ";".join(f"{v.slug}:{v.audience}:{v.live_revision_id}" for v in variants),
        "auth" if authenticated else "anon",
    ]
    digest = hashlib.sha256("\x1f".join(map(str, parts)).encode()).hexdigest()
    return f"reader:article:{state.article_id}:{digest}"


def reader_page_last_modified(state: PageState) -> datetime | None:
    """The newest moment anything on the article's page changed."""
    moments = [_as_datetime(value) for value in state.modified]
    moments = [moment for moment in moments if moment is not None]
    return max(moments) if moments else None


def _as_datetime(value) -> datetime | None:
    # Raw cursors return SQLite datetimes as text (UTC); PostgreSQL gives datetimes.
    if isinstance(value, str):
        value = parse_datetime(value)
    if not isinstance(value, datetime):
        return None
    return value if timezone.is_aware(value) else timezone.make_aware(value, UTC)


def reader_page_forget(*, article_id: int) -> None:
    """Drop the cached page of an article in its current state (both header variants).

    Keys already change with every approval, archive, flag or retraction, so stale
    pages are never served; this frees the entry at once, e.g. from a workflow
    service or after a template change.
    """
    from .page_cache import entry_key

    slug = Article.objects.filter(pk=article_id).values_list("slug", flat=True).first()
    if slug:
        cache.delete_many([entry_key(slug, authenticated=a) for a in (False, True)])
    state = reader_page_state(slug=slug) if slug else None
    if state is None:
        return
    variants = reader_variants(state.variant_group)
    cache.delete_many(
        [
            reader_page_cache_key(state, variants, authenticated=authenticated)
            for authenticated in (False, True)
        ]
    )


def figure_library(*, query: str = ""):
    """The media library, newest first, for lists and the editor's picker (one query)."""
    from .models import Figure

    figures = Figure.objects.select_related("uploaded_by")
    if query:
        figures = figures.filter(
            Q(alt_text__icontains=query) | Q(caption__icontains=query) | Q(credit__icontains=query)
        )
    return figures
