"""A background import through a real Celery worker process (``tests/worker.py``)."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from citations.models import ImportJob, Source
from tests import worker as harness
from tests.helpers import client_for
from tests.workflows.test_worker import (  # noqa: F401 (fixtures)
    broker,
    mail_dir,
    roles,
    start_worker,
)

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def _bib(n: int) -> bytes:
    return "\n".join(
        f"@article{{w{i}, author = {{Family{i}, Given and Other, Person}}, "
        f"title = {{Worker entry {i} on relapse rate}}, journal = {{Mult Scler J}}, "
        f"year = {{{1990 + i % 30}}}, pages = {{{i % 90 + 1}--{i % 90 + 9}}}, "
        f"doi = {{10.5555/worker.{i}}}}}"
        for i in range(n)
    ).encode()


def test_a_large_import_runs_in_the_worker_with_progress(start_worker, editor):  # noqa: F811
    data = _bib(9000)  # about 1.6 MB: over the 1 MB threshold, five batches of 2,000
    assert len(data) > 1024 * 1024
    upload = SimpleUploadedFile("large.bib", data, content_type="application/x-bibtex")
    response = client_for(editor).post("/api/v1/sources/import/", {"file": upload})
    assert response.status_code == 202, response.content
    url = response.json()["url"]
    worker = start_worker()
    seen: list[int] = []

    def finished():
        body = client_for(editor).get(url).json()
        seen.append(body["processed"])
        return body if body["state"] in ("done", "failed") else None

    try:
        body = harness.wait_for(finished, timeout=240, what="the import job")
    except TimeoutError as error:
        raise AssertionError(worker.log_tail()) from error
    assert body["state"] == "done", body["error"] or worker.log_tail()
    assert (body["processed"], body["total"], body["report"]["created"]) == (9000, 9000, 9000)
    # Progress only moves forward, a whole batch at a time.
    assert seen == sorted(seen)
    assert all(p % 2000 == 0 or p == 9000 for p in seen)
    assert Source.objects.count() == 9000
    assert bytes(ImportJob.objects.get().data) == b""
