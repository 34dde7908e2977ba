"""Source library API: permissions, shapes, validation messages, import, status, lookup."""

from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from citations.models import Source, SourceStatusEvent
from citations.signals import source_status_changed
from tests import factories
from tests.citations.test_lookup import closed_port_url, replay_server  # noqa: F401 (fixtures)
from tests.helpers import REAL_WORLD, client_for, make_article, real_world_files
from workflows import services as workflow_services

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).resolve().parent / "fixtures"

# PRODUCT.md's fields, plus the journal abbreviation that AMA and NLM entries print.
SOURCE_FIELDS = {
    "id", "key", "type", "title", "authors", "container_title", "container_title_short",
    "issued", "volume", "issue", "pages", "doi", "pmid", "pmcid", "url", "publisher",
    "evidence_type", "status", "status_notice", "citing_count", "last_checked",
}  # fmt: skip

BIBTEX = b"""
@article{smith2020,
  title = {Natalizumab in relapsing multiple sclerosis},
  author = {Smith, John and Doe, Jane},
  journal = {N Engl J Med},
  year = {2020},
  doi = {10.1056/NEJMoa0001},
}
@article{jones2019,
  title = {Ocrelizumab and disability progression},
  author = {Jones, Ann},
  journal = {Lancet},
  year = {2019},
  pmid = {31000001},
}
"""


_ROLE_USERS = {
    "reader": ("reader", factories.UserFactory),
    "editor": ("eddie", factories.editor),
    "reviewer": ("rita", factories.reviewer),
    "managing": ("mona", factories.managing_editor),
}


def _user(role: str):
    """The one user of ``role`` in this test, made on first use and reused on purpose."""
    username, make = _ROLE_USERS[role]
    return get_user_model().objects.filter(username=username).first() or make(username=username)


def _client(role: str) -> APIClient:
    return APIClient() if role == "anonymous" else client_for(_user(role))


def _upload(name: str, data: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="application/octet-stream")


# --- permissions -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "expected"),
    [("anonymous", 401), ("reader", 403), ("editor", 200), ("reviewer", 200), ("managing", 200)],
)
def test_source_list_is_for_editorial_staff(role, expected):
    factories.SourceFactory()
    response = _client(role).get("/api/v1/sources/")
    assert response.status_code == expected
    if expected == 401:
        assert response["WWW-Authenticate"] == "Token"


@pytest.mark.parametrize(
    ("role", "expected"),
    [("anonymous", 401), ("reader", 403), ("editor", 200), ("reviewer", 200), ("managing", 200)],
)
def test_source_detail_is_for_editorial_staff(role, expected):
    source = factories.SourceFactory()
    assert _client(role).get(f"/api/v1/sources/{source.pk}/").status_code == expected


@pytest.mark.parametrize(
    ("role", "expected"),
    [("anonymous", 401), ("reader", 403), ("editor", 201), ("reviewer", 403), ("managing", 201)],
)
def test_only_editors_and_managing_editors_create_sources(role, expected):
    response = _client(role).post(
        "/api/v1/sources/", {"title": "A trial", "doi": "10.1000/abc"}, format="json"
    )
    assert response.status_code == expected, response.data
    assert Source.objects.filter(doi="10.1000/abc").exists() == (expected == 201)


@pytest.mark.parametrize(
    ("role", "expected"),
    [("anonymous", 401), ("reader", 403), ("editor", 200), ("reviewer", 403), ("managing", 200)],
)
def test_only_editors_and_managing_editors_edit_sources(role, expected):
    source = factories.SourceFactory(title="Old title")
    response = _client(role).patch(
        f"/api/v1/sources/{source.pk}/", {"title": "New title"}, format="json"
    )
    assert response.status_code == expected
    source.refresh_from_db()
    assert source.title == ("New title" if expected == 200 else "Old title")


@pytest.mark.parametrize(
    ("role", "expected"),
    [("anonymous", 401), ("reader", 403), ("editor", 403), ("reviewer", 200), ("managing", 403)],
)
def test_only_reviewers_change_a_sources_status(role, expected):
    source = factories.SourceFactory()
    response = _client(role).post(
        f"/api/v1/sources/{source.pk}/status/", {"status": "retracted"}, format="json"
    )
    assert response.status_code == expected
    source.refresh_from_db()
    assert source.status == ("retracted" if expected == 200 else "active")


@pytest.mark.parametrize(
    ("role", "expected"),
    [("anonymous", 401), ("reader", 403), ("editor", 201), ("reviewer", 403), ("managing", 201)],
)
def test_only_editors_and_managing_editors_import(role, expected):
    response = _client(role).post(
        "/api/v1/sources/import/", {"file": _upload("refs.bib", BIBTEX)}, format="multipart"
    )
    assert response.status_code == expected
    assert Source.objects.count() == (2 if expected == 201 else 0)


def test_a_reviewer_without_permission_gets_403_before_body_validation():
    response = _client("reviewer").post("/api/v1/sources/", {"doi": "nonsense"}, format="json")
    assert response.status_code == 403


def test_unknown_source_is_404():
    assert _client("editor").get("/api/v1/sources/999999/").status_code == 404
    response = _client("reviewer").post(
        "/api/v1/sources/999999/status/", {"status": "retracted"}, format="json"
    )
    assert response.status_code == 404


def test_put_and_delete_are_not_offered():
    source = factories.SourceFactory()
    client = _client("managing")
    assert client.put(f"/api/v1/sources/{source.pk}/", {}, format="json").status_code == 405
    assert client.delete(f"/api/v1/sources/{source.pk}/").status_code == 405


# --- shapes ------------------------------------------------------------------------------------


def test_source_representation_has_exactly_the_contract_fields():
    source = factories.SourceFactory(
        authors=[{"family": "Trapp", "given": "B. D."}, {"literal": "MS Study Group"}]
    )
    data = _client("editor").get(f"/api/v1/sources/{source.pk}/").json()
    assert set(data) == SOURCE_FIELDS
    assert data["authors"] == [{"family": "Trapp", "given": "B. D."}, {"literal": "MS Study Group"}]
    assert data["status"] == "active"
    assert data["status_notice"] is None
    assert data["citing_count"] == 0
    assert data["issued"] == "2020-03"


def test_list_is_paginated_with_count_next_previous_results():
    factories.SourceFactory.create_batch(3)
    data = _client("editor").get("/api/v1/sources/").json()
    assert set(data) == {"count", "next", "previous", "results"}
    assert data["count"] == 3
    assert set(data["results"][0]) == SOURCE_FIELDS


def test_create_normalises_identifiers_and_returns_the_source():
    response = _client("editor").post(
        "/api/v1/sources/",
        {
            "title": "Natalizumab trial",
            "authors": [{"family": "Polman", "given": "CH"}],
            "issued": "2006-03-02",
            "doi": "https://doi.org/10.1056/NEJMoa044397",
            "pmid": "PMID: 16510744",
            "pmcid": "123",
            "evidence_type": "rct",
        },
        format="json",
    )
    assert response.status_code == 201, response.data
    data = response.json()
    assert set(data) == SOURCE_FIELDS
    assert (data["doi"], data["pmid"], data["pmcid"]) == (
        "10.1056/nejmoa044397",
        "16510744",
        "PMC123",
    )
    assert data["key"] == "polman2006natalizumab"
    assert data["evidence_type"] == "rct"
    assert Source.objects.get(pk=data["id"]).created_by.username == "eddie"


def test_status_notice_is_shown_for_a_non_active_source():
    source = factories.SourceFactory()
    response = _client("reviewer").post(
        f"/api/v1/sources/{source.pk}/status/",
        {
            "status": "retracted",
            "notice_doi": "doi:10.1016/S0140-6736(10)60175-4",
            "notice_pmid": "20137807",
            "notice_date": "2010-02-06",
            "reason": "Fraud",
        },
        format="json",
    )
    assert response.status_code == 200
    assert set(response.json()) == SOURCE_FIELDS
    assert response.json()["status_notice"] == {
        "doi": "10.1016/s0140-6736(10)60175-4",
        "pmid": "20137807",
        "date": "2010-02-06",
        "reason": "Fraud",
    }


# --- filters -----------------------------------------------------------------------------------


def test_list_filters_by_status_evidence_type_doi_pmid_and_q():
    a = factories.SourceFactory(
        title="Interferon beta in MS", doi="10.1000/ifn", pmid="111", evidence_type="rct"
    )
    b = factories.SourceFactory(title="Vitamin D and relapse", status="retracted")
    client = _client("editor")

    def ids(query: str) -> set[int]:
        response = client.get(f"/api/v1/sources/?{query}")
        assert response.status_code == 200, response.data
        return {row["id"] for row in response.json()["results"]}

    assert ids("status=retracted") == {b.pk}
    assert ids("evidence_type=rct") == {a.pk}
    assert ids("doi=https://doi.org/10.1000/IFN") == {a.pk}
    assert ids("pmid=pmid:111") == {a.pk}
    assert ids("q=vitamin") == {b.pk}
    assert ids(f"q={a.key}") == {a.pk}
    assert ids("q=doi:10.1000/IFN") == {a.pk}
    assert ids("q=111") == {a.pk}


def test_list_filter_rejects_a_malformed_doi_or_status_with_400():
    client = _client("editor")
    response = client.get("/api/v1/sources/?doi=not-a-doi")
    assert response.status_code == 400
    assert "not-a-doi" in response.json()["doi"][0]
    response = client.get("/api/v1/sources/?status=gone")
    assert response.status_code == 400
    assert "gone" in response.json()["status"][0]
    # A '%' in the value once broke the error message's formatting (a 500).
    response = client.get("/api/v1/sources/?pmid=12%25d")
    assert response.status_code == 400
    assert "12%d" in response.json()["pmid"][0]


# --- citing count and query counts -------------------------------------------------------------


def test_citing_count_counts_distinct_articles_whose_live_or_working_revision_cites():
    editor = factories.editor(username="eddie")
    reviewer = factories.reviewer(username="rita")
    cited = factories.SourceFactory(key="trapp1998")
    # Draft citing it: its working revision counts.
    make_article(editor=editor, title="Draft one", body="Axons [@trapp1998].")
    # Approved citing it, then edited to drop it: the live revision still cites it.
    live = make_article(
        editor=editor,
        reviewer=reviewer,
        state="approved",
        title="Live one",
        body="Axons [@trapp1998]. Again [@trapp1998].",
    )
    workflow_services.article_edit(
        article_id=live.pk, actor=editor, changes={"body": "No citation now."}
    )
    # A draft that cited it once but no longer does: an old revision does not count.
    old = make_article(editor=editor, title="Old one", body="Axons [@trapp1998].")
    workflow_services.article_edit(article_id=old.pk, actor=editor, changes={"body": "Gone."})

    data = _client("editor").get(f"/api/v1/sources/{cited.pk}/").json()
    assert data["citing_count"] == 2
    listed = _client("editor").get("/api/v1/sources/").json()["results"]
    assert [row["citing_count"] for row in listed if row["id"] == cited.pk] == [2]


def test_source_list_query_count_does_not_grow_with_the_number_of_sources(
    django_assert_num_queries,
):
    editor = factories.editor(username="eddie")
    client = APIClient()
    client.force_login(editor)  # session auth: the user and groups are re-read per request
    factories.SourceFactory()
    # session, user, groups, count, page
    with django_assert_num_queries(5):
        first = client.get("/api/v1/sources/")
    assert first.status_code == 200
    assert first.json()["count"] == 1
    factories.SourceFactory.create_batch(29)
    with django_assert_num_queries(5):
        full = client.get("/api/v1/sources/")
    assert full.status_code == 200
    assert len(full.json()["results"]) == 20


# --- validation messages -----------------------------------------------------------------------


def test_create_refuses_a_malformed_doi_naming_field_and_value():
    response = _client("editor").post(
        "/api/v1/sources/", {"title": "T", "doi": "11.2/xyz"}, format="json"
    )
    assert response.status_code == 400
    assert "11.2/xyz" in response.json()["doi"][0]
    assert "not a DOI" in response.json()["doi"][0]


def test_create_refuses_a_malformed_pmid_naming_field_and_value():
    response = _client("editor").post(
        "/api/v1/sources/", {"title": "T", "pmid": "12ab"}, format="json"
    )
    assert response.status_code == 400
    assert "12ab" in response.json()["pmid"][0]


def test_create_refuses_a_duplicate_doi_and_pmid_with_400():
    existing = factories.SourceFactory(doi="10.1000/dup", pmid="4242")
    response = _client("editor").post(
        "/api/v1/sources/",
        {"title": "Copy", "doi": "DOI:10.1000/DUP", "pmid": "4242"},
        format="json",
    )
    assert response.status_code == 400
    body = response.json()
    assert existing.key in body["doi"][0]
    assert "4242" in body["pmid"][0]


def test_create_requires_a_title_doi_or_pmid():
    response = _client("editor").post("/api/v1/sources/", {"volume": "3"}, format="json")
    assert response.status_code == 400
    assert "title" in response.json()


def test_create_refuses_bad_issued_url_evidence_type_and_key():
    response = _client("editor").post(
        "/api/v1/sources/",
        {
            "title": "T",
            "issued": "March 1998",
            "url": "not a url",
            "evidence_type": "anecdote",
            "authors": [{"given": "", "family": ""}],
        },
        format="json",
    )
    assert response.status_code == 400
    body = response.json()
    assert "March 1998" in body["issued"][0]
    assert "url" in body
    assert "anecdote" in body["evidence_type"][0]
    assert "authors" in body
    response = _client("editor").post(
        "/api/v1/sources/", {"title": "T", "key": "has space"}, format="json"
    )
    assert response.status_code == 400
    assert "has space" in response.json()["key"][0]


def test_patch_refuses_a_doi_another_source_has():
    factories.SourceFactory(doi="10.1000/taken")
    source = factories.SourceFactory()
    response = _client("editor").patch(
        f"/api/v1/sources/{source.pk}/", {"doi": "10.1000/TAKEN"}, format="json"
    )
    assert response.status_code == 400
    assert "10.1000/taken" in response.json()["doi"][0]


def test_patch_refuses_a_malformed_pmid_and_leaves_the_source_alone():
    source = factories.SourceFactory(pmid="555")
    response = _client("editor").patch(
        f"/api/v1/sources/{source.pk}/", {"pmid": "PMC12", "title": "Changed"}, format="json"
    )
    assert response.status_code == 400
    assert "PMC12" in response.json()["pmid"][0]
    source.refresh_from_db()
    assert (source.pmid, source.title) != ("", "Changed")


def test_patch_refuses_status_and_points_to_the_status_endpoint():
    source = factories.SourceFactory()
    response = _client("editor").patch(
        f"/api/v1/sources/{source.pk}/", {"status": "retracted"}, format="json"
    )
    assert response.status_code == 400
    assert "/status/" in response.json()["status"][0]
    source.refresh_from_db()
    assert source.status == "active"


def test_patch_updates_fields_and_recomputes_the_duplicate_signature():
    source = factories.SourceFactory()
    response = _client("editor").patch(
        f"/api/v1/sources/{source.pk}/",
        {"title": "Remyelination", "issued": "2001", "evidence_type": "guideline"},
        format="json",
    )
    assert response.status_code == 200
    assert response.json()["title"] == "Remyelination"
    source.refresh_from_db()
    assert source.title_signature == "remyelination|2001|trapp"
    assert source.evidence_type == "guideline"


def test_status_endpoint_refuses_bad_values_naming_field_and_value():
    source = factories.SourceFactory()
    client = _client("reviewer")
    response = client.post(
        f"/api/v1/sources/{source.pk}/status/", {"status": "gone"}, format="json"
    )
    assert response.status_code == 400
    assert "gone" in response.json()["status"][0]
    response = client.post(
        f"/api/v1/sources/{source.pk}/status/",
        {
            "status": "retracted",
            "notice_doi": "nope",
            "notice_pmid": "x1",
            "notice_date": "2020-13-45",
        },
        format="json",
    )
    assert response.status_code == 400
    body = response.json()
    assert "nope" in body["notice_doi"][0]
    assert "x1" in body["notice_pmid"][0]
    assert "2020-13-45" in body["notice_date"][0]
    source.refresh_from_db()
    assert source.status == "active"


# --- status ------------------------------------------------------------------------------------


def test_status_change_sends_the_signal_after_commit_and_records_an_event(
    django_capture_on_commit_callbacks,
):
    source = factories.SourceFactory()
    reviewer = factories.reviewer(username="rita")
    received = []

    def receiver(sender, **kwargs):
        received.append(kwargs)

    source_status_changed.connect(receiver)
    try:
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            response = client_for(reviewer).post(
                f"/api/v1/sources/{source.pk}/status/",
                {"status": "expression_of_concern", "reason": "Data questioned"},
                format="json",
            )
            assert response.status_code == 200
        assert received == []  # nothing before commit
        for callback in callbacks:
            callback()
    finally:
        source_status_changed.disconnect(receiver)
    assert len(received) == 1
    assert received[0]["source_id"] == source.pk
    assert (received[0]["old_status"], received[0]["new_status"]) == (
        "active",
        "expression_of_concern",
    )
    assert received[0]["actor_id"] == reviewer.pk
    event = SourceStatusEvent.objects.get(source=source)
    assert (event.from_status, event.to_status, event.actor) == (
        "active",
        "expression_of_concern",
        reviewer,
    )


def test_setting_the_same_status_again_sends_no_signal(django_capture_on_commit_callbacks):
    source = factories.SourceFactory(status="retracted")
    received = []

    def receiver(sender, **kwargs):
        received.append(kwargs)

    source_status_changed.connect(receiver)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            response = _client("reviewer").post(
                f"/api/v1/sources/{source.pk}/status/",
                {"status": "retracted", "reason": "Notice updated"},
                format="json",
            )
    finally:
        source_status_changed.disconnect(receiver)
    assert response.status_code == 200
    assert response.json()["status_notice"]["reason"] == "Notice updated"
    assert received == []


def test_back_to_active_clears_the_notice():
    source = factories.SourceFactory(status="retracted", notice_reason="Fraud")
    response = _client("reviewer").post(
        f"/api/v1/sources/{source.pk}/status/", {"status": "active"}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["status_notice"] is None
    source.refresh_from_db()
    assert source.notice_reason == ""


# --- import ------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", real_world_files(), ids=lambda p: p.name)
def test_every_real_world_file_imports_through_the_api_without_a_server_error(path):
    client = _client("editor")
    response = client.post(
        "/api/v1/sources/import/", {"file": _upload(path.name, path.read_bytes())}
    )
    assert response.status_code == 201, response.content
    report = response.json()
    assert set(report) == {"created", "merged", "refused", "entries"}
    assert report["created"] + report["merged"] + report["refused"] == len(report["entries"])
    if not path.name.startswith(("compare_crossref_", "crossref_")):
        assert report["created"] >= 1
    # (Crossref API answers read as CSL-JSON: refused with a reason unless CSL-shaped.)
    assert report["created"] == Source.objects.count()
    for line in report["entries"]:
        assert set(line) == {"index", "key", "outcome", "source", "reason"}
        assert (line["source"] is None) == (line["outcome"] == "refused")
        if line["outcome"] == "refused":
            assert line["reason"]
    # The same file again: everything that was stored merges, nothing new is created.
    count = Source.objects.count()
    again = client.post(
        "/api/v1/sources/import/", {"file": _upload(path.name, path.read_bytes())}
    ).json()
    assert again["created"] == 0
    assert again["merged"] == report["created"] + report["merged"]
    assert Source.objects.count() == count


def test_import_report_shape_and_counts():
    response = _client("editor").post(
        "/api/v1/sources/import/", {"file": _upload("refs.bib", BIBTEX)}
    )
    assert response.status_code == 201
    report = response.json()
    assert (report["created"], report["merged"], report["refused"]) == (2, 0, 0)
    assert [line["key"] for line in report["entries"]] == ["smith2020", "jones2019"]
    assert report["entries"][0]["source"] == Source.objects.get(key="smith2020").pk


def test_import_honours_an_explicit_format():
    ris = (FIXTURES / "two_records.ris").read_bytes()
    response = _client("editor").post(
        "/api/v1/sources/import/", {"file": _upload("export.dat", ris), "format": "ris"}
    )
    assert response.status_code == 201
    assert response.json()["created"] == 2


def test_import_without_a_file_is_400():
    response = _client("editor").post("/api/v1/sources/import/", {}, format="multipart")
    assert response.status_code == 400
    assert "file" in response.json()


def test_import_of_an_unrecognisable_file_is_400_naming_the_file():
    response = _client("editor").post(
        "/api/v1/sources/import/", {"file": _upload("notes.docx", b"just some words")}
    )
    assert response.status_code == 400
    assert "notes.docx" in response.json()["file"][0]


def test_import_with_an_unknown_format_is_400():
    response = _client("editor").post(
        "/api/v1/sources/import/", {"file": _upload("refs.bib", BIBTEX), "format": "endnote"}
    )
    assert response.status_code == 400
    assert "endnote" in response.json()["format"][0]


def test_import_of_a_file_over_the_size_limit_is_400(monkeypatch):
    from citations import services

    monkeypatch.setattr(services, "IMPORT_MAX_BYTES", 100)
    monkeypatch.setattr("citations.api.serializers.IMPORT_MAX_BYTES", 100)
    response = _client("editor").post(
        "/api/v1/sources/import/", {"file": _upload("big.bib", BIBTEX)}
    )
    assert response.status_code == 400
    assert "limit" in response.json()["file"][0]
    assert Source.objects.count() == 0


def test_import_sends_the_status_signal_for_a_retracted_entry(django_capture_on_commit_callbacks):
    received = []

    def receiver(sender, **kwargs):
        received.append(kwargs)

    source_status_changed.connect(receiver)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            response = _client("editor").post(
                "/api/v1/sources/import/",
                {"file": _upload("n.txt", (REAL_WORLD / "pubmed_eci_concern.txt").read_bytes())},
            )
    finally:
        source_status_changed.disconnect(receiver)
    assert response.status_code == 201
    assert [r["new_status"] for r in received] == ["expression_of_concern"]


# --- lookup ------------------------------------------------------------------------------------


@pytest.fixture
def lookup_on(settings, replay_server):  # noqa: F811
    settings.REVIEWSITE_LOOKUP_ENABLED = True
    settings.REVIEWSITE_CROSSREF_URL = replay_server
    settings.REVIEWSITE_PUBMED_URL = replay_server
    settings.REVIEWSITE_LOOKUP_TIMEOUT = 1
    return settings


def test_lookup_by_doi_creates_the_source_with_its_retraction(
    lookup_on, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = _client("editor").post(
            "/api/v1/sources/lookup/",
            {"doi": "https://doi.org/10.1016/S0140-6736(97)11096-0"},
            format="json",
        )
    assert response.status_code == 201, response.data
    body = response.json()
    assert body["created"] is True
    assert set(body["source"]) == SOURCE_FIELDS
    assert body["source"]["doi"] == "10.1016/s0140-6736(97)11096-0"
    assert body["source"]["status"] == "retracted"
    assert body["source"]["status_notice"]["doi"]


def test_lookup_by_pmid_merges_into_the_existing_source_and_fills_empty_fields(lookup_on):
    existing = factories.SourceFactory(
        pmid="9500320", doi="", volume="", container_title="", title="Ileal lymphoid"
    )
    response = _client("editor").post("/api/v1/sources/lookup/", {"pmid": "9500320"}, format="json")
    assert response.status_code == 200, response.data
    assert response.json()["created"] is False
    assert response.json()["source"]["id"] == existing.pk
    existing.refresh_from_db()
    assert existing.volume == "351"
    assert existing.title == "Ileal lymphoid"  # filled fields only, never overwritten
    assert existing.status == "retracted"
    assert Source.objects.count() == 1


def test_lookup_of_an_unknown_doi_is_404(lookup_on):
    response = _client("editor").post(
        "/api/v1/sources/lookup/", {"doi": "10.5555/unknown"}, format="json"
    )
    assert response.status_code == 404
    assert "10.5555/unknown" in response.json()["detail"]


def test_lookup_when_the_registry_is_down_is_503(lookup_on):
    response = _client("editor").post(
        "/api/v1/sources/lookup/", {"doi": "10.5555/server-error"}, format="json"
    )
    assert response.status_code == 503
    assert "try again later" in response.json()["detail"]


def test_lookup_when_offline_is_503(settings, closed_port_url):  # noqa: F811
    settings.REVIEWSITE_LOOKUP_ENABLED = True
    settings.REVIEWSITE_PUBMED_URL = closed_port_url
    response = _client("editor").post("/api/v1/sources/lookup/", {"pmid": "1"}, format="json")
    assert response.status_code == 503
    assert "PubMed cannot be reached" in response.json()["detail"]
    assert Source.objects.count() == 0


def test_lookup_when_disabled_is_400_with_a_clear_message(settings):
    settings.REVIEWSITE_LOOKUP_ENABLED = False
    response = _client("editor").post(
        "/api/v1/sources/lookup/", {"doi": "10.1000/x"}, format="json"
    )
    assert response.status_code == 400
    assert "disabled" in response.json()["detail"]


def test_lookup_needs_exactly_one_identifier_and_a_well_formed_one(lookup_on):
    client = _client("editor")
    assert client.post("/api/v1/sources/lookup/", {}, format="json").status_code == 400
    both = client.post("/api/v1/sources/lookup/", {"doi": "10.1/x", "pmid": "1"}, format="json")
    assert both.status_code == 400
    bad = client.post("/api/v1/sources/lookup/", {"doi": "banana"}, format="json")
    assert bad.status_code == 400
    assert "banana" in bad.json()["doi"][0]


@pytest.mark.parametrize(("role", "expected"), [("anonymous", 401), ("reviewer", 403)])
def test_lookup_is_for_editors(lookup_on, role, expected):
    response = _client(role).post("/api/v1/sources/lookup/", {"pmid": "9500320"}, format="json")
    assert response.status_code == expected
