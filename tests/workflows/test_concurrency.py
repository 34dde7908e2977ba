"""Transitions under concurrency: real threads, each with its own database connection."""

import threading

import pytest
from django.db import connection

from articles.models import Article
from tests import factories
from tests.conftest import client_for, make_article
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

    def approve(user):
        client = client_for(user)
        try:
            barrier.wait(timeout=30)
            response = client.post(f"/api/v1/articles/{article.pk}/approve/", {})
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
