"""Background import jobs (issue 11, defect 3): 202 with the job, progress, the report.

Files over ``IMPORT_BACKGROUND_BYTES`` (1 MB) are queued; the tests lower that
threshold and the parsers' batch size so that a few entries make several batches.
"""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from citations import services
from citations.importers import bibtex, ris
from citations.models import ImportJob, Source
from reviewsite.celery import app as celery_app
from reviewsite.celery import ensure_broker_folders
from tests import factories
from tests.helpers import client_for

pytestmark = pytest.mark.django_db


def _bib(n: int, offset: int = 0) -> bytes:
    return "\n".join(
        f"@article{{job{i}, author = {{Family{i}, Given}}, title = {{Job entry {i}}}, "
        f"journal = {{J}}, year = {{2020}}, doi = {{10.5555/job.{i}}}}}"
        for i in range(offset, offset + n)
    ).encode()


@pytest.fixture
def eager_celery():
    """Run tasks inline (still only after commit): set and restored per test."""
    ensure_broker_folders()
    saved = celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates
    celery_app.conf.task_always_eager = True
    celery_app.conf.task_eager_propagates = True
    yield
    celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates = saved


@pytest.fixture
def small_batches(monkeypatch):
    monkeypatch.setattr(services, "IMPORT_BACKGROUND_BYTES", 200)
    monkeypatch.setattr(bibtex, "BATCH_SIZE", 3)
    monkeypatch.setattr(ris, "BATCH_SIZE", 3)


def _post(user, name: str, data: bytes):
    upload = SimpleUploadedFile(name, data, content_type="application/octet-stream")
    return client_for(user).post("/api/v1/sources/import/", {"file": upload}, format="multipart")


def test_a_large_file_answers_202_with_the_queued_job(editor, small_batches):
    response = _post(editor, "big.bib", _bib(7))
    assert response.status_code == 202, response.content
    body = response.json()
    assert response["Location"] == body["url"] == f"/api/v1/imports/{body['id']}/"
    assert (body["state"], body["processed"], body["total"]) == ("queued", 0, 7)
    assert body["report"] is None
    assert Source.objects.count() == 0  # nothing stored before the worker runs
    follow = client_for(editor).get(body["url"])
    assert follow.status_code == 200
    assert follow.json()["state"] == "queued"


def test_a_small_file_answers_201_with_the_report(editor, small_batches):
    response = _post(editor, "small.bib", _bib(1))
    assert response.status_code == 201
    assert response.json()["created"] == 1
    assert not ImportJob.objects.exists()


def test_the_job_runs_after_commit_and_reports_when_done(
    editor, small_batches, eager_celery, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = _post(editor, "big.bib", _bib(7))
    assert response.status_code == 202
    done = client_for(editor).get(response.json()["url"]).json()
    assert (done["state"], done["processed"], done["total"]) == ("done", 7, 7)
    assert (done["report"]["created"], len(done["report"]["entries"])) == (7, 7)
    assert [line["index"] for line in done["report"]["entries"]] == list(range(1, 8))
    assert Source.objects.count() == 7
    assert ImportJob.objects.get().data in (b"", memoryview(b""))


def test_an_unreadable_large_file_is_a_400_and_no_job(editor, small_batches):
    response = _post(editor, "notes.txt", b"just some notes\n" * 40)
    assert response.status_code == 400
    assert not ImportJob.objects.exists()


def test_progress_is_stored_batch_by_batch_and_a_redelivered_job_resumes(
    editor, small_batches, monkeypatch
):
    job = services.import_job_create(actor=editor, data=_bib(7), filename="big.bib")
    seen = []
    original = services._import_batch

    def spy(actor, batch, report):
        original(actor, batch, report)
        seen.append([entry.index for entry in batch])

    monkeypatch.setattr(services, "_import_batch", spy)
    assert services.import_job_run(job_id=job.pk) == "done"
    assert seen == [[1, 2, 3], [4, 5, 6], [7]]
    # As if the worker had been lost after the second batch: delivered again, the job
    # skips the stored batches and imports the rest.
    job.refresh_from_db()
    report = {**job.report, "created": 6, "entries": job.report["entries"][:6]}
    ImportJob.objects.filter(pk=job.pk).update(
        state="running", processed=6, data=_bib(7), report=report, finished_at=None
    )
    Source.objects.filter(key="job6").delete()
    seen.clear()
    assert services.import_job_run(job_id=job.pk) == "done"
    assert seen == [[7]]
    job.refresh_from_db()
    assert (job.report["created"], len(job.report["entries"])) == (7, 7)
    assert Source.objects.count() == 7
    assert services.import_job_run(job_id=job.pk) == "skipped"  # done jobs never run twice


def test_a_job_that_cannot_run_is_failed_with_its_reason(editor, small_batches):
    job = services.import_job_create(actor=editor, data=_bib(7), filename="big.bib")
    ImportJob.objects.filter(pk=job.pk).update(format="endnote-xml")
    assert services.import_job_run(job_id=job.pk) == "failed"
    job.refresh_from_db()
    assert job.state == "failed" and "endnote-xml" in job.error
    body = client_for(editor).get(f"/api/v1/imports/{job.pk}/").json()
    assert (body["state"], body["report"]) == ("failed", None)


def test_a_job_is_seen_by_its_creator_and_managing_editors_only(editor, small_batches):
    job = services.import_job_create(actor=editor, data=_bib(7), filename="big.bib")
    url = f"/api/v1/imports/{job.pk}/"
    other = factories.editor(username="other-editor")
    assert client_for(other).get(url).status_code == 404
    assert client_for(factories.managing_editor(username="mona")).get(url).status_code == 200
    assert client_for(factories.reviewer(username="rita")).get(url).status_code == 404
    assert services.import_jobs_for(other).count() == 0


def test_creating_a_job_needs_the_editor_role(reviewer, small_batches):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        services.import_job_create(actor=reviewer, data=_bib(7), filename="big.bib")
    assert _post(reviewer, "big.bib", _bib(7)).status_code == 403
