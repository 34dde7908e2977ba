"""Fixtures of the citation tests: the registry replay server for the integrity watch."""

import pytest

from .replay import ReplayServer


@pytest.fixture(scope="session")
def registry_server():
    with ReplayServer() as running:
        yield running


@pytest.fixture
def replay(registry_server, settings):
    """The replay server, reset, with the watch switched on and pointed at it."""
    registry_server.registries.reset()
    settings.REVIEWSITE_SOURCE_CHECK_ENABLED = True
    settings.REVIEWSITE_CROSSREF_URL = registry_server.url
    settings.REVIEWSITE_PUBMED_URL = registry_server.url
    settings.REVIEWSITE_CONTACT_EMAIL = "integrity@example.org"
    settings.REVIEWSITE_SOURCE_CHECK_BACKOFF = 0
    settings.REVIEWSITE_SOURCE_CHECK_RETRIES = 2
    settings.REVIEWSITE_SOURCE_CHECK_MAX_WAIT = 1
    settings.REVIEWSITE_SOURCE_CHECK_TIMEOUT = 5
    settings.REVIEWSITE_CROSSREF_MIN_INTERVAL = 0
    settings.REVIEWSITE_PUBMED_MIN_INTERVAL = 0
    return registry_server.registries
