"""Deeply nested JSON is a 400 on every endpoint, never a RecursionError 500."""

import json

import pytest
from rest_framework.test import APIClient

from reviewsite.parsers import MAX_JSON_DEPTH
from tests import factories
from tests.helpers import client_for, make_article

pytestmark = pytest.mark.django_db

#: About 2 KB of nested arrays: deep enough to exhaust the recursion limit.
NESTED = "[" * 1000 + "]" * 1000


def _post(client, path, body, method="post"):
    return getattr(client, method)(path, data=body, content_type="application/json")


def test_nested_json_to_the_token_endpoint_is_400_for_anyone():
    response = _post(APIClient(), "/api/v1/auth/token/", NESTED)
    assert response.status_code == 400
    assert "nested" in response.json()["detail"]


@pytest.mark.parametrize("payload", [NESTED, '{"title": ' + NESTED + "}"])
def test_nested_json_is_400_on_every_write_endpoint(editor, reviewer, payload):
    article = make_article(editor=editor)
    source = factories.SourceFactory()
    client = client_for(factories.UserFactory(username="root", is_superuser=True))
    targets = [
        ("post", "/api/v1/articles/"),
        ("patch", f"/api/v1/articles/{article.pk}/"),
        ("post", f"/api/v1/articles/{article.pk}/submit/"),
        ("post", f"/api/v1/articles/{article.pk}/reviewers/"),
        ("post", "/api/v1/sources/"),
        ("patch", f"/api/v1/sources/{source.pk}/"),
        ("post", f"/api/v1/sources/{source.pk}/status/"),
        ("post", "/api/v1/sources/lookup/"),
    ]
    for method, path in targets:
        response = _post(client, path, payload, method)
        assert response.status_code == 400, (method, path, response.content[:200])
        assert "nested" in response.json()["detail"], path


def test_json_within_the_depth_limit_still_parses(editor):
    shallow = {"title": "Optic neuritis", "body": "Text."}
    value = shallow
    for _ in range(MAX_JSON_DEPTH - 2):
        value = [value]
    client = client_for(editor)
    # Within the limit the parser accepts it; the serializer then judges the fields.
    assert _post(client, "/api/v1/articles/", json.dumps(shallow)).status_code == 201
    nested_ok = _post(client, "/api/v1/articles/", json.dumps({"title": "T", "x": value}))
    # The parser let it through: the serializer answers about the unknown field.
    assert nested_ok.status_code == 400
    assert "x" in nested_ok.json()
