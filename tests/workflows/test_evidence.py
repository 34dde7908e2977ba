"""The approvals endpoint, the evidence pack (JSON and printable HTML) and the reader's
review record with the conflict-of-interest declaration."""

import pytest
from django.urls import reverse

from citations.services import source_set_status
from tests import factories
from tests.factories import SourceFactory
from tests.helpers import approval_kwargs, client_for, make_article
from workflows import services
from workflows.evidence_pack import CRITERIA

pytestmark = pytest.mark.django_db


def _article_with_history(editor, reviewer, second_reviewer, *, sources=2, rounds=1):
    keys = [SourceFactory().key for _ in range(sources)]
    body = " ".join(f"Claim [@{k}]." for k in keys)
    article = make_article(editor=editor, reviewer=reviewer, state="approved", body=body)
    for n in range(rounds):
        services.article_edit(
            article_id=article.pk, actor=editor, changes={"body": f"{body} Round {n}."}
        )
        services.article_submit(article_id=article.pk, actor=editor)
        services.article_start_review(article_id=article.pk, actor=reviewer)
        services.article_approve(article_id=article.pk, actor=reviewer, **approval_kwargs())
        services.article_recertify(
            article_id=article.pk,
            actor=second_reviewer,
            **approval_kwargs(declared=True, statement="Speaker fees from Acme."),
        )
    return article


def test_the_reader_page_shows_each_declaration(client, editor, reviewer, second_reviewer):
    article = make_article(editor=editor, reviewer=reviewer, state="approved")
    page = client.get(article.get_absolute_url()).content.decode()
    assert "Dr Rita: No conflicts of interest declared" in page
    services.article_recertify(
        article_id=article.pk,
        actor=second_reviewer,
        **approval_kwargs(declared=True, statement="Speaker fees from Acme."),
    )
    page = client.get(article.get_absolute_url()).content.decode()
    assert "Dr Ravi: Speaker fees from Acme." in page


def test_approvals_are_for_staff_only(api, reader, editor, reviewer):
    article = make_article(editor=editor, reviewer=reviewer, state="approved")
    url = f"/api/v1/articles/{article.pk}/approvals/"
    assert api.get(url).status_code == 401
    assert client_for(reader).get(url).status_code == 403
    assert client_for(editor).get("/api/v1/articles/999999/approvals/").status_code == 404
    data = client_for(editor).get(url).json()
    (approval,) = data["results"]
    assert approval["kind"] == "approval" and approval["reviewer_username"] == "rita"
    assert approval["conflict_of_interest"] == {"declared": False, "statement": ""}
    assert approval["credentials"]["registration_body"] == "GMC"
    assert [c["key"] for c in approval["checklist"]] == list(factories.DEFAULT_CHECKLIST)


@pytest.mark.parametrize(("sources", "rounds"), [(1, 1), (6, 4)])
def test_approvals_and_the_pack_take_constant_queries(
    sources, rounds, editor, reviewer, second_reviewer, django_assert_max_num_queries, client
):
    article = _article_with_history(
        editor, reviewer, second_reviewer, sources=sources, rounds=rounds
    )
    api = client_for(editor)
    with django_assert_max_num_queries(4):
        response = api.get(f"/api/v1/articles/{article.pk}/approvals/")
    assert response.status_code == 200
    assert response.json()["count"] == 1 + 2 * rounds
    with django_assert_max_num_queries(9):
        response = api.get(f"/api/v1/articles/{article.pk}/evidence-pack/")
    assert response.status_code == 200
    assert len(response.json()["sources"]) == sources
    client.force_login(editor)
    with django_assert_max_num_queries(11):
        response = client.get(reverse("workflows:evidence-pack", args=[article.pk]))
    assert response.status_code == 200


def test_the_pack_gathers_the_record_with_its_criteria(editor, reviewer, second_reviewer):
    article = _article_with_history(editor, reviewer, second_reviewer, sources=1)
    source_id = article.latest_revision.citations.get().source_id
    source_set_status(source_id=source_id, actor=reviewer, status="corrected", reason="Erratum")
    pack = client_for(editor).get(f"/api/v1/articles/{article.pk}/evidence-pack/").json()
    assert set(CRITERIA) <= set(pack["criteria"])
    assert all(pack["criteria"][section] for section in CRITERIA)
    assert pack["article"]["id"] == article.pk and pack["article"]["owner"] == "eddie"
    assert [r["number"] for r in pack["revisions"]] == [1, 2]
    assert all(len(r["content_hash"]) == 64 and r["author"] for r in pack["revisions"])
    kinds = [a["kind"] for a in pack["approvals"]]
    assert kinds == ["approval", "approval", "recertification"]
    assert pack["approvals"][-1]["conflict_of_interest"]["statement"] == "Speaker fees from Acme."
    assert pack["approvals"][0]["evidence"][0]["status"] == "active"
    (source,) = pack["sources"]
    assert source["status"] == "corrected"
    assert [e["to_status"] for e in source["status_history"]] == ["corrected"]
    assert any(e["action"] == "approve" for e in pack["audit_trail"])
    assert pack["review_cycle"]["next_review_due"]
    assert pack["readability"]["scores"]["words"] > 0


def test_the_pack_is_for_staff_only(api, reader, editor, reviewer, client):
    article = make_article(editor=editor, reviewer=reviewer, state="approved")
    assert api.get(f"/api/v1/articles/{article.pk}/evidence-pack/").status_code == 401
    assert (
        client_for(reader).get(f"/api/v1/articles/{article.pk}/evidence-pack/").status_code == 403
    )
    client.force_login(reader)
    assert client.get(reverse("workflows:evidence-pack", args=[article.pk])).status_code == 403


def test_the_printable_pack_has_a_print_stylesheet_and_no_inline_script_or_style(
    client, editor, reviewer, second_reviewer
):
    article = _article_with_history(editor, reviewer, second_reviewer)
    client.force_login(editor)
    response = client.get(reverse("workflows:evidence-pack", args=[article.pk]))
    html = response.content.decode()
    assert response.status_code == 200
    assert 'media="print"' in html
    assert "<script" not in html.split("</header>")[-1]
    assert " style=" not in html and "<style" not in html
    assert "Speaker fees from Acme." in html
    for labels in CRITERIA.values():
        assert labels[0] in html
    assert "default-src" in response.headers.get("Content-Security-Policy", "default-src")
