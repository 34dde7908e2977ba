"""The foundation: health endpoint, production settings, deploy checks."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from reviewsite import health

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.django_db
def test_healthz_reports_database_and_broker_ok(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"database": "ok", "broker": "ok"}


@pytest.mark.django_db
def test_healthz_is_503_and_names_the_broker_when_it_is_down(client, monkeypatch):
    from reviewsite.celery import app

    # A port nothing listens on: the real connection attempt fails. Celery prefers the
    # CELERY_BROKER_URL environment variable (set in CI) to its configuration.
    # (Configuration first: with the variable already set, the value monkeypatch saves to
    # restore would be the broken one.)
    down = "redis://127.0.0.1:1/0"
    monkeypatch.setattr(app.conf, "broker_url", down)
    monkeypatch.setenv("CELERY_BROKER_URL", down)
    response = client.get("/healthz")
    monkeypatch.undo()
    assert app.conf.broker_url != down  # later tests publish through the real broker
    assert response.status_code == 503
    body = response.json()
    assert body["database"] == "ok"
    assert body["broker"].startswith("error")


@pytest.mark.django_db
def test_healthz_is_503_and_names_the_database_when_it_is_down(client, monkeypatch):
    from django.db import connection

    def broken_cursor(*args, **kwargs):
        raise ConnectionError("database went away")

    monkeypatch.setattr(connection, "cursor", broken_cursor)
    assert health.check_database().startswith("error")


def _run(args, **env):
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    full_env.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_settings_refuse_to_start_without_a_secret_key():
    result = _run(["check"], DJANGO_SETTINGS_MODULE="reviewsite.settings_production")
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr


def test_production_settings_pass_the_deploy_check():
    result = _run(
        ["check", "--deploy", "--fail-level", "WARNING"],
        DJANGO_SETTINGS_MODULE="reviewsite.settings_production",
        DJANGO_SECRET_KEY="x" * 20 + "production-secret-key-for-the-deploy-check-0123456789",
        DJANGO_ALLOWED_HOSTS="reviews.example.org",
    )
    assert result.returncode == 0, result.stderr


def test_debug_is_off_unless_asked():
    from django.conf import settings

    assert os.environ.get("DJANGO_DEBUG") or settings.DEBUG is False


@pytest.mark.django_db
def test_api_docs_and_schema_are_served_without_outside_assets(client):
    schema = client.get("/api/schema/")
    assert schema.status_code == 200
    assert b"/api/v1/articles/{id}/{action_name}/" in schema.content
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    html = docs.content.decode()
    assert "swagger-ui" in html
    assert "cdn." not in html and "jsdelivr" not in html
