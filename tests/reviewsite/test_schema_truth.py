"""What the OpenAPI schema promises, the API does (the cases schemathesis found)."""

import pytest
from rest_framework.test import APIClient

from tests.helpers import client_for, make_article

pytestmark = pytest.mark.django_db


@pytest.fixture
def schema(client):
    return client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()


def test_every_operation_documents_the_errors_it_can_answer(schema):
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            codes = set(operation["responses"])
            assert {"401", "403", "429"} <= codes, (method, path)
            if "{" in path:
                assert "404" in codes, (method, path)
            if "requestBody" in operation:
                assert {"400", "415"} <= codes, (method, path)


def test_schema_patterns_match_what_the_server_stores_and_accepts(schema):
    components = schema["components"]["schemas"]
    assert components["Article"]["properties"]["variant_group"]["pattern"] == "^[-a-zA-Z0-9_]*$"
    url = components["SourceOutput"]["properties"]["url"]
    assert "format" not in url and url["pattern"].endswith(")?$")  # "" is allowed
    title = components["ArticleCreateInput"]["properties"]["title"]
    assert title["pattern"]  # at least one visible character
    assert components["ArticleCreateInput"]["additionalProperties"] is False
    (page_size,) = [
        p for p in schema["paths"]["/api/v1/articles/"]["get"]["parameters"]
        if p["name"] == "page_size"
    ]  # fmt: skip
    assert (page_size["schema"]["minimum"], page_size["schema"]["maximum"]) == (1, 100)


def test_a_blank_title_is_refused_as_the_schema_says(editor):
    client = client_for(editor)
    for title in ("", "   ", "\x1c\x85"):
        response = client.post("/api/v1/articles/", {"title": title}, format="json")
        assert response.status_code == 400, repr(title)
        assert "title" in response.json()


def test_an_empty_choice_filter_is_a_400(editor, reviewer):
    make_article(editor=editor, reviewer=reviewer, state="approved")
    for path, name in (
        ("/api/v1/articles/", "status"),
        ("/api/v1/articles/", "flag"),
        ("/api/v1/articles/", "audience"),
        ("/api/v1/sources/", "status"),
        ("/api/v1/sources/", "evidence_type"),
    ):
        response = client_for(editor).get(path, {name: ""})
        assert response.status_code == 400, (path, name)
        assert name in response.json()
    assert APIClient().get("/api/v1/articles/", {"topic": ""}).status_code == 200


@pytest.mark.parametrize("value", ["0", "101", "-1", "x", "null", "1.5", ""])
def test_page_size_out_of_range_is_a_400(value):
    response = APIClient().get("/api/v1/articles/", {"page_size": value})
    assert response.status_code == 400
    assert "1 to 100" in response.json()["page_size"][0]


def test_page_size_in_range_is_honoured(editor, reviewer):
    for title in ("One", "Two"):
        make_article(editor=editor, reviewer=reviewer, state="approved", title=title)
    body = APIClient().get("/api/v1/articles/", {"page_size": "1"}).json()
    assert len(body["results"]) == 1 and body["count"] == 2


def test_unknown_api_urls_answer_json_404(client):
    response = client.get("/api/v1/articles/not-a-number/")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "Not found."}


def test_numbers_are_not_taken_as_slugs_or_titles(editor):
    client = client_for(editor)
    bodies = (
        {"title": 12},
        {"title": "T", "slug": -15},
        {"title": "T", "variant_group": 3},
        {"title": "T", "summary": 5},
        {"title": "T", "body": 1.5},
    )
    for body in bodies:
        assert client.post("/api/v1/articles/", body, format="json").status_code == 400, body
