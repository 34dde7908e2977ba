"""Reviewer credentials: managing editors verify them; only verified, unexpired
credentials sign an approval or a re-certification (API and workspace alike)."""

from datetime import date, timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from articles.models import ReviewerProfile
from tests import factories
from tests.helpers import approval_kwargs, client_for, make_article
from workflows.models import Approval, AuditEvent

pytestmark = pytest.mark.django_db


def test_anyone_lists_reviewers_but_only_staff_see_the_verification(api, editor, reviewer):
    public = api.get("/api/v1/reviewers/")
    assert public.status_code == 200
    row = public.json()["results"][0]
    assert row == {
        "user": reviewer.pk,
        "display_name": "Dr Rita",
        "credentials": "MD",
        "specialty": "Neurology",
        "bio": "",
    }
    staff = client_for(editor).get(f"/api/v1/reviewers/{reviewer.pk}/")
    assert staff.status_code == 200
    data = staff.json()
    assert data["registration_body"] == "GMC"
    assert data["credentials_verified_at"] is not None
    assert data["credentials_valid"] is True


def test_a_managing_editor_verifies_with_a_patch_that_stamps_when_and_who(managing_editor):
    unverified = factories.reviewer(username="newdoc", verified=False)
    with time_machine.travel("2026-05-04 10:00Z", tick=False):
        response = client_for(managing_editor).patch(
            f"/api/v1/reviewers/{unverified.pk}/",
            {
                "registration_number": "7777777",
                "credentials_expire_on": "2027-05-01",
                "verify": True,
            },
            format="json",
        )
    assert response.status_code == 200, response.json()
    data = response.json()
    assert data["credentials_verified_at"] == "2026-05-04T10:00:00Z"
    assert data["credentials_verified_by"] == "mona"
    assert data["registration_number"] == "7777777"
    assert data["credentials_expire_on"] == "2027-05-01"
    profile = ReviewerProfile.objects.get(user=unverified)
    assert profile.credentials_verified_by == managing_editor


def test_changing_the_registration_without_verifying_again_voids_the_verification(
    managing_editor, reviewer
):
    response = client_for(managing_editor).patch(
        f"/api/v1/reviewers/{reviewer.pk}/", {"registration_number": "999"}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["credentials_verified_at"] is None
    assert response.json()["credentials_valid"] is False


@pytest.mark.parametrize("who", ["editor", "reviewer", "anonymous"])
def test_only_managing_editors_patch_profiles(who, editor, reviewer, api):
    client = (
        api if who == "anonymous" else client_for({"editor": editor, "reviewer": reviewer}[who])
    )
    response = client.patch(f"/api/v1/reviewers/{reviewer.pk}/", {"verify": False}, format="json")
    assert response.status_code in (401, 403)
    assert ReviewerProfile.objects.get(user=reviewer).credentials_verified_at is not None


def test_bad_profile_input_is_a_400_naming_the_field(managing_editor, reviewer):
    client = client_for(managing_editor)
    bad_date = client.patch(
        f"/api/v1/reviewers/{reviewer.pk}/", {"credentials_expire_on": "soon"}, format="json"
    )
    assert bad_date.status_code == 400 and "credentials_expire_on" in bad_date.json()
    unknown = client.patch(
        f"/api/v1/reviewers/{reviewer.pk}/", {"credentials_verified_at": "x"}, format="json"
    )
    assert unknown.status_code == 400 and "credentials_verified_at" in unknown.json()
    expired = client.patch(
        f"/api/v1/reviewers/{reviewer.pk}/",
        {"credentials_expire_on": "2001-01-01", "verify": True},
        format="json",
    )
    assert expired.status_code == 400 and "credentials_expire_on" in expired.json()
    assert client.patch("/api/v1/reviewers/999999/", {}, format="json").status_code == 404


@pytest.mark.parametrize(
    ("problem", "reason"),
    [
        ("no_profile", "no reviewer profile"),
        ("unverified", "not been verified"),
        ("expired", "expired on 2020-01-01"),
    ],
)
def test_the_api_refuses_to_approve_with_403_and_the_reason(problem, reason, editor):
    signer = factories.reviewer(username="signer", verified=problem != "unverified")
    if problem == "no_profile":
        ReviewerProfile.objects.filter(user=signer).delete()
    if problem == "expired":
        ReviewerProfile.objects.filter(user=signer).update(credentials_expire_on=date(2020, 1, 1))
    article = make_article(editor=editor, reviewer=factories.reviewer(), state="under_review")
    response = client_for(signer).post(
        f"/api/v1/articles/{article.pk}/approve/", approval_kwargs(), format="json"
    )
    assert response.status_code == 403
    assert reason in response.json()["detail"]
    assert not Approval.objects.filter(article=article).exists()
    assert AuditEvent.objects.filter(article=article, action="approve", refused=True).exists()


def test_a_superuser_without_verified_credentials_may_not_recertify(editor, reviewer):
    article = make_article(editor=editor, reviewer=reviewer, state="approved")
    root = factories.UserFactory(username="root", is_superuser=True)
    response = client_for(root).post(
        f"/api/v1/articles/{article.pk}/recertify/", approval_kwargs(), format="json"
    )
    assert response.status_code == 403
    assert "no reviewer profile" in response.json()["detail"]
    # Not offered either.
    detail = client_for(root).get(f"/api/v1/articles/{article.pk}/").json()
    assert "recertify" not in detail["allowed_actions"]


def test_a_managing_editor_verifies_in_the_workspace_and_the_reviewer_may_then_approve(
    client, managing_editor, editor
):
    newdoc = factories.reviewer(username="newdoc", verified=False)
    article = make_article(editor=editor, reviewer=factories.reviewer(), state="under_review")
    client.force_login(managing_editor)
    listing = client.get(reverse("workflows:reviewer-list"))
    assert listing.status_code == 200
    assert "Not verified" in listing.content.decode()
    url = reverse("workflows:reviewer-edit", args=[newdoc.pk])
    assert client.get(url).status_code == 200
    response = client.post(
        url,
        {
            "display_name": "Dr Newdoc",
            "credentials": "MD",
            "registration_body": "GMC",
            "registration_number": "7000001",
            "credentials_expire_on": "2030-01-01",
            "verify": "on",
        },
    )
    assert response.status_code == 302
    profile = ReviewerProfile.objects.get(user=newdoc)
    assert profile.credentials_verified_by == managing_editor
    assert profile.credentials_verified_at is not None
    approved = client_for(newdoc).post(
        f"/api/v1/articles/{article.pk}/approve/", approval_kwargs(), format="json"
    )
    assert approved.status_code == 200, approved.json()


def test_editors_may_not_open_the_verification_form(client, editor, reviewer):
    client.force_login(editor)
    assert client.get(reverse("workflows:reviewer-edit", args=[reviewer.pk])).status_code == 403


def test_the_dashboard_lists_credentials_expiring_within_30_days(client, managing_editor):
    today = timezone.localdate()
    factories.reviewer(username="soon", expire_on=today + timedelta(days=10))
    factories.reviewer(username="later", expire_on=today + timedelta(days=90))
    factories.reviewer(username="gone", expire_on=today - timedelta(days=1))
    client.force_login(managing_editor)
    page = client.get(reverse("workflows:dashboard")).content.decode()
    section = page[page.index("Credentials expiring within 30 days") :]
    assert "Dr Soon" in section
    assert "Dr Later" not in section and "Dr Gone" not in section


def test_the_daily_sweep_tells_managing_editors_once_a_day(managing_editor):
    from workflows.jobs import flag_stale_articles
    from workflows.models import Notification

    today = timezone.localdate()
    factories.reviewer(username="soon", expire_on=today + timedelta(days=5))
    factories.reviewer(username="later", expire_on=today + timedelta(days=90))
    flag_stale_articles(report=False)
    (note,) = Notification.objects.filter(recipient=managing_editor)
    assert "expiring within 30 days" in note.subject
    assert "Dr Soon" in note.body and "Dr Later" not in note.body
    flag_stale_articles(report=False)
    assert Notification.objects.filter(recipient=managing_editor).count() == 1
