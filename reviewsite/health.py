"""Liveness of the two things the service cannot work without: database and broker."""

from django.db import connection
from django.http import JsonResponse

from .celery import app as celery_app


def check_database() -> str:
    """'ok' or the error."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # noqa: BLE001 - any failure means "down"
        return f"error: {exc.__class__.__name__}"
    return "ok"


def check_broker() -> str:
    """'ok' or the error; gives up after a short timeout."""
    try:
        with celery_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=2)
            if conn.transport_cls == "filesystem" or conn.transport.driver_type == "filesystem":
                _check_filesystem_broker(conn)
    except Exception as exc:  # noqa: BLE001
        return f"error: {exc.__class__.__name__}"
    return "ok"


def _check_filesystem_broker(conn) -> None:
    import os

    options = conn.transport_options or {}
    folder = options.get("data_folder_in")
    if not folder or not os.path.isdir(folder) or not os.access(folder, os.W_OK):
        raise OSError(f"broker folder {folder!r} is missing or not writable")


def healthz(request):
    """GET /healthz: 200 when both answer, 503 naming what is down."""
    body = {"database": check_database(), "broker": check_broker()}
    status = 200 if all(v == "ok" for v in body.values()) else 503
    return JsonResponse(body, status=status)
