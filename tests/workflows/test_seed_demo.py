"""The demo seed: accounts per role, sources with a retraction, articles in every state."""

import os
import stat
from io import StringIO
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.utils import timezone

from articles.models import Article, ArticleRevision, EditorialPolicy, ReviewerProfile
from citations.models import Source
from workflows.management.commands.seed_demo import FIXED_DEMO_PASSWORD
from workflows.models import AuditEvent

pytestmark = pytest.mark.django_db

ROLES = {
    "editor": "Editors",
    "editor2": "Editors",
    "reviewer": "Reviewers",
    "reviewer2": "Reviewers",
    "managing": "Managing editors",
}


def seed(*args) -> str:
    out = StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def snapshot() -> dict:
    return {
        "users": get_user_model().objects.count(),
        "sources": Source.objects.count(),
        "articles": Article.objects.count(),
        "revisions": ArticleRevision.objects.count(),
        "events": AuditEvent.objects.count(),
        "policies": EditorialPolicy.objects.count(),
        "profiles": ReviewerProfile.objects.count(),
    }


def test_seed_creates_an_account_for_each_role_and_a_superuser():
    seed()
    users = get_user_model().objects
    for username, group in ROLES.items():
        assert users.get(username=username).groups.filter(name=group).exists()
    assert users.get(username="admin").is_superuser
    profile = ReviewerProfile.objects.get(user__username="reviewer")
    assert (profile.display_name, profile.credentials) == ("Dr Amara Okafor", "MD")
    assert "fictional" in profile.bio.lower()
    assert ReviewerProfile.objects.filter(user__username="reviewer2").exists()


def test_seed_drives_articles_into_every_workflow_state():
    seed()
    states = set(Article.objects.values_list("status", flat=True))
    assert states == set(Article.Status.values)
    assert Article.objects.filter(status="approved").count() >= 3


def test_seed_leaves_a_reviewer_comment_on_the_changes_requested_article():
    seed()
    article = Article.objects.get(status="changes_requested")
    event = article.audit_events.get(action="request-changes")
    assert event.comment and event.actor.username == "reviewer"


def test_seed_writes_audience_variants_sharing_a_group():
    seed()
    variants = Article.objects.filter(variant_group="axonal-loss-and-disability")
    assert set(variants.values_list("audience", flat=True)) == {"patients", "clinicians"}


def test_seed_keeps_the_live_revision_of_an_approved_article_edited_again():
    seed()
    article = Article.objects.get(slug="axonal-loss-and-disability-in-ms-clinicians")
    assert article.status == "draft"
    assert article.live_revision_id and article.live_revision_id != article.latest_revision_id


def test_seed_makes_one_approved_article_overdue_for_review():
    seed()
    overdue = Article.objects.filter(status="approved", next_review_due__lt=timezone.now())
    assert overdue.count() == 1
    assert overdue.get().flag_review_overdue


def test_seed_imports_sources_with_evidence_types_and_the_wakefield_retraction():
    seed()
    evidence = dict(Source.objects.values_list("key", "evidence_type"))
    assert evidence["sastregarriga2020"] == "guideline"
    assert evidence["trapp1998"] != "cohort"
    wakefield = Source.objects.get(key="wakefield1998")
    assert wakefield.status == "retracted"
    assert wakefield.status_notice["doi"] == "10.1016/s0140-6736(10)60175-4"
    assert wakefield.status_notice["pmid"] == "20137807"
    assert wakefield.status_notice["date"] == "2010-02-06"
    assert "Lancet" in wakefield.status_notice["reason"]


def test_seed_cites_the_retracted_paper_only_intentionally_in_an_approved_article():
    seed()
    article = Article.objects.get(slug="why-retracted-science-matters")
    assert article.status == "approved"
    citation = article.live_revision.citations.get(source__key="wakefield1998")
    assert citation.intentional_reason
    citing = Article.objects.filter(revisions__citations__source__key="wakefield1998").distinct()
    assert list(citing) == [article]


def test_seed_resolves_every_marker_in_every_article():
    seed()
    assert not ArticleRevision.objects.exclude(unresolved_markers=[]).exists()


def test_seed_creates_the_editorial_policy():
    seed()
    policy = EditorialPolicy.objects.get()
    assert policy.body and policy.disclaimer


def test_seed_twice_changes_nothing_and_prints_credentials_only_the_first_time():
    first = seed()
    before = snapshot()
    second = seed()
    assert snapshot() == before
    assert "passwords are shown only this once" in first
    for username in (*ROLES, "admin"):
        assert username in first
    assert "passwords are shown only this once" not in second


def test_seed_prints_passwords_that_log_in():
    out = seed()
    line = next(line for line in out.splitlines() if line.strip().startswith("reviewer2"))
    password = line.split()[-1]
    assert get_user_model().objects.get(username="reviewer2").check_password(password)


def test_seed_uses_the_documented_password_when_asked():
    seed("--password")
    assert get_user_model().objects.get(username="editor").check_password(FIXED_DEMO_PASSWORD)


def test_seed_keeps_the_new_passwords_in_a_private_file_make_run_prints(settings):
    out = seed()
    path = Path(settings.REVIEWSITE_DEMO_ACCOUNTS_FILE)
    assert str(path) in out
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    line = next(line for line in path.read_text().splitlines() if line.split()[:1] == ["editor"])
    assert get_user_model().objects.get(username="editor").check_password(line.split()[-1])
    assert "demo-accounts.txt" in Path("Makefile").read_text()


def test_seed_shows_review_governance():
    from workflows.models import Approval
    from workflows.selectors import credentials_expiring

    seed()
    problems = {
        p.user.username: p.credential_problem(timezone.localdate())
        for p in ReviewerProfile.objects.select_related("user")
    }
    assert problems["reviewer"] == problems["reviewer2"] == ""
    assert "not been verified" in problems["reviewer3"]
    assert [p.user.username for p in credentials_expiring()] == ["reviewer2"]
    pair = Article.objects.filter(variant_group="axonal-loss-and-disability")
    assert sorted(pair.values_list("audience", flat=True)) == ["clinicians", "patients"]
    approvals = Approval.objects.all()
    assert approvals.exists()
    assert all(a.checklist and all(i["confirmed"] for i in a.checklist) for a in approvals)
    assert all(a.conflict_of_interest == {"declared": False, "statement": ""} for a in approvals)
