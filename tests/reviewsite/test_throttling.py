"""Logins, the API and password resets are rate-limited (429); tokens can be revoked and rotate.

django-axes counts failed logins per user and per address on every login door
(/accounts/login/, /admin/login/, /api/v1/auth/token/); DRF throttles the API
per user and per address; password-reset POSTs are throttled too. The limits are
settings, so each test sets the ones it exercises.
"""

import pytest
from django.core import mail
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests import factories

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"


@pytest.fixture
def login_limit(settings):
    settings.AXES_FAILURE_LIMIT = 3
    return 3


@pytest.fixture
def rates(settings):
    """Set DRF throttle rates for this test: ``rates(anon="3/min")``."""

    def set_rates(**scoped):
        current = settings.REST_FRAMEWORK
        settings.REST_FRAMEWORK = {
            **current,
            "DEFAULT_THROTTLE_RATES": {
                **current["DEFAULT_THROTTLE_RATES"],
                **{k.replace("_", "-"): v for k, v in scoped.items()},
            },
        }

    return set_rates


def test_login_page_locks_out_after_the_failure_limit(client, editor, login_limit):
    for _ in range(login_limit - 1):
        response = client.post("/accounts/login/", {"username": "eddie", "password": "wrong"})
        assert response.status_code == 200  # the form again, with its error
    locked = client.post("/accounts/login/", {"username": "eddie", "password": "wrong"})
    assert locked.status_code == 429
    # Locked out: even the right password is refused until the cool-off ends.
    right = client.post("/accounts/login/", {"username": "eddie", "password": PASSWORD})
    assert right.status_code == 429
    assert "_auth_user_id" not in client.session


def test_admin_login_is_locked_out_too(client, login_limit):
    factories.UserFactory(username="boss", is_staff=True, is_superuser=True)
    for _ in range(login_limit):
        response = client.post("/admin/login/", {"username": "boss", "password": "wrong"})
    assert response.status_code == 429


def test_token_endpoint_locks_out_with_a_json_429(editor, login_limit):
    client = APIClient()
    for _ in range(login_limit - 1):
        response = client.post(
            "/api/v1/auth/token/", {"username": "eddie", "password": "x"}, format="json"
        )
        assert response.status_code == 400
    locked = client.post(
        "/api/v1/auth/token/", {"username": "eddie", "password": "x"}, format="json"
    )
    assert locked.status_code == 429
    right = client.post(
        "/api/v1/auth/token/", {"username": "eddie", "password": PASSWORD}, format="json"
    )
    assert right.status_code == 429
    assert "token" not in right.json()
    assert "try again" in locked.json()["detail"]
    assert int(locked["Retry-After"]) > 0


def test_lockout_counts_per_address_across_usernames(client, login_limit):
    for n in range(login_limit):
        response = client.post("/accounts/login/", {"username": f"guess{n}", "password": "x"})
    assert response.status_code == 429
    other_address = client.post(
        "/accounts/login/", {"username": "guess9", "password": "x"}, REMOTE_ADDR="10.0.0.9"
    )
    assert other_address.status_code == 200


def test_a_successful_login_is_not_throttled(client, editor, login_limit):
    for _ in range(login_limit + 2):
        response = client.post("/accounts/login/", {"username": "eddie", "password": PASSWORD})
        assert response.status_code == 302


def test_api_is_throttled_per_address_for_anonymous_readers(rates):
    rates(anon="3/min")
    client = APIClient()
    codes = [client.get("/api/v1/articles/").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    elsewhere = client.get("/api/v1/articles/", REMOTE_ADDR="10.0.0.7")
    assert elsewhere.status_code == 200


def test_api_is_throttled_per_user(editor, rates):
    rates(user="2/min")
    token = Token.objects.create(user=editor)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    codes = [client.get("/api/v1/sources/").status_code for _ in range(3)]
    assert codes == [200, 200, 429]
    # Another user from the same address has their own allowance.
    other = APIClient()
    other.force_authenticate(factories.editor(username="edna"))
    assert other.get("/api/v1/sources/").status_code == 200


def test_password_reset_posts_are_throttled(client, editor, rates):
    rates(password_reset="2/hour")
    codes = [
        client.post("/accounts/password_reset/", {"email": "eddie@example.org"}).status_code
        for _ in range(4)
    ]
    assert codes == [302, 302, 429, 429]
    assert len(mail.outbox) == 2


def test_a_token_is_revoked_by_delete(editor):
    client = APIClient()
    issued = client.post(
        "/api/v1/auth/token/", {"username": "eddie", "password": PASSWORD}, format="json"
    ).json()["token"]
    client.credentials(HTTP_AUTHORIZATION=f"Token {issued}")
    assert client.get("/api/v1/sources/").status_code == 200
    assert client.delete("/api/v1/auth/token/").status_code == 204
    assert client.get("/api/v1/sources/").status_code == 401
    assert not Token.objects.filter(user=editor).exists()
    assert APIClient().delete("/api/v1/auth/token/").status_code == 401


def test_a_password_change_rotates_the_token(editor):
    client = APIClient()
    old = client.post(
        "/api/v1/auth/token/", {"username": "eddie", "password": PASSWORD}, format="json"
    ).json()["token"]
    editor.set_password("a brand new passphrase 42")
    editor.save()
    client.credentials(HTTP_AUTHORIZATION=f"Token {old}")
    assert client.get("/api/v1/sources/").status_code == 401
    client.credentials()
    new = client.post(
        "/api/v1/auth/token/",
        {"username": "eddie", "password": "a brand new passphrase 42"},
        format="json",
    ).json()["token"]
    assert new != old
    # Saving the user without a new password keeps the token.
    editor.first_name = "Eddie"
    editor.save()
    assert Token.objects.get(user=editor).key == new
