"""Transitions under concurrency: real threads, each with its own database connection."""

import threading

import pytest
from django.db import connection

from articles.models import Article
from tests import factories
from tests.helpers import approval_kwargs, client_for, make_article
from workflows.models import Approval, AuditEvent

REVIEWERS = 20


@pytest.mark.django_db(transaction=True)
def test_simultaneous_approvals_give_exactly_one_success():
    author = factories.editor(username="author")
    starter = factories.reviewer(username="starter")
    article = make_article(editor=author, reviewer=starter, state="under_review")
    reviewers = [factories.reviewer(username=f"rev{n}") for n in range(REVIEWERS)]
    barrier = threading.Barrier(REVIEWERS)
    statuses: list[int] = []
    lock = threading.Lock()
    body = approval_kwargs()

    def approve(user):
        client = client_for(user)
        try:
            barrier.wait(timeout=30)
            response = client.post(f"/api/v1/articles/{article.pk}/approve/", body, format="json")
            with lock:
                statuses.append(response.status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=approve, args=(user,)) for user in reviewers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert sorted(statuses) == [200] + [409] * (REVIEWERS - 1)
    article.refresh_from_db()
    assert article.status == "approved"
    assert Approval.objects.filter(article=article).count() == 1
    events = AuditEvent.objects.filter(article=article, action="approve")
    assert events.filter(refused=False).count() == 1
    assert events.filter(refused=True).count() == REVIEWERS - 1
    assert Article.objects.get(pk=article.pk).live_revision_id == article.latest_revision_id


@pytest.mark.django_db(transaction=True)
def test_concurrent_edits_with_the_same_if_match_save_once():
    author = factories.editor(username="author")
    article = make_article(editor=author)
    etag = article.etag
    editors = [factories.editor(username=f"ed{n}") for n in range(8)]
    barrier = threading.Barrier(len(editors))
    statuses: list[int] = []
    lock = threading.Lock()

    def edit(user, n):
        client = client_for(user)
        try:
            barrier.wait(timeout=30)
            response = client.patch(
                f"/api/v1/articles/{article.pk}/",
                {"body": f"Version {n}"},
                format="json",
                HTTP_IF_MATCH=etag,
            )
            with lock:
                statuses.append(response.status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=edit, args=(u, n)) for n, u in enumerate(editors)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert sorted(statuses) == [200] + [412] * (len(editors) - 1)
    assert article.revisions.count() == 2


def _race(calls) -> list[int]:
    """Run each ``call()`` in its own thread at once; their status codes, in any order."""
    barrier = threading.Barrier(len(calls))
    statuses: list[int] = []
    lock = threading.Lock()

    def run(call):
        try:
            barrier.wait(timeout=30)
            status = call().status_code
            with lock:
                statuses.append(status)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return sorted(statuses)


@pytest.mark.django_db(transaction=True)
def test_concurrent_edits_without_if_match_all_save_in_turn():
    author = factories.editor(username="author")
    article = make_article(editor=author)
    editors = [factories.editor(username=f"ed{n}") for n in range(6)]
    url = f"/api/v1/articles/{article.pk}/"
    calls = [
        (lambda u=u, n=n: client_for(u).patch(url, {"body": f"Version {n}"}, format="json"))
        for n, u in enumerate(editors)
    ]
    assert _race(calls) == [200] * len(editors)
    assert article.revisions.count() == 1 + len(editors)
    latest = Article.objects.select_related("latest_revision").get(pk=article.pk)
    assert latest.latest_revision.number == 1 + len(editors)


@pytest.mark.django_db(transaction=True)
def test_an_edit_racing_a_submit_never_answers_500():
    author = factories.editor(username="author")
    article = make_article(editor=author)
    url = f"/api/v1/articles/{article.pk}/"
    calls = [
        lambda: client_for(author).post(f"{url}submit/", {}, format="json"),
        lambda: client_for(author).patch(url, {"body": "Edited."}, format="json"),
        lambda: client_for(author).patch(url, {"title": "Edited title"}, format="json"),
    ]
    statuses = _race(calls)
    assert set(statuses) <= {200, 409}, statuses
    assert 200 in statuses


@pytest.mark.django_db(transaction=True)
def test_concurrent_creates_with_one_title_get_distinct_slugs():
    editors = [factories.editor(username=f"ed{n}") for n in range(6)]
    calls = [
        (lambda u=u: client_for(u).post("/api/v1/articles/", {"title": "Fatigue"}, format="json"))
        for u in editors
    ]
    assert _race(calls) == [201] * len(editors)
    slugs = sorted(Article.objects.values_list("slug", flat=True))
    assert len(set(slugs)) == len(editors)
    assert "fatigue" in slugs
