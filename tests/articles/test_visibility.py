"""Readers see only reviewed content: every endpoint, filter and page, as every kind of user.

Each working copy carries the word ``wcsecret`` (in its title, summary and body); live
revisions never do. Anonymous visitors and accounts with no editorial role must never
be shown it, nor learn which live pages have changes in review.
"""

import itertools
import re

import pytest

from articles.models import Article
from tests import factories
from tests.helpers import client_for, make_article
from workflows import services

pytestmark = pytest.mark.django_db

SECRET = "wcsecret"
#: Working-copy text as stored (a search box may echo the bare word back; that is no leak).
LEAK = re.compile(rf"{SECRET} (\w+ )?(title|summary|body)")
STATES = ["draft", "submitted", "under_review", "changes_requested", "approved", "archived"]


@pytest.fixture
def world(editor, reviewer, managing_editor):
    """An article in every state, plus a live one whose new working copy is in review."""
    cited_live = factories.SourceFactory(key="livesource")
    cited_working = factories.SourceFactory(key="draftsource")
    articles = {}
    for state in STATES:
        # What becomes live is public; everything else is a working copy only.
        word = "public" if state == "approved" else SECRET
        articles[state] = make_article(
            editor=editor,
            reviewer=reviewer,
            state=state,
            archiver=managing_editor,
            title=f"{word} {state} title",
            body=f"{word} {state} body [@livesource].",
            summary=f"{word} summary",
            topic="multiple-sclerosis",
        )
    # Approved, then edited again and submitted: readers keep the live revision.
    live = make_article(
        editor=editor,
        reviewer=reviewer,
        state="approved",
        title="Public relapse page",
        body="Relapses are treated with steroids [@livesource].",
        summary="Public summary",
        topic="multiple-sclerosis",
    )
    services.article_edit(
        article_id=live.pk,
        actor=editor,
        changes={
            "title": f"{SECRET} new title",
            "summary": f"{SECRET} new summary",
            "body": f"{SECRET} new body [@draftsource].",
        },
    )
    services.article_submit(article_id=live.pk, actor=editor)
    articles["approved_with_new_draft"] = Article.objects.get(pk=live.pk)
    return {"articles": articles, "sources": [cited_live, cited_working]}


def _users(editor, reviewer, managing_editor):
    return {
        "anonymous": None,
        "no_role": factories.UserFactory(username="justreading"),
        "editor": editor,
        "reviewer": reviewer,
        "managing_editor": managing_editor,
    }


def _urls(world) -> list[str]:
    articles = world["articles"]
    urls = ["/api/v1/articles/", "/api/v1/review-queue/", "/", "/feed/", "/sitemap.xml"]
    filters = (
        [f"status={s}" for s in STATES]
        + [f"flag={f}" for f in Article.FLAG_FIELDS]
        + [f"q={SECRET}", "q=Public", "q=new", "topic=multiple-sclerosis", "audience=general"]
        + ["page_size=100"]
    )
    urls += [f"/api/v1/articles/?{f}" for f in filters]
    urls += [f"/?q={SECRET}", "/?q=Public", "/?topic=multiple-sclerosis"]
    for article in articles.values():
        urls += [
            f"/api/v1/articles/{article.pk}/",
            f"/api/v1/articles/{article.pk}/revisions/",
            f"/api/v1/articles/{article.pk}/history/",
            f"/articles/{article.slug}/",
            f"/preview/articles/{article.pk}/",
        ]
    for source in world["sources"]:
        urls += [
            f"/api/v1/sources/{source.pk}/",
            f"/api/v1/sources/{source.pk}/citing-articles/",
            f"/api/v1/sources/?q={source.key}",
        ]
    return urls


def _get(user, url):
    if url.startswith("/api/"):
        client = client_for(user) if user else __import__("rest_framework.test").test.APIClient()
        return client.get(url)
    from django.test import Client

    client = Client()
    if user:
        client.force_login(user)
    return client.get(url)


def test_readers_are_never_shown_working_copies(world, editor, reviewer, managing_editor):
    users = _users(editor, reviewer, managing_editor)
    seen_by_staff = set()
    for (role, user), url in itertools.product(users.items(), _urls(world)):
        response = _get(user, url)
        assert response.status_code < 500, (role, url, response.status_code)
        text = response.content.decode()
        if role in ("anonymous", "no_role"):
            assert not LEAK.search(text), (role, url, LEAK.search(text))
            assert "latest_revision" not in text, (role, url)
            assert '"version"' not in text, (role, url)
        elif LEAK.search(text):
            seen_by_staff.add(role)
    # Staff see working copies (the walk is not vacuous).
    assert seen_by_staff == {"editor", "reviewer", "managing_editor"}


def test_readers_filter_live_articles_by_their_live_state(world, api):
    live_ids = set(Article.objects.live().values_list("pk", flat=True))
    approved = api.get("/api/v1/articles/?status=approved&page_size=100").json()
    assert {a["id"] for a in approved["results"]} == live_ids
    assert world["articles"]["approved_with_new_draft"].pk in live_ids
    for state in ("draft", "submitted", "under_review", "changes_requested", "archived"):
        assert api.get(f"/api/v1/articles/?status={state}").json()["count"] == 0, state
    searched = api.get("/api/v1/articles/?q=Public").json()["results"]
    assert {a["title"] for a in searched} == {"Public relapse page", "public approved title"}
    assert api.get("/api/v1/articles/?q=new").json()["count"] == 0


def test_citing_articles_for_readers_lists_live_revisions_only(world, editor):
    reader = client_for(factories.UserFactory(username="justreading"))
    live_source, draft_source = world["sources"]
    assert reader.get(f"/api/v1/sources/{draft_source.pk}/citing-articles/").json()["count"] == 0
    rows = reader.get(f"/api/v1/sources/{live_source.pk}/citing-articles/").json()["results"]
    assert "Public relapse page" in {r["title"] for r in rows}
    assert all(set(r) == {"id", "slug", "title", "flags"} for r in rows)
    staff = client_for(editor).get(f"/api/v1/sources/{draft_source.pk}/citing-articles/").json()
    assert [r["cited_in_working"] for r in staff["results"]] == [True]
