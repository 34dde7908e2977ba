"""Fixtures shared by all tests: users in each role, API clients, articles in each state."""

import pytest
from rest_framework.test import APIClient

from . import factories
from .helpers import make_article


def pytest_collection_modifyitems(config, items):
    """Browser tests run last, in their collected order.

    They share one Chromium for the session (the ``browser`` fixture), and Playwright's
    sync API keeps an event loop running in the main thread while it is open, which
    would break any later test that runs asyncio or relies on Django's async-safety check.
    """
    items.sort(key=lambda item: item.get_closest_marker("browser") is not None)


@pytest.fixture(scope="session")
def browser():
    """One Chromium for every browser test (tests/browser.py); each test makes contexts."""
    from .browser import launched_browser

    with launched_browser() as launched:
        yield launched


@pytest.fixture(scope="session", autouse=True)
def _end_stray_database_sessions(django_db_setup, django_db_blocker):
    """On PostgreSQL, end sessions the live server's threads left open, before the drop.

    Request threads answering Chromium's keep-alive connections can outlive the
    browser tests with an idle session, and PostgreSQL refuses to drop a database
    that someone is connected to.
    """
    yield
    from django.db import connection

    if connection.vendor != "postgresql":
        return
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )


@pytest.fixture
def logged_in(client):
    """``logged_in(user)``: the test client, signed in as ``user`` (no password check)."""

    def login(user):
        client.force_login(user)
        return client

    return login


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # PBKDF2 is deliberately slow; the tests create hundreds of users.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _no_api_volume_throttling(settings):
    # Tests send many API requests from one address within a minute; the per-address
    # and per-user API rates are exercised in tests/reviewsite/test_throttling.py, which
    # sets them. Login lockouts (django-axes) and the other scopes stay on everywhere.
    rest = settings.REST_FRAMEWORK
    rates = {**rest["DEFAULT_THROTTLE_RATES"], "anon": None, "user": None}
    settings.REST_FRAMEWORK = {**rest, "DEFAULT_THROTTLE_RATES": rates}


@pytest.fixture(autouse=True)
def _demo_accounts_file(settings, tmp_path):
    # seed_demo writes the passwords it made; never into the checkout during tests.
    settings.REVIEWSITE_DEMO_ACCOUNTS_FILE = str(tmp_path / "demo-accounts.txt")


@pytest.fixture(autouse=True)
def _empty_cache():
    # CI shares one Redis cache between runs; a page cached by one test must not leak.
    from django.core.cache import cache

    cache.clear()
    yield


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    # Uploaded figures land in the test's own folder, never in the repository's media/.
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture
def editor(db):
    return factories.editor(username="eddie")


@pytest.fixture
def reviewer(db):
    return factories.reviewer(username="rita")


@pytest.fixture
def second_reviewer(db):
    return factories.reviewer(username="ravi")


@pytest.fixture
def managing_editor(db):
    return factories.managing_editor(username="mona")


@pytest.fixture
def reader(db):
    return factories.UserFactory(username="reader")


@pytest.fixture
def api():
    return APIClient()


@pytest.fixture
def article_in():
    """Call ``article_in(state, editor=..., reviewer=...)`` for an article in that state."""
    return lambda state, **kw: make_article(state=state, **kw)
