"""Import jobs in the Django admin: a read-only list with progress, filtered by state."""

import pytest

from citations.models import ImportJob
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def jobs():
    editor = factories.editor(username="imp-admin-editor")
    running = ImportJob.objects.create(
        created_by=editor, filename="zotero.bib", format="bibtex", state="running",
        processed=2000, total=35692, data=b"@article{x,}",
    )  # fmt: skip
    done = ImportJob.objects.create(
        created_by=editor, filename="pubmed.nbib", format="medline", state="done",
        processed=12, total=12, report={"created": 12, "merged": 0, "refused": 0, "entries": []},
    )  # fmt: skip
    return running, done


@pytest.fixture
def admin_client(client):
    client.force_login(
        factories.UserFactory(username="imp-admin-root", is_superuser=True, is_staff=True)
    )
    return client


def test_the_admin_lists_jobs_with_who_file_format_state_and_progress(
    admin_client, jobs, django_assert_max_num_queries
):
    with django_assert_max_num_queries(8):  # session, user, count, the page: not one per job
        page = admin_client.get("/admin/citations/importjob/")
    assert page.status_code == 200
    html = page.content.decode()
    for text in ("zotero.bib", "pubmed.nbib", "imp-admin-editor", "bibtex", "medline",
                 "2,000 / 35,692", "12 / 12", "Running", "Done"):  # fmt: skip
        assert text in html


def test_the_admin_filters_jobs_by_state(admin_client, jobs):
    html = admin_client.get("/admin/citations/importjob/?state__exact=running").content.decode()
    assert "zotero.bib" in html and "pubmed.nbib" not in html


def test_a_job_is_read_only_in_the_admin(admin_client, jobs):
    running, _done = jobs
    page = admin_client.get(f"/admin/citations/importjob/{running.pk}/change/")
    assert page.status_code == 200  # viewable
    assert b'name="state"' not in page.content  # no field to edit
    assert admin_client.get("/admin/citations/importjob/add/").status_code == 403
    response = admin_client.post(
        f"/admin/citations/importjob/{running.pk}/delete/", {"post": "yes"}
    )
    assert response.status_code == 403
    assert ImportJob.objects.filter(pk=running.pk).exists()
