"""The Celery application; configuration comes from Django settings (CELERY_*)."""

import contextlib
import os
from pathlib import Path

from celery import Celery
from celery.signals import worker_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "reviewsite.settings")

app = Celery("reviewsite")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def ensure_broker_folders() -> None:
    """Create the embedded (filesystem) broker's folders; a no-op for Redis."""
    # A read-only checkout: /healthz will report the broker as down.
    with contextlib.suppress(OSError):
        _make_broker_folders()


def _make_broker_folders() -> None:
    for key in ("data_folder_in", "data_folder_out", "control_folder"):
        folder = (app.conf.broker_transport_options or {}).get(key)
        if folder:
            Path(folder).mkdir(parents=True, exist_ok=True)
    backend = app.conf.result_backend or ""
    if backend.startswith("file://"):
        Path(backend.removeprefix("file://")).mkdir(parents=True, exist_ok=True)


# The filesystem transport writes into these folders when a task is published, so they
# must exist before the web process enqueues anything, not only when a worker starts.
ensure_broker_folders()


@worker_init.connect
def _prepare_worker(**kwargs) -> None:
    ensure_broker_folders()


@app.task(name="reviewsite.ping")
def ping() -> str:
    """Answer 'pong': proves a worker consumes from the configured broker."""
    return "pong"
