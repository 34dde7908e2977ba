"""Reader pages stay fast: constant queries, a cached page that invalidates itself, 304s."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from articles import selectors
from articles.models import Article, EditorialPolicy
from citations import services as citation_services
from tests.factories import SourceFactory
from tests.helpers import approval_kwargs
from workflows import jobs, services


def cited_article(article_in, editor, reviewer, n, **kwargs):
    EditorialPolicy.objects.get_or_create(body="Policy.", disclaimer="Disclaimer.")
    sources = SourceFactory.create_batch(n)
    body = "## Evidence\n\n" + "\n\n".join(
        f"Claim {i} [@{source.key}]. Again [@{source.key}]." for i, source in enumerate(sources)
    )
    return article_in("approved", editor=editor, reviewer=reviewer, body=body, **kwargs)


@pytest.mark.parametrize("citations", [1, 200])
def test_article_page_queries_do_not_grow_with_citations(
    client, editor, reviewer, article_in, django_assert_num_queries, citations
):
    article = cited_article(article_in, editor, reviewer, citations)
    url = article.get_absolute_url()
    # Not cached: the page state (cache key), the article, the body, the references,
    # the disclaimer.
    with django_assert_num_queries(5):
        cold = client.get(url)
    assert cold.status_code == 200
    assert cold.content.decode().count('class="reference') >= citations
    # Cached: no query at all (the cache generation and the page in one cache read).
    with django_assert_num_queries(0):
        warm = client.get(url)
    assert warm.status_code == 200
    assert warm.content == cold.content


@pytest.mark.parametrize("citations", [1, 200])
def test_variant_article_page_costs_one_more_query_whatever_the_citations(
    client, editor, reviewer, article_in, django_assert_num_queries, citations
):
    article = cited_article(article_in, editor, reviewer, citations, variant_group="ms")
    url = article.get_absolute_url()
    with django_assert_num_queries(6):
        assert client.get(url).status_code == 200
    with django_assert_num_queries(0):
        assert client.get(url).status_code == 200


@pytest.mark.parametrize("articles", [1, 25])
def test_list_page_queries_do_not_grow_with_articles(
    client, editor, reviewer, article_in, django_assert_num_queries, articles
):
    for n in range(articles):
        article_in("approved", editor=editor, reviewer=reviewer, title=f"Article {n}")
    # count, page, topics
    with django_assert_num_queries(3):
        assert client.get("/", {"q": "Article"}).status_code == 200


def test_policy_feed_and_sitemap_queries_are_bounded(
    client, editor, reviewer, article_in, django_assert_max_num_queries
):
    for n in range(5):
        article_in("approved", editor=editor, reviewer=reviewer, title=f"Article {n}")
    with django_assert_max_num_queries(2):
        assert client.get("/editorial-policy/").status_code == 200
    with django_assert_max_num_queries(1):
        assert client.get("/feed/").status_code == 200
    with django_assert_max_num_queries(2):
        assert client.get("/sitemap.xml").status_code == 200


def test_preview_queries_do_not_grow_with_citations(
    client, editor, reviewer, article_in, django_assert_max_num_queries
):
    small = cited_article(article_in, editor, reviewer, 1)
    large = cited_article(article_in, editor, reviewer, 50)
    client.force_login(editor)
    counts = []
    for article in (small, large):
        url = reverse("articles:preview", kwargs={"pk": article.pk})
        with django_assert_max_num_queries(10) as captured:
            assert client.get(url).status_code == 200
        counts.append(len(captured))
    assert counts[0] == counts[1]


# --- the page cache ------------------------------------------------------------------------------


@pytest.fixture
def live(editor, reviewer, article_in):
    SourceFactory(key="trapp1998")
    return article_in(
        "approved", editor=editor, reviewer=reviewer, title="Cached", body="Text [@trapp1998]."
    )


def test_new_approval_replaces_the_cached_page(client, live, editor, reviewer):
    assert "Text" in client.get(live.get_absolute_url()).content.decode()
    services.article_edit(
        article_id=live.pk, actor=editor, changes={"body": "Revised text [@trapp1998]."}
    )
    assert "Revised" not in client.get(live.get_absolute_url()).content.decode()
    services.article_submit(article_id=live.pk, actor=editor)
    services.article_start_review(article_id=live.pk, actor=reviewer)
    services.article_approve(article_id=live.pk, actor=reviewer, **approval_kwargs())
    assert "Revised text" in client.get(live.get_absolute_url()).content.decode()


def test_archive_is_not_hidden_by_the_cache(client, live, managing_editor):
    assert client.get(live.get_absolute_url()).status_code == 200
    services.article_archive(article_id=live.pk, actor=managing_editor)
    assert client.get(live.get_absolute_url()).status_code == 404


def test_source_status_change_replaces_the_cached_page(client, live, reviewer):
    assert "Retracted" not in client.get(live.get_absolute_url()).content.decode()
    source = live.live_revision.citations.get().source
    citation_services.source_set_status(source_id=source.pk, actor=reviewer, status="retracted")
    assert "Retracted" in client.get(live.get_absolute_url()).content.decode()


def test_flag_change_replaces_the_cached_page(client, live):
    assert "overdue" not in client.get(live.get_absolute_url()).content.decode()
    # The sweep sets the flag with one set-based UPDATE, which sends no model signal.
    Article.objects.filter(pk=live.pk).update(next_review_due=timezone.now() - timedelta(days=1))
    jobs.flag_stale_articles()
    assert "overdue" in client.get(live.get_absolute_url()).content.decode()


def test_a_cached_page_is_served_without_a_query_until_something_changes(
    client, live, reviewer, django_assert_num_queries
):
    url = live.get_absolute_url()
    first = client.get(url)
    with django_assert_num_queries(0):
        hit = client.get(url)
    assert hit.status_code == 200 and hit.content == first.content
    source = live.live_revision.citations.get().source
    citation_services.source_set_status(source_id=source.pk, actor=reviewer, status="retracted")
    with django_assert_num_queries(5):  # the page state, then a new render (as cold)
        changed = client.get(url)
    assert changed.status_code == 200 and "Retracted" in changed.content.decode()


def test_an_unrelated_change_costs_one_query_not_a_render(
    client, live, editor, reviewer, article_in, django_assert_num_queries
):
    url = live.get_absolute_url()
    client.get(url)
    article_in("approved", editor=editor, reviewer=reviewer, title="Another article")
    # The generation moved, but the page's state did not: its HTML comes from the cache.
    with django_assert_num_queries(1):
        assert client.get(url).status_code == 200


def test_anonymous_readers_get_no_session(client, live):
    response = client.get(live.get_absolute_url())
    assert response.status_code == 200
    assert settings.SESSION_COOKIE_NAME not in response.cookies
    assert response["Vary"] == "Cookie"  # the signed-in header is another variant


def test_new_disclaimer_replaces_the_cached_page(client, live, managing_editor):
    client.get(live.get_absolute_url())
    EditorialPolicy.objects.create(body="P", disclaimer="Fresh disclaimer.")
    assert "Fresh disclaimer." in client.get(live.get_absolute_url()).content.decode()


def test_signed_in_header_is_not_served_to_anonymous_readers(client, live, editor):
    client.force_login(editor)
    assert "Workspace" in client.get(live.get_absolute_url()).content.decode()
    client.logout()
    html = client.get(live.get_absolute_url()).content.decode()
    assert "Staff sign-in" in html and ">Workspace<" not in html


def test_reader_page_forget_drops_the_cached_page(client, live):
    client.get(live.get_absolute_url())
    state = selectors.reader_page_state(slug=live.slug)
    key = selectors.reader_page_cache_key(
        state, selectors.reader_variants(state.variant_group), authenticated=False
    )
    assert cache.get(key) is not None
    selectors.reader_page_forget(article_id=live.pk)
    assert cache.get(key) is None


# --- conditional GET ---------------------------------------------------------------------


def test_article_page_answers_conditional_gets_with_304(client, live, django_assert_num_queries):
    first = client.get(live.get_absolute_url())
    etag, last_modified = first["ETag"], first["Last-Modified"]
    assert etag.startswith('"') and last_modified
    with django_assert_num_queries(0):
        again = client.get(live.get_absolute_url(), HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304
    assert again["ETag"] == etag
    since = client.get(live.get_absolute_url(), HTTP_IF_MODIFIED_SINCE=last_modified)
    assert since.status_code == 304


def test_etag_changes_when_the_page_changes(client, live):
    etag = client.get(live.get_absolute_url())["ETag"]
    EditorialPolicy.objects.create(body="P", disclaimer="Another disclaimer.")
    response = client.get(live.get_absolute_url(), HTTP_IF_NONE_MATCH=etag)
    assert response.status_code == 200
    assert response["ETag"] != etag


def test_article_page_must_be_revalidated(client, live):
    response = client.get(live.get_absolute_url())
    assert "max-age=0" in response["Cache-Control"]
    assert "must-revalidate" in response["Cache-Control"]
    assert "Cookie" in response["Vary"]
