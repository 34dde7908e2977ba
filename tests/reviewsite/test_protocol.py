"""HTTP details: Cache-Control directives, the plain-HTTP health probe, If-Match lists."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from reviewsite.conditional import if_match_passes
from tests.helpers import client_for, make_article

ROOT = Path(__file__).resolve().parents[2]


def _directives(header: str) -> list[str]:
    return [part.strip() for part in header.split(",")]


@pytest.mark.django_db
def test_reader_pages_send_well_formed_cache_control(client, editor, reviewer):
    article = make_article(editor=editor, reviewer=reviewer, state="approved")
    anonymous = _directives(client.get(article.get_absolute_url())["Cache-Control"])
    assert sorted(anonymous) == ["max-age=0", "must-revalidate", "public"]
    client.force_login(editor)
    logged_in = _directives(client.get(article.get_absolute_url())["Cache-Control"])
    assert sorted(logged_in) == ["max-age=0", "must-revalidate", "private"]


def test_production_answers_plain_http_health_probes_and_redirects_the_rest():
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    env.update(
        DJANGO_SETTINGS_MODULE="reviewsite.settings_production",
        DJANGO_SECRET_KEY="x" * 50,
        DJANGO_ALLOWED_HOSTS="testserver",
        DATABASE_URL="sqlite://:memory:",
    )
    script = (
        "import django; django.setup()\n"
        "from django.test import Client\n"
        "c = Client()\n"
        "print(c.get('/healthz').status_code, c.get('/editorial-policy/').status_code)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    health, page = result.stdout.split()
    assert health in ("200", "503")  # answered, whatever the services' state
    assert page == "301"


@pytest.mark.parametrize(
    ("header", "passes"),
    [
        ('"7-3"', True),
        ('"1-1", "7-3"', True),
        ('"1-1","7-3" , "9-9"', True),
        ("*", True),
        ('"1-1", "2-2"', False),
        ('W/"7-3"', False),  # If-Match compares strongly (RFC 9110 13.1.1)
        ('W/"1-1", "7-3"', True),
        ("garbage", False),
        ("", False),
    ],
)
def test_if_match_accepts_a_list_of_entity_tags(header, passes):
    assert if_match_passes(header, '"7-3"') is passes


@pytest.mark.django_db
def test_patch_with_a_list_of_etags_including_the_current_one_saves(editor):
    article = make_article(editor=editor, title="Before")
    client = client_for(editor)
    etag = client.get(f"/api/v1/articles/{article.pk}/")["ETag"]
    stale = client.patch(
        f"/api/v1/articles/{article.pk}/", {"title": "X"}, format="json",
        HTTP_IF_MATCH=f'"0-0", W/{etag}',
    )  # fmt: skip
    assert stale.status_code == 412
    response = client.patch(
        f"/api/v1/articles/{article.pk}/", {"title": "After"}, format="json",
        HTTP_IF_MATCH=f'"0-0", {etag}',
    )  # fmt: skip
    assert response.status_code == 200
    assert response.json()["title"] == "After"
