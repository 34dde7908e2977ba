"""What a reviewer signs: the checklist, the conflict-of-interest declaration, and the
evidence snapshot kept with every approval and re-certification."""

import pytest
from django.urls import reverse

from articles.models import ReviewerProfile
from citations.services import source_set_status
from tests import factories
from tests.factories import SourceFactory
from tests.helpers import approval_form_data, approval_kwargs, client_for, make_article
from workflows.models import Approval, AuditEvent, ChecklistItem

pytestmark = pytest.mark.django_db


def _approve(user, article, body):
    return client_for(user).post(f"/api/v1/articles/{article.pk}/approve/", body, format="json")


def test_the_default_checklist_comes_from_the_data_migration():
    assert list(ChecklistItem.objects.values_list("key", "required", "audiences")) == [
        ("claims_supported", True, []),
        ("numbers_checked", True, []),
        ("sources_current", True, []),
        ("audience_language", True, []),
    ]


def test_staff_read_the_checklist_and_readers_may_not(editor, reader, api):
    response = client_for(editor).get("/api/v1/checklist/")
    assert response.status_code == 200
    assert response.json()[0] == {
        "key": "claims_supported",
        "text": "Every medical claim is supported by the cited sources.",
        "required": True,
        "audiences": [],
    }
    assert [i["key"] for i in response.json()] == list(factories.DEFAULT_CHECKLIST)
    assert client_for(reader).get("/api/v1/checklist/").status_code == 403
    assert api.get("/api/v1/checklist/").status_code in (401, 403)


def test_approving_without_a_checklist_or_declaration_is_a_400_and_stores_nothing(editor, reviewer):
    article = make_article(editor=editor, reviewer=reviewer, state="under_review")
    response = _approve(reviewer, article, {"comment": "Fine."})
    assert response.status_code == 400
    assert set(response.json()) == {"checklist", "conflict_of_interest"}
    assert not Approval.objects.exists()
    article.refresh_from_db()
    assert article.status == "under_review"
    assert AuditEvent.objects.filter(article=article, action="approve", refused=True).exists()


def test_an_unconfirmed_required_item_is_named_in_the_400(editor, reviewer):
    article = make_article(editor=editor, reviewer=reviewer, state="under_review")
    body = approval_kwargs()
    body["checklist"]["numbers_checked"] = False
    del body["checklist"]["sources_current"]
    response = _approve(reviewer, article, body)
    assert response.status_code == 400
    (message,) = response.json()["checklist"]
    assert "not confirmed: numbers_checked, sources_current" in message


def test_unknown_items_and_non_boolean_answers_are_refused(editor, reviewer):
    article = make_article(editor=editor, reviewer=reviewer, state="under_review")
    body = approval_kwargs()
    body["checklist"].update({"made_up": True, "claims_supported": "yes"})
    messages = _approve(reviewer, article, body).json()["checklist"]
    assert any("made_up" in m for m in messages)
    assert any("claims_supported" in m for m in messages)
    not_an_object = _approve(reviewer, article, {**approval_kwargs(), "checklist": ["x"]})
    assert not_an_object.status_code == 400 and "checklist" in not_an_object.json()


@pytest.mark.parametrize(
    "declaration",
    [
        None,
        {},
        {"declared": "no"},
        {"declared": True},
        {"declared": True, "statement": "  "},
        "none",
        {"declared": False, "extra": 1},
    ],
)
def test_a_missing_or_incomplete_declaration_is_a_400(declaration, editor, reviewer):
    article = make_article(editor=editor, reviewer=reviewer, state="under_review")
    body = {**approval_kwargs(), "conflict_of_interest": declaration}
    response = _approve(reviewer, article, body)
    assert response.status_code == 400
    assert "conflict_of_interest" in response.json()
    assert not Approval.objects.exists()


def test_the_approval_stores_the_checklist_declaration_credentials_and_evidence(
    editor, reviewer, managing_editor
):
    ReviewerProfile.objects.filter(user=reviewer).update(credentials_verified_by=managing_editor)
    source = SourceFactory(key="trapp1998")
    article = make_article(
        editor=editor, reviewer=reviewer, state="under_review", body="Claim [@trapp1998]."
    )
    body = approval_kwargs(comment="Checked.", declared=True, statement="I advise Acme Pharma.")
    response = _approve(reviewer, article, body)
    assert response.status_code == 200, response.json()
    approval = Approval.objects.get(article=article)
    assert approval.kind == "approval"
    assert approval.comment == "Checked."
    assert approval.checklist == [
        {"key": key, "text": text, "required": True, "confirmed": True}
        for key, text in factories.DEFAULT_CHECKLIST.items()
    ]
    assert approval.conflict_of_interest == {
        "declared": True,
        "statement": "I advise Acme Pharma.",
    }
    assert approval.credentials["registration_body"] == "GMC"
    assert approval.credentials["verified_by"] == "mona"
    assert approval.credentials["verified_at"]
    (cited,) = approval.evidence
    assert cited["source"] == source.pk and cited["key"] == "trapp1998"
    assert cited["status"] == "active" and cited["number"] == 1
    assert "last_checked" in cited and "status_changed_at" in cited


def test_the_snapshot_keeps_what_was_true_when_signed(editor, reviewer, managing_editor):
    source = SourceFactory(key="wake")
    article = make_article(editor=editor, reviewer=reviewer, state="approved", body="[@wake]")
    source_set_status(source_id=source.pk, actor=reviewer, status="corrected", reason="Erratum")
    ReviewerProfile.objects.filter(user=reviewer).update(registration_number="changed")
    approval = Approval.objects.get(article=article)
    assert approval.evidence[0]["status"] == "active"
    assert approval.credentials["registration_number"] != "changed"


def test_recertifying_keeps_a_record_of_its_own(editor, reviewer, second_reviewer):
    source = SourceFactory(key="s1")
    article = make_article(editor=editor, reviewer=reviewer, state="approved", body="[@s1]")
    source_set_status(source_id=source.pk, actor=reviewer, status="corrected", reason="Erratum")
    response = client_for(second_reviewer).post(
        f"/api/v1/articles/{article.pk}/recertify/", approval_kwargs(), format="json"
    )
    assert response.status_code == 200, response.json()
    record = Approval.objects.get(article=article, kind="recertification")
    assert record.reviewer == second_reviewer
    assert record.revision_id == article.live_revision_id
    assert record.evidence[0]["status"] == "corrected"
    assert record.conflict_of_interest == {"declared": False, "statement": ""}


def test_recertify_without_the_record_is_refused(editor, reviewer):
    article = make_article(editor=editor, reviewer=reviewer, state="approved")
    response = client_for(reviewer).post(
        f"/api/v1/articles/{article.pk}/recertify/", {"comment": ""}, format="json"
    )
    assert response.status_code == 400
    assert not Approval.objects.filter(kind="recertification").exists()


def test_an_item_for_one_audience_is_asked_only_for_that_audience(editor, reviewer):
    ChecklistItem.objects.create(
        key="plain_words", text="Plain words.", required=True, audiences=["patients"], position=9
    )
    general = make_article(editor=editor, reviewer=reviewer, state="under_review")
    assert _approve(reviewer, general, approval_kwargs()).status_code == 200
    patients = make_article(
        editor=editor,
        reviewer=reviewer,
        state="under_review",
        audience="patients",
        title="For patients",
    )
    missing = _approve(reviewer, patients, approval_kwargs())
    assert missing.status_code == 400 and "plain_words" in missing.json()["checklist"][0]
    done = _approve(reviewer, patients, approval_kwargs(audience="patients"))
    assert done.status_code == 200
    # An optional item may stay unticked.
    ChecklistItem.objects.filter(key="plain_words").update(required=False)


def test_an_inactive_item_is_not_asked(editor, reviewer):
    ChecklistItem.objects.filter(key="numbers_checked").update(active=False)
    article = make_article(editor=editor, reviewer=reviewer, state="under_review")
    body = approval_kwargs()
    assert "numbers_checked" not in body["checklist"]
    assert _approve(reviewer, article, body).status_code == 200


def test_the_workspace_form_is_built_from_the_checklist_items(client, editor, reviewer):
    ChecklistItem.objects.create(key="images_ok", text="Figures have alt text.", position=9)
    article = make_article(editor=editor, reviewer=reviewer, state="under_review")
    client.force_login(reviewer)
    page = client.get(reverse("workflows:article-review", args=[article.pk])).content.decode()
    for key, text in [*factories.DEFAULT_CHECKLIST.items(), ("images_ok", "Figures")]:
        assert f'name="check_{key}"' in page
        assert text in page
    assert 'name="conflict_of_interest"' in page


def test_managing_editors_keep_the_checklist_in_the_admin(client):
    admin = factories.UserFactory(username="root", is_superuser=True, is_staff=True)
    client.force_login(admin)
    assert client.get("/admin/workflows/checklistitem/").status_code == 200


def test_managing_editors_keep_the_checklist_in_the_workspace(client, managing_editor, editor):
    url = reverse("workflows:checklist")
    client.force_login(editor)
    assert client.get(url).status_code == 200
    assert client.post(url, {"key": "x", "text": "X", "position": 1}).status_code == 403
    client.force_login(managing_editor)
    response = client.post(
        url,
        {
            "key": "plain_words",
            "text": "Plain words.",
            "required": "on",
            "audiences": ["patients"],
            "active": "on",
            "position": 9,
        },
    )
    assert response.status_code == 302
    item = ChecklistItem.objects.get(key="plain_words")
    assert (item.required, item.audiences, item.active) == (True, ["patients"], True)
    # Retire an item: the same key, "active" unticked.
    client.post(url, {"key": "numbers_checked", "text": "Numbers.", "position": 1})
    assert not ChecklistItem.objects.get(key="numbers_checked").active
    assert client.post(url, {"key": "bad key!", "text": "", "position": 1}).status_code == 400


def test_recertifying_in_the_workspace_signs_the_same_form(
    client, editor, reviewer, second_reviewer
):
    article = make_article(editor=editor, reviewer=reviewer, state="approved")
    client.force_login(second_reviewer)
    page = client.get(reverse("workflows:article-review", args=[article.pk])).content.decode()
    assert "Re-certify (content unchanged)" in page and 'name="check_claims_supported"' in page
    url = reverse("workflows:article-action", args=[article.pk, "recertify"])
    refused = client.post(url, {"comment": "Still right."})
    assert refused.status_code == 400
    assert "Declare conflicts of interest" in refused.content.decode()
    data = approval_form_data(comment="Still right.", declared=True, statement="Paid talk.")
    assert client.post(url, data).status_code == 302
    record = Approval.objects.get(article=article, kind="recertification")
    assert record.comment == "Still right."
    assert record.conflict_of_interest == {"declared": True, "statement": "Paid talk."}
