"""A NUL byte in any query parameter, header or JSON string is a 400 (or ignored), never a 500.

PostgreSQL refuses NUL in text ("A string literal cannot contain NUL") and in jsonb
(``\\u0000``); SQLite stores it. Run on PostgreSQL to see the difference.
"""

import pytest
from rest_framework.test import APIClient

from tests import factories
from tests.helpers import client_for, make_article

pytestmark = pytest.mark.django_db

NUL = "a\x00b"

PAGES = {
    "/": ["q", "topic", "audience", "page"],
    "/workspace/articles/": ["q", "status", "page"],
    "/workspace/sources/": ["q", "status", "page"],
}
API = {
    "/api/v1/articles/": ["q", "status", "flag", "topic", "audience", "page", "page_size"],
    "/api/v1/sources/": ["q", "status", "evidence_type", "doi", "pmid", "page", "page_size"],
    "/api/v1/review-queue/": ["page", "page_size"],
}


def test_nul_in_any_page_parameter_is_never_a_500(client, editor):
    client.force_login(factories.UserFactory(username="root", is_superuser=True))
    for path, names in PAGES.items():
        for name in names:
            response = client.get(path, {name: NUL})
            assert response.status_code in (200, 400), (path, name, response.status_code)
        if path.startswith("/workspace/"):
            refused = client.get(path, {"q": NUL})
            assert refused.status_code == 400
            assert "null characters are not allowed" in refused.content.decode().lower()


def test_nul_in_any_api_filter_is_a_400_or_ignored(editor, reviewer):
    make_article(editor=editor, reviewer=reviewer, state="approved")
    for client in (APIClient(), client_for(editor)):
        for path, names in API.items():
            for name in names:
                response = client.get(path, {name: NUL})
                assert response.status_code in (200, 400, 401, 403, 404), (path, name)
                assert response.status_code != 500


def test_nul_in_a_token_header_is_a_401():
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {NUL}")
    assert client.get("/api/v1/articles/").status_code == 401


def test_nul_inside_json_values_and_keys_is_a_400(editor):
    article = make_article(editor=editor)
    client = client_for(editor)
    bodies = [
        ("patch", f"/api/v1/articles/{article.pk}/", {"title": NUL}),
        ("patch", f"/api/v1/articles/{article.pk}/", {"intentional_citations": {NUL: "why"}}),
        ("patch", f"/api/v1/articles/{article.pk}/", {"intentional_citations": {"k": NUL}}),
        ("post", "/api/v1/sources/", {"title": "T", "authors": [{"family": NUL}]}),
        ("post", "/api/v1/sources/", {"title": "T", "authors": [{NUL: "x"}]}),
    ]
    for method, path, body in bodies:
        response = getattr(client, method)(path, body, format="json")
        assert response.status_code == 400, (path, body, response.status_code)
    assert article.revisions.count() == 1


def test_nul_in_login_credentials_is_refused_without_a_500(client):
    for path in ("/accounts/login/", "/admin/login/"):
        response = client.post(path, {"username": NUL, "password": NUL})
        assert response.status_code == 200, path  # the form again, with its error
    token = APIClient().post("/api/v1/auth/token/", {"username": NUL, "password": "x"})
    assert token.status_code == 400
