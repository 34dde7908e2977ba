"""The cached reader page's short cut (reviewsite.middleware.CachedReaderPageMiddleware).

A reader without cookies asking for a cached page is answered right after
SecurityMiddleware; these tests pin that the answer is the normal path's, header for
header, that changes show at once, and that everyone else still takes the normal path.
"""

from datetime import timedelta

import pytest
from django.conf import settings
from django.test import Client, override_settings
from django.urls import resolve, reverse
from django.utils import timezone

from articles import views
from articles.models import Article, EditorialPolicy
from citations import services as citation_services
from reviewsite.middleware import _ARTICLE_PATH
from tests.factories import SourceFactory
from tests.helpers import approval_kwargs
from workflows import jobs, services

SHORT_CUT = "reviewsite.middleware.CachedReaderPageMiddleware"


def normal_path_client() -> Client:
    """A client whose requests all go through the whole middleware stack and the view."""
    with override_settings(MIDDLEWARE=[m for m in settings.MIDDLEWARE if m != SHORT_CUT]):
        client = Client()
        client.get("/healthz")  # the handler loads its middleware now, under the override
    return client


def took_short_cut(response) -> bool:
    # SessionMiddleware and AuthenticationMiddleware never saw the request.
    request = response.wsgi_request
    return not hasattr(request, "session") and not hasattr(request, "user")


@pytest.fixture
def live(editor, reviewer, article_in):
    SourceFactory(key="trapp1998")
    return article_in(
        "approved", editor=editor, reviewer=reviewer, title="Short cut", body="Text [@trapp1998]."
    )


def test_the_short_cut_matches_exactly_the_article_page_route():
    url = reverse("articles:detail", kwargs={"slug": "some-slug_2"})
    assert _ARTICLE_PATH.fullmatch(url)
    assert resolve(url).func is views.article_detail
    for other in ("/articles/", "/articles/a/b/", "/articles/x", "/preview/articles/1/"):
        assert not _ARTICLE_PATH.fullmatch(other)
    assert settings.MIDDLEWARE.index(SHORT_CUT) == 1 + settings.MIDDLEWARE.index(
        "django.middleware.security.SecurityMiddleware"
    )


def test_a_miss_renders_on_the_normal_path_and_the_next_get_takes_the_short_cut(
    client, live, django_assert_num_queries
):
    first = client.get(live.get_absolute_url())
    assert first.status_code == 200 and not took_short_cut(first)
    with django_assert_num_queries(0):
        hit = client.get(live.get_absolute_url())
    assert hit.status_code == 200 and took_short_cut(hit)
    assert hit.content == first.content
    assert not hit.cookies  # no session, no CSRF cookie


@pytest.mark.parametrize("secure", [False, True])
@override_settings(SECURE_HSTS_SECONDS=3600, SECURE_CROSS_ORIGIN_OPENER_POLICY="same-origin")
def test_the_short_cut_sends_the_normal_paths_headers(client, live, secure):
    url = live.get_absolute_url()
    client.get(url, secure=secure)  # fills the page cache
    fast = client.get(url, secure=secure)
    normal = normal_path_client().get(url, secure=secure)
    assert took_short_cut(fast) and not took_short_cut(normal)
    assert fast.status_code == normal.status_code == 200
    assert dict(fast.headers) == dict(normal.headers)
    assert fast.content == normal.content
    assert fast["Content-Security-Policy"] == settings.CONTENT_SECURITY_POLICY
    assert fast["X-Frame-Options"] == "DENY"
    assert ("Strict-Transport-Security" in fast.headers) is secure

    # A revalidation answers 304 with the same headers on both paths.
    etag = fast["ETag"]
    fast_304 = client.get(url, secure=secure, HTTP_IF_NONE_MATCH=etag)
    normal_304 = normal_path_client().get(url, secure=secure, HTTP_IF_NONE_MATCH=etag)
    assert took_short_cut(fast_304)
    assert fast_304.status_code == normal_304.status_code == 304
    assert dict(fast_304.headers) == dict(normal_304.headers)


def test_https_redirect_still_applies(live):
    Client().get(live.get_absolute_url())  # cached
    with override_settings(SECURE_SSL_REDIRECT=True):
        response = Client().get(live.get_absolute_url())
    assert response.status_code == 301
    assert response["Location"].startswith("https://")


def test_readers_with_cookies_or_an_audience_choice_take_the_normal_path(client, live, editor):
    url = live.get_absolute_url()
    client.get(url)
    assert took_short_cut(client.get(url))
    choice = client.get(url, {"audience": live.audience})
    assert choice.status_code == 302 and not took_short_cut(choice)  # sets the cookie
    assert "reviewsite_audience" in choice.cookies
    remembered = client.get(url)  # now sends the audience cookie
    assert remembered.status_code == 200 and not took_short_cut(remembered)
    assert took_short_cut(Client().get(url, {"utm_source": "newsletter"}))

    staff = Client()
    staff.force_login(editor)
    signed_in = staff.get(url)
    assert not took_short_cut(signed_in)
    assert ">Workspace<" in signed_in.content.decode()
    assert ">Workspace<" not in Client().get(url).content.decode()


def test_head_and_other_methods_take_the_normal_path(client, live):
    url = live.get_absolute_url()
    client.get(url)
    assert not took_short_cut(client.head(url))
    assert client.post(url).status_code == 405


# --- changes show at once through the short cut ----------------------------------------------


def cached_twice(url: str):
    """GET ``url`` until the short cut answers it; return that response."""
    reader = Client()
    reader.get(url)
    response = reader.get(url)
    assert took_short_cut(response), response.status_code
    return response


def test_source_status_change_shows_at_once(live, reviewer):
    url = live.get_absolute_url()
    assert "Retracted" not in cached_twice(url).content.decode()
    source = live.live_revision.citations.get().source
    citation_services.source_set_status(source_id=source.pk, actor=reviewer, status="retracted")
    assert "Retracted" in Client().get(url).content.decode()
    assert "Retracted" in cached_twice(url).content.decode()


def test_archive_shows_at_once(live, managing_editor):
    url = live.get_absolute_url()
    cached_twice(url)
    services.article_archive(article_id=live.pk, actor=managing_editor)
    for _ in range(2):
        response = Client().get(url)
        assert response.status_code == 404 and not took_short_cut(response)


def test_stale_flag_shows_at_once(live):
    url = live.get_absolute_url()
    assert "overdue" not in cached_twice(url).content.decode()
    Article.objects.filter(pk=live.pk).update(next_review_due=timezone.now() - timedelta(days=1))
    jobs.flag_stale_articles()  # one set-based UPDATE: no model signal
    assert "overdue" in Client().get(url).content.decode()
    assert "overdue" in cached_twice(url).content.decode()


def test_new_approval_shows_at_once(live, editor, reviewer):
    url = live.get_absolute_url()
    cached_twice(url)
    services.article_edit(
        article_id=live.pk, actor=editor, changes={"body": "Revised [@trapp1998]."}
    )
    assert "Revised" not in Client().get(url).content.decode()  # a draft is not live
    services.article_submit(article_id=live.pk, actor=editor)
    services.article_start_review(article_id=live.pk, actor=reviewer)
    services.article_approve(article_id=live.pk, actor=reviewer, **approval_kwargs())
    assert "Revised" in Client().get(url).content.decode()
    assert "Revised" in cached_twice(url).content.decode()


@pytest.mark.parametrize(
    "header",
    [
        {"HTTP_IF_MATCH": '"another"'},
        {"HTTP_IF_UNMODIFIED_SINCE": "Mon, 01 Jan 2001 00:00:00 GMT"},
        {"HTTP_IF_MODIFIED_SINCE": "Mon, 01 Jan 2001 00:00:00 GMT"},
    ],
)
def test_other_preconditions_answer_as_on_the_normal_path(client, live, header):
    url = live.get_absolute_url()
    client.get(url)
    fast = client.get(url, **header)
    normal = normal_path_client().get(url, **header)
    assert took_short_cut(fast)
    assert fast.status_code == normal.status_code
    assert dict(fast.headers) == dict(normal.headers)


def test_a_page_held_in_process_is_not_served_once_the_cache_moved_on(client, live, editor):
    url = live.get_absolute_url()
    held = cached_twice(url)
    views._LOCAL_ENTRIES[live.slug] = (float("inf"), views._LOCAL_ENTRIES[live.slug][1])
    EditorialPolicy.objects.create(body="P", disclaimer="A new disclaimer.")
    fresh = Client().get(url)
    assert not took_short_cut(fresh) and fresh.content != held.content
    assert "A new disclaimer." in cached_twice(url).content.decode()
