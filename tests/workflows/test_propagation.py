"""Retraction propagation: a source's status change flags the live articles citing it."""

from __future__ import annotations

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext

from articles.models import Article
from citations.services import source_set_status
from tests.factories import SourceFactory
from tests.helpers import approval_kwargs, clone_approved, flag_events, make_article
from workflows import jobs, services, tasks
from workflows.models import AuditEvent, Notification
from workflows.selectors import review_queue

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("eager_celery")]


@pytest.fixture
def citing(editor, reviewer):
    """``citing(*sources, **kw)``: an approved article whose live revision cites them."""

    def make(*sources, **kwargs):
        markers = " ".join(f"[@{s.key}]" for s in sources)
        return make_article(
            editor=editor, reviewer=reviewer, state="approved", body=f"Text {markers}.", **kwargs
        )

    return make


def set_status(callbacks, source, status, actor, **kwargs):
    """Change the status as the API does; run what it queues after commit (eagerly)."""
    with callbacks(execute=True):
        source_set_status(source_id=source.pk, actor=actor, status=status, **kwargs)


def test_retraction_flags_the_article_notifies_and_queues_it_for_review(
    citing, editor, reviewer, eager_celery, django_capture_on_commit_callbacks
):
    source = SourceFactory()
    article = citing(source)
    bystander = citing(SourceFactory(), title="Unrelated")
    mail.outbox.clear()
    version = article.version
    set_status(
        django_capture_on_commit_callbacks, source, "retracted", reviewer, reason="Fabricated data"
    )
    article.refresh_from_db()
    assert article.flags == ["citation_retracted"]
    assert article.version == version + 1
    assert Article.objects.get(pk=bystander.pk).flags == []
    event = AuditEvent.objects.get(article=article, action="flag:citation_retracted")
    assert event.actor is None and event.from_status == event.to_status == "approved"
    assert source.key in event.comment
    assert sorted(m.to[0] for m in mail.outbox) == sorted([editor.email, reviewer.email])
    assert "Fabricated data" in mail.outbox[0].body
    assert article in review_queue(user=reviewer)


def test_expression_of_concern_sets_the_concern_flag(
    citing, reviewer, django_capture_on_commit_callbacks, eager_celery
):
    source = SourceFactory()
    article = citing(source)
    set_status(django_capture_on_commit_callbacks, source, "expression_of_concern", reviewer)
    article.refresh_from_db()
    assert article.flags == ["citation_concern"]


def test_withdrawn_counts_as_retracted(
    citing, reviewer, django_capture_on_commit_callbacks, eager_celery
):
    source = SourceFactory()
    article = citing(source)
    set_status(django_capture_on_commit_callbacks, source, "withdrawn", reviewer)
    article.refresh_from_db()
    assert article.flags == ["citation_retracted"]


def test_back_to_active_clears_unless_another_cited_source_is_retracted(
    citing, reviewer, django_capture_on_commit_callbacks, eager_celery
):
    first, second = SourceFactory(), SourceFactory()
    both = citing(first, second, title="Cites both")
    only_first = citing(first, title="Cites one")
    set_status(django_capture_on_commit_callbacks, first, "retracted", reviewer)
    set_status(django_capture_on_commit_callbacks, second, "retracted", reviewer)
    set_status(django_capture_on_commit_callbacks, first, "corrected", reviewer)
    # Corrected is not retracted; it has its own low-priority flag.
    assert Article.objects.get(pk=only_first.pk).flags == ["citation_corrected"]
    assert Article.objects.get(pk=both.pk).flags == ["citation_retracted", "citation_corrected"]
    assert flag_events(only_first, "flag:citation") == [
        "flag:citation_retracted",
        "unflag:citation_retracted",
        "flag:citation_corrected",
    ]
    assert flag_events(both, "flag:citation") == [
        "flag:citation_retracted",
        "flag:citation_corrected",
    ]


def test_concern_then_retraction_swaps_the_flags(
    citing, reviewer, django_capture_on_commit_callbacks, eager_celery
):
    source = SourceFactory()
    article = citing(source)
    set_status(django_capture_on_commit_callbacks, source, "expression_of_concern", reviewer)
    set_status(django_capture_on_commit_callbacks, source, "retracted", reviewer)
    article.refresh_from_db()
    assert article.flags == ["citation_retracted"]
    assert flag_events(article, "flag:citation") == [
        "flag:citation_concern",
        "flag:citation_retracted",
        "unflag:citation_concern",
    ]


def test_propagation_is_idempotent(citing, reviewer, django_capture_on_commit_callbacks):
    source = SourceFactory()
    article = citing(source)
    set_status(django_capture_on_commit_callbacks, source, "retracted", reviewer)
    article.refresh_from_db()
    version, events = article.version, AuditEvent.objects.count()
    notes = Notification.objects.filter(dedupe_key__startswith="source-status").count()
    for _ in range(3):
        with django_capture_on_commit_callbacks(execute=True):
            result = jobs.propagate_source_status(source_id=source.pk)
        assert result.articles == 0 and result.notifications == 0
    article.refresh_from_db()
    assert article.version == version
    assert AuditEvent.objects.count() == events
    assert Notification.objects.filter(dedupe_key__startswith="source-status").count() == notes
    assert notes == 2  # the owner and the reviewer


def test_an_intentional_citation_does_not_flag(
    editor, reviewer, django_capture_on_commit_callbacks, eager_celery
):
    source = SourceFactory()
    article = make_article(
        editor=editor,
        reviewer=reviewer,
        state="approved",
        body=f"The retracted trial [@{source.key}] is discussed as an example.",
        intentional={source.key: "Discussed as a cautionary example."},
    )
    mail.outbox.clear()
    set_status(django_capture_on_commit_callbacks, source, "retracted", reviewer)
    article.refresh_from_db()
    assert article.flags == []
    assert mail.outbox == []


def test_only_the_live_revision_counts(
    citing, editor, reviewer, django_capture_on_commit_callbacks, eager_celery
):
    source = SourceFactory()
    draft_only = make_article(editor=editor, body=f"Draft [@{source.key}].", title="Draft only")
    article = citing(source)
    # A working revision that drops the source does not unflag the live page...
    services.article_edit(article_id=article.pk, actor=editor, changes={"body": "No citations."})
    set_status(django_capture_on_commit_callbacks, source, "retracted", reviewer)
    article.refresh_from_db()
    assert article.flags == ["citation_retracted"]
    assert Article.objects.get(pk=draft_only.pk).flags == []


def test_approving_a_revision_that_no_longer_cites_the_source_clears_the_flag(
    citing, editor, reviewer, second_reviewer, django_capture_on_commit_callbacks, eager_celery
):
    source = SourceFactory()
    article = citing(source)
    set_status(django_capture_on_commit_callbacks, source, "retracted", reviewer)
    services.article_edit(article_id=article.pk, actor=editor, changes={"body": "Rewritten."})
    services.article_submit(article_id=article.pk, actor=editor)
    services.article_start_review(article_id=article.pk, actor=second_reviewer)
    services.article_approve(article_id=article.pk, actor=second_reviewer, **approval_kwargs())
    article.refresh_from_db()
    assert article.flags == []
    # ...and propagating again leaves it clear.
    with django_capture_on_commit_callbacks(execute=True):
        jobs.propagate_source_status(source_id=source.pk)
    assert Article.objects.get(pk=article.pk).flags == []


def test_archived_articles_are_not_flagged(
    citing, reviewer, managing_editor, django_capture_on_commit_callbacks, eager_celery
):
    source = SourceFactory()
    article = citing(source)
    services.article_archive(article_id=article.pk, actor=managing_editor)
    set_status(django_capture_on_commit_callbacks, source, "retracted", reviewer)
    assert Article.objects.get(pk=article.pk).flags == []


def test_a_status_change_that_cannot_flag_queues_nothing(
    citing, reviewer, django_capture_on_commit_callbacks
):
    source = SourceFactory()
    citing(source)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        # Superseded flags nothing (corrected now flags citation_corrected).
        source_set_status(source_id=source.pk, actor=reviewer, status="superseded")
    with django_capture_on_commit_callbacks(execute=False) as queued:
        for callback in callbacks:
            callback()  # sends source_status_changed
    assert queued == []


@pytest.mark.parametrize("count", [10, 500])
def test_propagation_queries_do_not_grow_with_the_citing_articles(
    count, citing, django_capture_on_commit_callbacks
):
    """Flags and audit events are set-based (the digests, one per recipient, aside)."""
    source = SourceFactory()
    template = citing(source)
    clone_approved(template, count - 1)
    Article.objects.update(flag_citation_retracted=True)
    with CaptureQueriesContext(connection) as queries:
        result = jobs.propagate_source_status(source_id=source.pk)
    assert result.articles == count
    assert result.changes["unflag:citation_retracted"] == count
    assert AuditEvent.objects.filter(action="unflag:citation_retracted").count() == count
    # 1 source, 6 report SELECTs, 1 audit INSERT … SELECT, 1 UPDATE, 2 savepoints;
    # on PostgreSQL 1 advisory lock (SQLite's BEGIN IMMEDIATE needs none).
    expected = 11 + (connection.vendor == "postgresql")
    assert len(queries) == expected, "\n".join(q["sql"][:150] for q in queries)


def test_the_task_is_named_for_the_worker():
    assert tasks.propagate_source_status.name == "workflows.tasks.propagate_source_status"
