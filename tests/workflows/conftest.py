"""Fixtures for the workflow tests: Celery run eagerly, approved articles in bulk."""

from __future__ import annotations

import pytest

from reviewsite.celery import app as celery_app
from reviewsite.celery import ensure_broker_folders
from tests.helpers import make_article


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
