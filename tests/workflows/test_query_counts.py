"""Queries per request, pinned for every workspace page and every API list (issue 15).

Each test measures its pages with one item, then again after adding more (to 20 or
so), and pins the same number both times: a page whose queries grow with its rows (an
N+1) fails here. Pages pinned elsewhere with their own growing data are named in
``PINNED_ELSEWHERE`` so that the enumeration below stays complete.
"""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from articles.models import ReviewerProfile
from citations.models import ImportJob
from workflows import urls as workspace_urls
from workflows.models import ChecklistItem

from .. import factories
from ..helpers import image_bytes, make_article, upload

pytestmark = pytest.mark.django_db

#: Workspace routes whose GET pages are pinned in other test files, with growing data.
PINNED_ELSEWHERE = {
    "source-library": "test_workspace.py::test_source_library_queries_do_not_grow_with_sources",
    "article-review": "test_workspace.py::test_review_page_and_article_list_queries_do_not_grow",
    "evidence-pack": "test_evidence.py::test_approvals_and_the_pack_take_constant_queries",
    "figure-list": "test_figures_workspace.py::test_figure_list_queries_are_pinned",
    "source-picker": "test_htmx_workspace.py::test_source_picker_search_answers_the_matching_items"
    "_for_htmx",
    "figure-picker": "test_htmx_workspace.py::test_figure_picker_search_answers_the_matching_"
    "figures_for_htmx",
    "source-edit": "test_workspace_sources.py::test_an_editor_edits_a_source_in_the_workspace",
}
POST_ONLY = workspace_urls.POST_ONLY
#: Every GET route of the workspace this file pins.
PINNED_HERE = {
    "dashboard",
    "pipeline",
    "notifications",
    "article-list",
    "article-create",
    "article-edit",
    "reviewer-list",
    "reviewer-edit",
    "checklist",
    "import-job",
    "source-detail",
    "figure-create",
    "figure-detail",
}


def test_every_workspace_page_has_its_queries_pinned():
    routes = {p.name for p in workspace_urls.urlpatterns}
    assert routes - POST_ONLY - set(PINNED_ELSEWHERE) == PINNED_HERE


def _session(user):
    client = APIClient()
    client.force_login(user)  # session auth: session, user and groups are read per request
    return client


def _measure(pages: dict, django_assert_num_queries, pins: dict) -> None:
    """GET each page (name -> (client, url)) under its pinned query count."""
    for name, (client, url) in pages.items():
        with django_assert_num_queries(pins[name]):
            response = client.get(url)
        assert response.status_code == 200, (name, response.status_code)


STATES = ("draft", "changes_requested", "submitted", "under_review", "approved")


def _articles(editor, reviewer, per_state: int, start: int) -> list:
    sources = [factories.SourceFactory() for _ in range(2)]
    body = f"Axons [@{sources[0].key}; @{sources[1].key}]."
    made = []
    for n in range(per_state):
        for state in STATES:
            made.append(
                make_article(
                    editor=editor,
                    reviewer=reviewer,
                    state=state,
                    title=f"{state} {start + n}",
                    body=body,
                )
            )
    return made


#: The article lists: one article in each state, then five in each (25 articles, with
#: their notifications, assignments and audit events). Session auth costs three of each
#: count (session, user, groups); the rest is one query per list, count or prefetch.
ARTICLE_LIST_PINS = {
    "dashboard, editor": 10,
    "dashboard, reviewer": 10,
    "dashboard, managing editor": 11,
    "pipeline": 11,
    "article list": 5,
    "notifications, editor": 6,
    "notifications, reviewer": 6,
    "API articles, token": 7,
    "API articles, session": 7,
    "API review queue": 8,
}


def test_article_lists_take_the_same_queries_for_one_or_many_articles(
    editor, reviewer, managing_editor, django_assert_num_queries
):
    token_client = APIClient()
    token = Token.objects.create(user=reviewer)
    token_client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    as_editor, as_reviewer, as_managing = (
        _session(editor),
        _session(reviewer),
        _session(managing_editor),
    )
    pages = {
        "dashboard, editor": (as_editor, reverse("workflows:dashboard")),
        "dashboard, reviewer": (as_reviewer, reverse("workflows:dashboard")),
        "dashboard, managing editor": (as_managing, reverse("workflows:dashboard")),
        "pipeline": (as_managing, reverse("workflows:pipeline")),
        "article list": (as_editor, reverse("workflows:article-list")),
        "notifications, editor": (as_editor, reverse("workflows:notifications")),
        "notifications, reviewer": (as_reviewer, reverse("workflows:notifications")),
        "API articles, token": (token_client, "/api/v1/articles/"),
        "API articles, session": (as_editor, "/api/v1/articles/"),
        "API review queue": (as_reviewer, "/api/v1/review-queue/"),
    }
    _articles(editor, reviewer, 1, 0)
    _measure(pages, django_assert_num_queries, ARTICLE_LIST_PINS)
    _articles(editor, reviewer, 4, 1)
    _measure(pages, django_assert_num_queries, ARTICLE_LIST_PINS)


REVIEWER_PINS = {"reviewers": 4, "reviewer profile form": 4, "API reviewers": 5}


def test_reviewer_pages_take_the_same_queries_for_one_or_many_reviewers(
    managing_editor, reviewer, django_assert_num_queries
):
    client = _session(managing_editor)
    pages = {
        "reviewers": (client, reverse("workflows:reviewer-list")),
        "reviewer profile form": (client, reverse("workflows:reviewer-edit", args=[reviewer.pk])),
        "API reviewers": (client, "/api/v1/reviewers/"),
    }
    _measure(pages, django_assert_num_queries, REVIEWER_PINS)
    for n in range(19):
        verified = factories.reviewer(username=f"reviewer-many-{n}")
        ReviewerProfile.objects.filter(user=verified).update(
            credentials_verified_by=managing_editor, credentials_verified_at=timezone.now()
        )
    _measure(pages, django_assert_num_queries, REVIEWER_PINS)


CHECKLIST_PINS = {"checklist": 4, "API checklist": 4}


def test_checklist_takes_the_same_queries_for_one_or_many_items(
    managing_editor, django_assert_num_queries
):
    ChecklistItem.objects.all().delete()
    ChecklistItem.objects.create(key="item-0", text="Item 0", required=True, position=0)
    client = _session(managing_editor)
    pages = {
        "checklist": (client, reverse("workflows:checklist")),
        "API checklist": (client, "/api/v1/checklist/"),
    }
    _measure(pages, django_assert_num_queries, CHECKLIST_PINS)
    for n in range(1, 20):
        ChecklistItem.objects.create(key=f"item-{n}", text=f"Item {n}", required=True, position=n)
    _measure(pages, django_assert_num_queries, CHECKLIST_PINS)


SOURCE_PINS = {"source detail": 7, "API citing articles": 7, "API source checks": 5}


def test_a_source_takes_the_same_queries_cited_once_or_twenty_times(
    editor, reviewer, django_assert_num_queries
):
    source = factories.SourceFactory()
    client = _session(editor)
    pages = {
        "source detail": (client, reverse("workflows:source-detail", args=[source.pk])),
        "API citing articles": (client, f"/api/v1/sources/{source.pk}/citing-articles/"),
        "API source checks": (client, f"/api/v1/sources/{source.pk}/checks/"),
    }

    def cite(n: int, state: str):
        make_article(
            editor=editor,
            reviewer=reviewer,
            state=state,
            title=f"Cites {n}",
            body=f"[@{source.key}]",
        )

    cite(0, "approved")
    _measure(pages, django_assert_num_queries, SOURCE_PINS)
    for n in range(1, 20):
        cite(n, "approved" if n % 2 else "draft")
    _measure(pages, django_assert_num_queries, SOURCE_PINS)


HISTORY_PINS = {"API revisions": 9, "API history": 8, "article edit": 7, "preview": 6}


def test_an_article_takes_the_same_queries_with_one_or_many_revisions(
    editor, reviewer, django_assert_num_queries
):
    from workflows import services

    sources = factories.SourceFactory.create_batch(3)
    article = make_article(editor=editor, body=f"Text [@{sources[0].key}].")
    client = _session(editor)
    pages = {
        "API revisions": (client, f"/api/v1/articles/{article.pk}/revisions/"),
        "API history": (client, f"/api/v1/articles/{article.pk}/history/"),
        "article edit": (client, reverse("workflows:article-edit", args=[article.pk])),
        "preview": (client, reverse("articles:preview", args=[article.pk])),
    }
    _measure(pages, django_assert_num_queries, HISTORY_PINS)
    for n in range(19):
        keys = "; ".join(f"@{s.key}" for s in sources[: 1 + n % 3])
        services.article_edit(
            article_id=article.pk, actor=editor, changes={"body": f"Text {n} [{keys}]."}
        )
    _measure(pages, django_assert_num_queries, HISTORY_PINS)


SINGLE_PINS = {"new article form": 5, "import job": 4, "new figure form": 3, "figure detail": 4}


def test_forms_and_detail_pages_take_the_same_queries_whatever_the_library_holds(
    editor, django_assert_num_queries
):
    from articles.services import figure_upload

    job = ImportJob.objects.create(
        created_by=editor, filename="a.bib", format="bibtex", state=ImportJob.State.DONE
    )
    figure = figure_upload(actor=editor, file=upload(image_bytes(size=(40, 30))), alt_text="A")
    client = _session(editor)
    pages = {
        "new article form": (client, reverse("workflows:article-create")),
        "import job": (client, reverse("workflows:import-job", args=[job.pk])),
        "new figure form": (client, reverse("workflows:figure-create")),
        "figure detail": (client, reverse("workflows:figure-detail", args=[figure.pk])),
    }
    factories.SourceFactory()
    _measure(pages, django_assert_num_queries, SINGLE_PINS)
    factories.SourceFactory.create_batch(19)
    for n in range(19):
        make_article(
            editor=editor, title=f"Shows the figure {n}", body=f"![](figure:{figure.pk})\n"
        )
    _measure(pages, django_assert_num_queries, SINGLE_PINS)
