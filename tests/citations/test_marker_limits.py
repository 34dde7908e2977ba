"""Markers are judged one by one, and a body cannot make the parser or storage explode."""

import json

import pytest

from articles.models import Article, ArticleRevision
from citations.markers import (
    MAX_KEYS_PER_MARKER,
    MAX_MARKERS_PER_BODY,
    MAX_REPORTED_PROBLEMS,
    find_markers_lenient,
)
from citations.rendering import render_article
from tests import factories
from tests.helpers import client_for, make_article

pytestmark = pytest.mark.django_db


# --- item 10: a malformed marker is one problem, not every marker's ---------------------------


def test_a_malformed_marker_leaves_the_valid_ones_resolved(editor):
    factories.SourceFactory(key="trapp1998")
    body = "Axons are cut [@trapp1998].\nA typo [@bad<key>] here.\n"
    article = make_article(editor=editor, body=body)
    revision = article.latest_revision
    assert revision.citations.get().key == "trapp1998"
    assert 'href="#ref-1"' in revision.body_html
    (problem,) = revision.unresolved_markers
    assert problem["marker"] == "[@bad<key>]"
    assert problem["line"] == 2
    assert problem["error"]

    response = client_for(editor).post(f"/api/v1/articles/{article.pk}/submit/", {})
    assert response.status_code == 400
    markers = response.json()["markers"]
    assert [m["marker"] for m in markers] == ["[@bad<key>]"]
    assert "trapp1998" not in json.dumps(response.json())


# --- item 9: limits, linear parsing, bounded stored problems ----------------------------------


def _marker(keys: int) -> str:
    return "[" + "; ".join(f"@key{i}" for i in range(keys)) + "]"


def test_a_marker_with_too_many_keys_is_a_400_naming_the_limit(editor):
    client = client_for(editor)
    body = f"Everything {_marker(5000)}."
    response = client.post("/api/v1/articles/", {"title": "Flood", "body": body}, format="json")
    assert response.status_code == 400
    message = " ".join(response.json()["body"])
    assert str(MAX_KEYS_PER_MARKER) in message
    assert "Line 1, column 12" in message
    assert not Article.objects.exists()

    at_limit = f"Many {_marker(MAX_KEYS_PER_MARKER)}."
    ok = client.post("/api/v1/articles/", {"title": "Many", "body": at_limit}, format="json")
    assert ok.status_code == 201


def test_a_body_with_too_many_markers_is_a_400_naming_the_limit(editor):
    client = client_for(editor)
    article = make_article(editor=editor)
    body = " ".join(f"[@k{i}]" for i in range(MAX_MARKERS_PER_BODY + 1))
    response = client.patch(f"/api/v1/articles/{article.pk}/", {"body": body}, format="json")
    assert response.status_code == 400
    assert str(MAX_MARKERS_PER_BODY) in " ".join(response.json()["body"])
    assert ArticleRevision.objects.filter(article=article).count() == 1


def test_stored_marker_problems_are_bounded(editor):
    # Every key unresolved: the problems are listed up to a bound, each quoting a bounded text.
    body = "\n".join(f"Line {_marker(MAX_KEYS_PER_MARKER)}" for _ in range(20))
    article = make_article(editor=editor, body=body)
    problems = article.latest_revision.unresolved_markers
    assert len(problems) == MAX_REPORTED_PROBLEMS + 1
    assert "more" in problems[-1]["error"]
    assert len(json.dumps(problems)) < 200 * (MAX_REPORTED_PROBLEMS + 1)


def test_parsing_stops_at_the_key_limit_without_reading_the_whole_marker():
    # The renderer never sees more than the limit: the marker is malformed text.
    body = f"Text {_marker(MAX_KEYS_PER_MARKER + 1)}."
    assert find_markers_lenient(body) == []
    rendered = render_article(body, lambda key: None)
    assert "citation-missing" not in rendered.html
    assert rendered.unresolved == []
