"""The integrity watch's API: a source's check history and "check now"."""

from __future__ import annotations

import pytest

from citations.models import SourceCheck
from tests.factories import SourceFactory, UserFactory
from tests.helpers import client_for
from tests.workflows.conftest import eager_celery  # noqa: F401 - a fixture

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("eager_celery")]

WAKEFIELD_DOI = "10.1016/s0140-6736(97)11096-0"


def checks_url(source) -> str:
    return f"/api/v1/sources/{source.pk}/checks/"


def check_url(source) -> str:
    return f"/api/v1/sources/{source.pk}/check/"


def test_reviewer_checks_a_source_now_and_gets_its_new_checks(
    replay, reviewer, django_capture_on_commit_callbacks
):
    source = SourceFactory(doi=WAKEFIELD_DOI, pmid="9500320")
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(reviewer).post(check_url(source))
    assert response.status_code == 200, response.content
    body = response.json()
    assert [(c["registry"], c["outcome"], c["found_status"]) for c in body] == [
        ("crossref", "changed", "retracted"),
        ("pubmed", "unchanged", "retracted"),
    ]
    assert body[0]["notice_doi"] == "10.1016/s0140-6736(10)60175-4"
    detail = client_for(reviewer).get(f"/api/v1/sources/{source.pk}/")
    assert detail.json()["status"] == "retracted"
    assert detail.json()["last_checked"] is not None


def test_editor_may_check_now_a_plain_user_may_not(replay, editor):
    source = SourceFactory(doi="10.5555/unknown", pmid="")
    assert client_for(editor).post(check_url(source)).status_code == 200
    assert client_for(UserFactory()).post(check_url(source)).status_code == 403
    assert SourceCheck.objects.count() == 1


def test_check_now_without_identifiers_or_switched_off_is_a_clear_400(replay, editor, settings):
    bare = SourceFactory(doi="", pmid="")
    response = client_for(editor).post(check_url(bare))
    assert response.status_code == 400
    assert "no DOI or PMID" in str(response.json())
    settings.REVIEWSITE_SOURCE_CHECK_ENABLED = False
    response = client_for(editor).post(check_url(SourceFactory()))
    assert response.status_code == 400
    assert "REVIEWSITE_SOURCE_CHECK_ENABLED" in response.json()["detail"]


def test_check_now_of_a_missing_source_is_404(replay, editor):
    assert client_for(editor).post("/api/v1/sources/999999/check/").status_code == 404


def test_history_lists_checks_newest_first_for_staff_only(
    replay, reviewer, editor, django_assert_max_num_queries
):
    source = SourceFactory(doi=WAKEFIELD_DOI, pmid="")
    client_for(reviewer).post(check_url(source))
    client_for(reviewer).post(check_url(source))
    with django_assert_max_num_queries(6):
        response = client_for(editor).get(checks_url(source))
    assert response.status_code == 200
    results = response.json()["results"]
    assert response.json()["count"] == 2
    assert [c["outcome"] for c in results] == ["unchanged", "changed"]
    assert results[0]["id"] > results[1]["id"]
    assert client_for(UserFactory()).get(checks_url(source)).status_code == 403
    assert client_for(editor).get("/api/v1/sources/999999/checks/").status_code == 404


def test_workspace_source_page_shows_the_checks_and_checks_now(
    replay, reviewer, client, django_capture_on_commit_callbacks
):
    source = SourceFactory(doi=WAKEFIELD_DOI, pmid="")
    client.force_login(reviewer)
    page = client.get(f"/workspace/sources/{source.pk}/").content.decode()
    assert "Never checked against Crossref or PubMed." in page
    assert "Check now" in page and "No checks yet." in page
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/workspace/sources/{source.pk}/check/", follow=True)
    assert response.status_code == 200
    page = response.content.decode()
    assert "Checked " + source.key in page and "Status: Retracted" in page
    assert "Last checked" in page
    assert "<td>Crossref</td>" in page and "<td>Changed</td>" in page
    assert "doi:10.1016/s0140-6736(10)60175-4" in page
    assert "system:" in page  # the status history names the system as the actor


def test_workspace_check_now_is_refused_politely_when_switched_off(
    replay, editor, client, settings
):
    settings.REVIEWSITE_SOURCE_CHECK_ENABLED = False
    source = SourceFactory()
    client.force_login(editor)
    page = client.get(f"/workspace/sources/{source.pk}/").content.decode()
    assert "Check now" not in page and "switched off" in page
    response = client.post(f"/workspace/sources/{source.pk}/check/", follow=True)
    assert "REVIEWSITE_SOURCE_CHECK_ENABLED" in response.content.decode()
    assert not SourceCheck.objects.exists()
