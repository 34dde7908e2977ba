"""Background import jobs (issue 11, defect 3): 202 with the job, progress, the report.

Files over ``IMPORT_BACKGROUND_BYTES`` (1 MB) are queued; the tests lower that
threshold and the parsers' batch size so that a few entries make several batches.
"""

import json
import threading
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.utils import timezone

from citations import services
from citations.importers import bibtex, csljson, open_file, retraction_watch, ris
from citations.models import ImportJob, ImportJobPart, Source
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


class _WorkerLost(BaseException):
    """Stands for the worker process dying: nothing of the run's own handling runs."""


def test_progress_is_stored_batch_by_batch_and_a_redelivered_job_resumes(
    editor, small_batches, monkeypatch
):
    job = services.import_job_create(actor=editor, data=_bib(7), filename="big.bib")
    seen, progress = [], []
    original = services._import_batch

    def spy(actor, batch, report):
        if len(seen) == 2 and not progress:
            raise _WorkerLost  # the worker dies during the third batch
        original(actor, batch, report)
        seen.append([entry.index for entry in batch])

    monkeypatch.setattr(services, "_import_batch", spy)
    with pytest.raises(_WorkerLost):
        services.import_job_run(job_id=job.pk)
    job.refresh_from_db()
    # Two batches stored with their progress; the report is written when the job is done.
    assert (job.state, job.processed, Source.objects.count()) == ("running", 6, 6)
    assert job.report == {"created": 0, "merged": 0, "refused": 0, "entries": []}
    # Delivered again while the lost run's lease holds: nothing happens yet.
    progress.append("redelivered")
    assert services.import_job_run(job_id=job.pk) == "busy"
    assert seen == [[1, 2, 3], [4, 5, 6]]
    # Once the lease has expired, the job skips the stored batches and imports the rest.
    ImportJob.objects.filter(pk=job.pk).update(lease_until=timezone.now() - timedelta(seconds=1))
    assert services.import_job_run(job_id=job.pk) == "done"
    assert seen == [[1, 2, 3], [4, 5, 6], [7]]
    job.refresh_from_db()
    assert (job.state, job.processed, job.total) == ("done", 7, 7)
    assert (job.report["created"], len(job.report["entries"])) == (7, 7)
    assert [line["index"] for line in job.report["entries"]] == list(range(1, 8))
    assert Source.objects.count() == 7
    assert not ImportJobPart.objects.exists()  # the batches' lines now live in the report
    assert services.import_job_run(job_id=job.pk) == "skipped"  # done jobs never run twice


def test_a_second_delivery_while_the_job_runs_does_nothing(editor, small_batches, monkeypatch):
    job = services.import_job_create(actor=editor, data=_bib(7), filename="big.bib")
    original, second = services._import_batch, []

    def spy(actor, batch, report):
        if not second:  # the same message delivered again, mid-run
            second.append(services.import_job_run(job_id=job.pk))
        original(actor, batch, report)

    monkeypatch.setattr(services, "_import_batch", spy)
    assert services.import_job_run(job_id=job.pk) == "done"
    assert second == ["busy"]
    job.refresh_from_db()
    assert (job.report["created"], len(job.report["entries"])) == (7, 7)
    assert Source.objects.count() == 7


def test_a_run_that_lost_its_job_stops_and_its_batch_is_rolled_back(
    editor, small_batches, monkeypatch
):
    job = services.import_job_create(actor=editor, data=_bib(7), filename="big.bib")
    original = services._import_batch

    def spy(actor, batch, report):
        original(actor, batch, report)
        if batch[0].index == 4:  # meanwhile the lease expired and another run took the job
            ImportJob.objects.filter(pk=job.pk).update(lease_token="someone-else")

    monkeypatch.setattr(services, "_import_batch", spy)
    assert services.import_job_run(job_id=job.pk) == "busy"
    # The second batch was stored with the lease renewed; the third found it gone.
    assert Source.objects.count() == 6
    job.refresh_from_db()
    assert (job.state, job.processed, job.lease_token) == ("running", 6, "someone-else")


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


@pytest.mark.django_db(transaction=True)
def test_two_workers_running_one_job_at_once_store_it_once(editor, small_batches):
    """Two runs of the same job start together, each in its own thread and connection."""
    data = _bib(150)  # fifty batches: the runs overlap
    job = ImportJob.objects.create(
        created_by=editor, filename="big.bib", format="bibtex", data=data, total=150
    )
    start, outcomes = threading.Barrier(2), []

    def run():
        try:
            start.wait()
            outcomes.append(services.import_job_run(job_id=job.pk))
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    # Overlapping runs: the second finds the job claimed ("busy"). On a loaded machine
    # the first can finish before the second starts; it then finds it done ("skipped").
    # Either way the job is run, and stored, once.
    assert sorted(outcomes) in (["busy", "done"], ["done", "skipped"])
    job.refresh_from_db()
    assert (job.state, job.processed, job.report["created"]) == ("done", 150, 150)
    assert [line["index"] for line in job.report["entries"]] == list(range(1, 151))
    assert Source.objects.count() == 150


def _csl(n: int) -> bytes:
    items = [
        {"id": f"csl{i}", "type": "article-journal", "title": f"CSL entry {i}",
         "author": [{"family": f"Family{i}", "given": "Given"}], "issued": {"date-parts": [[2020]]},
         "DOI": f"10.5555/csl.{i}"}
        for i in range(n)
    ]  # fmt: skip
    return json.dumps(items).encode()


def _crossref_list(n: int) -> bytes:
    works = [
        {"DOI": f"10.5555/cr.{i}", "type": "journal-article", "title": [f"Crossref work {i}"],
         "author": [{"family": f"Family{i}", "given": "G"}], "member": "1",
         "issued": {"date-parts": [[2021, 5]]}, "container-title": ["J"]}
        for i in range(n)
    ]  # fmt: skip
    answer = {"status": "ok", "message-type": "work-list", "message": {"items": works}}
    return json.dumps(answer).encode()


def _rw_csv(n: int) -> bytes:
    head = (
        "Record ID,Title,Journal,Author,OriginalPaperDOI,OriginalPaperPubMedID,"
        "RetractionNature,RetractionDate,Reason\n"
    )
    rows = [
        f"{i},RW paper {i},J,Family{i} G,10.5555/rw.{i},0,Retraction,2022-01-0{1 + i % 9},+Error\n"
        for i in range(n)
    ]
    # A second notice for the first paper, at the end of the file: folded into it.
    rows.append(f"{n},RW paper 0,J,Family0 G,10.5555/rw.0,0,Correction,2021-01-01,+Fix\n")
    return (head + "".join(rows)).encode()


@pytest.mark.parametrize(
    ("name", "data", "expected"),
    [
        ("big.json", _csl(7), "csl"),
        ("crossref.json", _crossref_list(7), "cr"),
        ("rw.csv", _rw_csv(7), "rw"),
    ],
)
def test_json_and_csv_jobs_are_parsed_and_stored_batch_by_batch(
    editor, small_batches, monkeypatch, name, data, expected
):
    for module in (csljson, retraction_watch):
        monkeypatch.setattr(module, "BATCH_SIZE", 3)
    job = services.import_job_create(actor=editor, data=data, filename=name)
    assert job.total in (7, 8)  # Retraction Watch counts rows: two of them are one paper
    stored, original = [], services._import_batch

    def spy(actor, batch, report):
        original(actor, batch, report)
        # Each batch is in the database before the next one is even parsed.
        stored.append(Source.objects.count())

    monkeypatch.setattr(services, "_import_batch", spy)
    assert services.import_job_run(job_id=job.pk) == "done"
    assert stored == [3, 6, 7]
    job.refresh_from_db()
    assert (job.processed, job.total, job.report["created"]) == (7, 7, 7)
    assert all(expected in s.doi for s in Source.objects.all())
    if expected == "rw":  # the folded notices: the retraction beats the later-listed correction
        assert Source.objects.get(doi="10.5555/rw.0").status == "retracted"


def test_a_streamed_json_list_cut_off_keeps_every_complete_item(editor, small_batches, monkeypatch):
    monkeypatch.setattr(csljson, "BATCH_SIZE", 3)
    data = _csl(7)
    cut = data[: data.index(b'{"id": "csl6"') + 20]  # inside the seventh item
    entries = [e for batch in open_file(cut, "cut.json").batches for e in batch]
    assert [e.key for e in entries if e.ok] == [f"csl{i}" for i in range(6)]
    assert not entries[-1].ok and "item 7 is truncated" in entries[-1].error
