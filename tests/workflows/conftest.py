"""Fixtures for the workflow tests: Celery run eagerly, approved articles in bulk."""

from __future__ import annotations

import pytest

from articles.models import Article
from reviewsite.celery import app as celery_app
from reviewsite.celery import ensure_broker_folders
from tests.conftest import make_article
from workflows.models import AuditEvent


@pytest.fixture
def eager_celery():
    """Run tasks inline (still only after commit): set and restored per test."""
    ensure_broker_folders()  # eager results still go to the (file) result backend
    saved = celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates
    celery_app.conf.task_always_eager = True
    celery_app.conf.task_eager_propagates = True
    yield celery_app
    celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates = saved


@pytest.fixture
def approved(editor, reviewer):
    """``approved(**kw)``: an article approved through the real services."""
    return lambda **kw: make_article(editor=editor, reviewer=reviewer, state="approved", **kw)


def clone_approved(template: Article, count: int, *, prefix: str = "clone") -> list[Article]:
    """``count`` approved articles sharing ``template``'s live revision, in one INSERT.

    Cheap rows for query-count and volume tests: the jobs read only article columns
    and the live revision's citations, which the clones share.
    """
    fields = [
        f.attname
        for f in Article._meta.concrete_fields
        if f.name not in ("id", "slug", "created_at", "updated_at")
    ]
    rows = [
        Article(slug=f"{prefix}-{template.pk}-{n}", **{f: getattr(template, f) for f in fields})
        for n in range(count)
    ]
    return Article.objects.bulk_create(rows, batch_size=500)


def flag_events(article, kind: str = "flag:") -> list[str]:
    """The article's flag/unflag audit actions containing ``kind``, oldest first."""
    return list(
        AuditEvent.objects.filter(article=article, action__contains=kind)
        .order_by("id")
        .values_list("action", flat=True)
    )
