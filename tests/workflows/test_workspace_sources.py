"""Adding a source by DOI or PMID, and editing a source, in the workspace.

Crossref and PubMed are the local replay server of tests/citations/test_lookup.py
(recorded responses in tests/citations/fixtures/real-world/), never the network.
"""

import pytest
from django.urls import reverse

from citations.models import Source
from tests.citations.test_lookup import closed_port_url, replay_server  # noqa: F401 (fixtures)

from .. import factories

pytestmark = pytest.mark.django_db

WAKEFIELD_DOI = "10.1016/S0140-6736(97)11096-0"


@pytest.fixture
def lookup_on(settings, replay_server):  # noqa: F811
    settings.REVIEWSITE_LOOKUP_ENABLED = True
    settings.REVIEWSITE_CROSSREF_URL = replay_server
    settings.REVIEWSITE_PUBMED_URL = replay_server
    settings.REVIEWSITE_LOOKUP_TIMEOUT = 1
    return settings


LOOKUP = reverse("workflows:source-lookup")


def test_library_offers_the_lookup_form_to_editors_only(logged_in, editor, reviewer):
    assert (
        'action="/workspace/sources/lookup/"'
        in logged_in(editor).get(reverse("workflows:source-library")).content.decode()
    )
    page = logged_in(reviewer).get(reverse("workflows:source-library")).content.decode()
    assert "sources/lookup/" not in page


def test_pasting_a_doi_link_adds_the_source_with_its_retraction(
    logged_in, editor, lookup_on, django_capture_on_commit_callbacks, django_assert_max_num_queries
):
    client = logged_in(editor)
    with django_capture_on_commit_callbacks(execute=True), django_assert_max_num_queries(16):
        response = client.post(LOOKUP, {"identifier": f"https://doi.org/{WAKEFIELD_DOI}"})
    source = Source.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("workflows:source-detail", args=[source.pk])
    assert source.doi == WAKEFIELD_DOI.lower()
    assert source.status == Source.Status.RETRACTED
    page = client.get(response["Location"]).content.decode()
    assert f"Added {source.key} from Crossref: [@{source.key}]." in page


def test_a_pmid_already_in_the_library_says_so_and_fills_empty_fields(logged_in, editor, lookup_on):
    existing = factories.SourceFactory(pmid="9500320", doi="", volume="", title="Ileal lymphoid")
    client = logged_in(editor)
    response = client.post(LOOKUP, {"identifier": "PMID: 9500320"})
    assert response.status_code == 302
    assert Source.objects.count() == 1
    existing.refresh_from_db()
    assert existing.volume == "351" and existing.title == "Ileal lymphoid"
    page = client.get(response["Location"]).content.decode()
    assert f"Already in the library as {existing.key}" in page
    assert "filled in from PubMed" in page


def test_an_unknown_doi_is_not_found_with_the_registry_named(logged_in, editor, lookup_on):
    response = logged_in(editor).post(LOOKUP, {"identifier": "10.5555/unknown"})
    assert response.status_code == 404
    assert "Crossref has no record for 10.5555/unknown" in response.content.decode()
    assert not Source.objects.exists()


def test_an_unknown_pmid_is_not_found(logged_in, editor, lookup_on):
    response = logged_in(editor).post(LOOKUP, {"identifier": "99999999"})
    assert response.status_code == 404
    assert "PubMed has no record for 99999999" in response.content.decode()


def test_a_bad_identifier_is_refused_before_any_request(logged_in, editor, lookup_on):
    client = logged_in(editor)
    for value in ("not an identifier", "11.1000/x", ""):
        response = client.post(LOOKUP, {"identifier": value})
        assert response.status_code == 400, value
        page = response.content.decode()
        assert 'id="add-by-identifier"' in page
        if value:
            assert "is neither a DOI" in page and "nor a PMID" in page
        else:
            assert "This field is required." in page
    assert not Source.objects.exists()


def test_a_registry_that_is_down_is_a_503_that_says_try_later(logged_in, editor, lookup_on):
    response = logged_in(editor).post(LOOKUP, {"identifier": "10.5555/server-error"})
    assert response.status_code == 503
    assert "Crossref cannot be reached right now" in response.content.decode()


def test_lookup_switched_off_says_how_to_add_instead(logged_in, editor, settings):
    settings.REVIEWSITE_LOOKUP_ENABLED = False
    response = logged_in(editor).post(LOOKUP, {"identifier": WAKEFIELD_DOI})
    assert response.status_code == 400
    assert "Metadata lookup is disabled on this server" in response.content.decode()


def test_only_editors_add_sources(client, logged_in, reviewer, reader, lookup_on):
    anonymous = client.post(LOOKUP, {"identifier": WAKEFIELD_DOI})
    assert anonymous.status_code == 302 and "/accounts/login/" in anonymous["Location"]
    assert logged_in(reviewer).post(LOOKUP, {"identifier": WAKEFIELD_DOI}).status_code == 403
    client.force_login(reader)
    assert client.post(LOOKUP, {"identifier": WAKEFIELD_DOI}).status_code == 403
    assert logged_in(reviewer).get(LOOKUP).status_code == 405
    assert not Source.objects.exists()


# --- editing a source -----------------------------------------------------------------------


def _edit_data(source: Source, **changes) -> dict:
    data = {
        "key": source.key,
        "type": source.type,
        "title": source.title,
        "authors": "Trapp, B. D.",
        "container_title": source.container_title,
        "container_title_short": "",
        "issued": source.issued,
        "volume": source.volume,
        "issue": source.issue,
        "pages": source.pages,
        "doi": source.doi,
        "pmid": source.pmid,
        "pmcid": "",
        "url": "",
        "publisher": "",
        "evidence_type": source.evidence_type,
    }
    return {**data, **changes}


def test_an_editor_edits_a_source_in_the_workspace(
    logged_in, editor, django_assert_max_num_queries
):
    source = factories.SourceFactory(key="trapp1998")
    client = logged_in(editor)
    url = reverse("workflows:source-edit", args=[source.pk])
    with django_assert_max_num_queries(6):
        form = client.get(url)
    assert form.status_code == 200
    assert 'value="trapp1998"' in form.content.decode()
    assert "Trapp, B. D.</textarea>" in form.content.decode()
    edited = _edit_data(
        source,
        title="Axonal transection in the lesions of multiple sclerosis",
        authors="Trapp, Bruce D.\nMS Study Group",
        evidence_type="rct",
    )
    with django_assert_max_num_queries(12):
        response = client.post(url, edited)
    assert response.status_code == 302
    source.refresh_from_db()
    assert source.title == "Axonal transection in the lesions of multiple sclerosis"
    assert source.authors == [
        {"family": "Trapp", "given": "Bruce D."},
        {"literal": "MS Study Group"},
    ]
    assert source.evidence_type == "rct"
    assert "trapp1998: saved." in client.get(response["Location"]).content.decode()


def test_a_bad_edit_is_summarised_at_the_top_with_links_to_the_fields(logged_in, editor):
    other = factories.SourceFactory(doi="10.5555/taken")
    source = factories.SourceFactory()
    client = logged_in(editor)
    url = reverse("workflows:source-edit", args=[source.pk])
    response = client.post(url, _edit_data(source, issued="March 1998"))
    assert response.status_code == 400
    page = response.content.decode()
    summary = page.split('class="error-summary"', 1)[1].split("</div>", 1)[0]
    assert page.index('class="error-summary"') < page.index("<h1>")
    assert '<a href="#id_issued">Issued: &#x27;March 1998&#x27; is not an ISO date' in summary
    # The service's own refusal (a DOI another source has) lands on its field too.
    taken = client.post(url, _edit_data(source, doi=other.doi))
    assert taken.status_code == 400
    assert 'href="#id_doi"' in taken.content.decode()
    source.refresh_from_db()
    assert source.doi != other.doi and source.issued == "2020-03"


def test_only_editors_edit_sources_and_are_offered_the_link(logged_in, editor, reviewer):
    source = factories.SourceFactory()
    url = reverse("workflows:source-edit", args=[source.pk])
    detail = reverse("workflows:source-detail", args=[source.pk])
    assert url in logged_in(editor).get(detail).content.decode()
    client = logged_in(reviewer)
    assert url not in client.get(detail).content.decode()
    assert client.get(url).status_code == 403
    assert client.post(url, _edit_data(source, title="Changed")).status_code == 403
    source.refresh_from_db()
    assert source.title != "Changed"
    assert logged_in(editor).get(reverse("workflows:source-edit", args=[999999])).status_code == 404


def test_an_edit_over_someone_elses_save_keeps_both_and_saves_only_on_purpose(logged_in, editor):
    from citations import services as citation_services

    source = factories.SourceFactory(key="trapp1998", volume="12")
    client = logged_in(editor)
    url = reverse("workflows:source-edit", args=[source.pk])
    loaded = client.get(url).context["form"].initial["version"]
    # Meanwhile another editor corrects the volume.
    other = factories.editor(username="edna")
    citation_services.source_update(source_id=source.pk, actor=other, data={"volume": "338"})

    mine = _edit_data(source, volume="12", pages="278-285", version=loaded)
    response = client.post(url, mine)
    assert response.status_code == 412
    page = response.content.decode()
    assert "Someone else saved this source while you were editing" in page
    assert '<th scope="row">Volume</th><td>338</td><td>12</td>' in page
    assert 'value="278-285"' in page  # the user's values are kept in the form
    source.refresh_from_db()
    assert (source.volume, source.pages) == ("338", "100-110")

    # The form now carries the current version: saving again is deliberate and wins.
    again = response.context["form"].data["version"]
    assert again == citation_services.source_version(source) != loaded
    assert client.post(url, {**mine, "version": again}).status_code == 302
    source.refresh_from_db()
    assert (source.volume, source.pages) == ("12", "278-285")


def test_a_status_change_meanwhile_is_no_edit_conflict(logged_in, editor, reviewer):
    from citations import services as citation_services

    source = factories.SourceFactory()
    client = logged_in(editor)
    url = reverse("workflows:source-edit", args=[source.pk])
    loaded = client.get(url).context["form"].initial["version"]
    citation_services.source_set_status(
        source_id=source.pk,
        actor=reviewer,
        status="expression_of_concern",
        notice_doi="10.5555/notice",
        notice_pmid="",
        notice_date="",
        reason="Data questioned.",
    )
    response = client.post(url, _edit_data(source, pages="1-9", version=loaded))
    assert response.status_code == 302
    source.refresh_from_db()
    assert source.pages == "1-9" and source.status == "expression_of_concern"
