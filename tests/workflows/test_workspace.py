"""Workspace pages: access, the review page's forms, the editor, the source library."""

import json

import pytest
from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from articles.models import Article, ReviewerProfile
from citations.models import Source
from workflows import services
from workflows.models import Approval, AuditEvent

from .. import factories
from ..helpers import approval_form_data

pytestmark = pytest.mark.django_db


@pytest.fixture
def logged_in(client):
    def login(user):
        client.force_login(user)
        return client

    return login


@pytest.fixture
def source(db):
    return factories.SourceFactory(key="trapp1998")


def page_urls(article, source) -> list[str]:
    return [
        reverse("workflows:dashboard"),
        reverse("workflows:article-list"),
        reverse("workflows:article-create"),
        reverse("workflows:article-edit", args=[article.pk]),
        reverse("workflows:article-review", args=[article.pk]),
        reverse("workflows:source-library"),
        reverse("workflows:source-detail", args=[source.pk]),
    ]


@pytest.mark.parametrize("role", ["editor", "reviewer", "managing_editor"])
def test_every_workspace_page_renders_for_each_role(
    role, request, logged_in, editor, reviewer, article_in, source
):
    article = article_in("under_review", editor=editor, reviewer=reviewer, body="A [@trapp1998].")
    client = logged_in(request.getfixturevalue(role))
    for url in page_urls(article, source):
        assert client.get(url).status_code == 200, url


def test_anonymous_visitors_are_sent_to_the_login_page(client, editor, article_in, source):
    article = article_in("draft", editor=editor)
    for url in page_urls(article, source):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(f"/accounts/login/?next={url}")


def test_a_user_without_an_editorial_role_is_refused(logged_in, reader):
    assert logged_in(reader).get(reverse("workflows:dashboard")).status_code == 403


def test_login_page_renders(client):
    response = client.get("/accounts/login/")
    assert response.status_code == 200
    assert b"Staff sign-in" in response.content


def test_approving_through_the_review_form_makes_the_revision_live_and_audits_it(
    logged_in, editor, reviewer, article_in
):
    article = article_in("under_review", editor=editor, reviewer=reviewer)
    url = reverse("workflows:article-action", args=[article.pk, "approve"])
    response = logged_in(reviewer).post(url, approval_form_data(comment="Accurate."), follow=True)
    assert response.status_code == 200
    article.refresh_from_db()
    assert article.status == "approved"
    assert article.live_revision_id == article.latest_revision_id
    event = AuditEvent.objects.get(article=article, action="approve")
    assert event.actor == reviewer and not event.refused
    # The checklist is stored as data on the approval, not appended to the comment.
    assert event.comment == "Accurate."
    approval = Approval.objects.get(article=article)
    assert [(c["key"], c["confirmed"]) for c in approval.checklist] == [
        (key, True) for key in factories.DEFAULT_CHECKLIST
    ]
    assert approval.conflict_of_interest == {"declared": False, "statement": ""}


def test_approving_without_the_checklist_is_refused_and_changes_nothing(
    logged_in, editor, reviewer, article_in
):
    article = article_in("under_review", editor=editor, reviewer=reviewer)
    url = reverse("workflows:article-action", args=[article.pk, "approve"])
    data = approval_form_data()
    del data["check_numbers_checked"], data["check_sources_current"]
    response = logged_in(reviewer).post(url, data)
    assert response.status_code == 400
    assert "not confirmed: numbers_checked, sources_current" in response.content.decode()
    article.refresh_from_db()
    assert article.status == "under_review"
    assert not Approval.objects.filter(article=article).exists()


def test_the_author_cannot_approve_through_the_form(
    logged_in, editor, reviewer, managing_editor, article_in
):
    # A managing editor who is also a (verified) reviewer wrote the revision: four-eyes
    # refuses.
    managing_editor.groups.add(Group.objects.get(name="Reviewers"))
    ReviewerProfile.objects.create(
        user=managing_editor, display_name="Dr Mona", credentials_verified_at=timezone.now()
    )
    article = article_in("submitted", editor=managing_editor, reviewer=reviewer)
    services.article_start_review(article_id=article.pk, actor=reviewer)
    response = logged_in(managing_editor).post(
        reverse("workflows:article-action", args=[article.pk, "approve"]),
        approval_form_data(),
    )
    assert response.status_code == 403
    assert "nobody may approve their own work" in response.content.decode()
    assert Article.objects.get(pk=article.pk).status == "under_review"


def test_request_changes_without_a_comment_shows_the_services_error(
    logged_in, editor, reviewer, article_in
):
    article = article_in("under_review", editor=editor, reviewer=reviewer)
    url = reverse("workflows:article-action", args=[article.pk, "request-changes"])
    response = logged_in(reviewer).post(url, {"comment": "  "})
    assert response.status_code == 400
    assert "A comment is required to request changes." in response.content.decode()
    article.refresh_from_db()
    assert article.status == "under_review"
    assert AuditEvent.objects.filter(article=article, action="request-changes", refused=True)


def test_submitting_with_an_unresolved_marker_lists_the_marker(logged_in, editor, article_in):
    article = article_in("draft", editor=editor, body="Claim [@nosuchkey].")
    url = reverse("workflows:article-action", args=[article.pk, "submit"])
    response = logged_in(editor).post(url, {"comment": ""})
    assert response.status_code == 400
    assert "nosuchkey" in response.content.decode()
    assert Article.objects.get(pk=article.pk).status == "draft"


def test_an_illegal_transition_is_reported_with_a_conflict(logged_in, editor, reviewer, article_in):
    article = article_in("draft", editor=editor)
    url = reverse("workflows:article-action", args=[article.pk, "recertify"])
    response = logged_in(reviewer).post(url, {"comment": ""})
    assert response.status_code == 409
    assert "Cannot recertify an article that is draft." in response.content.decode()


def test_an_action_outside_the_users_role_is_forbidden(logged_in, editor, article_in):
    article = article_in("submitted", editor=editor)
    url = reverse("workflows:article-action", args=[article.pk, "start-review"])
    response = logged_in(editor).post(url, {"comment": ""})
    assert response.status_code == 403
    assert Article.objects.get(pk=article.pk).status == "submitted"


def test_review_page_shows_text_and_references_added_since_the_live_revision(
    logged_in, editor, reviewer, article_in, source
):
    article = article_in("approved", editor=editor, reviewer=reviewer, body="Old line.")
    services.article_edit(
        article_id=article.pk, actor=editor, changes={"body": "New line [@trapp1998]."}
    )
    response = logged_in(reviewer).get(reverse("workflows:article-review", args=[article.pk]))
    html = response.content.decode()
    assert "<del>Old line.</del>" in html
    assert "<ins>New line [@trapp1998].</ins>" in html
    added = html.split('class="refs-added"')[1].split("</ul>")[0]
    assert source.title in added


def test_editor_preview_renders_citations_without_saving(logged_in, editor, source):
    response = logged_in(editor).post(
        reverse("workflows:article-create"),
        {
            "title": "Lesions",
            "body": "## Start\n\nClaim [@trapp1998].",
            "audience": "patients",
            "preview": "1",
        },
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert 'href="#ref-1"' in html and source.title in html
    assert not Article.objects.exists()


def test_editor_creates_and_edits_a_draft_through_the_form(logged_in, editor):
    client = logged_in(editor)
    response = client.post(
        reverse("workflows:article-create"),
        {"title": "Lesions", "body": "Text.", "audience": "patients", "save": "1"},
    )
    article = Article.objects.get()
    assert response.status_code == 302
    edit_url = reverse("workflows:article-edit", args=[article.pk])
    response = client.post(
        edit_url,
        {
            "title": "Lesions in MS",
            "body": "Text.",
            "audience": "patients",
            "etag": article.etag,
            "save": "1",
        },
    )
    article.refresh_from_db()
    assert response.status_code == 302
    assert article.title == "Lesions in MS"
    assert article.revisions.count() == 2


def test_editing_with_a_stale_etag_is_refused(logged_in, editor):
    client = logged_in(editor)
    client.post(
        reverse("workflows:article-create"),
        {"title": "Lesions", "body": "Text.", "audience": "patients", "save": "1"},
    )
    article = Article.objects.get()
    response = client.post(
        reverse("workflows:article-edit", args=[article.pk]),
        {"title": "Other", "body": "Text.", "audience": "patients", "etag": '"0-0"'},
    )
    assert response.status_code == 412
    assert Article.objects.get().title == "Lesions"


def test_importing_a_file_through_the_form_shows_the_per_entry_report(logged_in, editor):
    data = json.dumps(
        [
            {
                "id": "frischer2009",
                "type": "article-journal",
                "title": "Inflammation and MS",
                "author": [{"family": "Frischer", "given": "J. M."}],
                "issued": {"date-parts": [[2009]]},
                "DOI": "10.1093/brain/awp070",
            },
            {"id": "broken", "type": "article-journal", "DOI": "not a doi"},
        ]
    ).encode()
    upload = SimpleUploadedFile("sources.json", data, content_type="application/json")
    response = logged_in(editor).post(reverse("workflows:source-import"), {"file": upload})
    html = response.content.decode()
    assert response.status_code == 200
    assert "1 created, 0 merged, 1 refused." in html
    assert "frischer2009" in html
    assert Source.objects.filter(key="frischer2009").exists()


def test_a_reviewer_marks_a_source_retracted_through_the_form(logged_in, reviewer, source):
    response = logged_in(reviewer).post(
        reverse("workflows:source-status", args=[source.pk]),
        {
            "status": "retracted",
            "notice_doi": "10.5555/notice",
            "notice_date": "2020-01-02",
            "reason": "Data fabricated.",
        },
    )
    assert response.status_code == 302
    source.refresh_from_db()
    assert source.status == "retracted" and source.notice_reason == "Data fabricated."


def test_an_editor_cannot_mark_a_source_status(logged_in, editor, source):
    response = logged_in(editor).post(
        reverse("workflows:source-status", args=[source.pk]), {"status": "retracted"}
    )
    assert response.status_code == 403
    assert Source.objects.get(pk=source.pk).status == "active"


def test_source_library_shows_where_each_source_is_cited(
    logged_in, editor, reviewer, article_in, source
):
    article_in(
        "approved", editor=editor, reviewer=reviewer, body="A [@trapp1998].", title="Cited here"
    )
    response = logged_in(editor).get(reverse("workflows:source-library"))
    assert "Cited here" in response.content.decode()


def test_dashboard_queries_do_not_grow_with_articles(
    logged_in, editor, reviewer, managing_editor, article_in, django_assert_max_num_queries
):
    for state in ("draft", "changes_requested", "submitted", "under_review", "approved") * 3:
        article_in(state, editor=managing_editor, reviewer=reviewer)
    Article.objects.filter(status="approved").update(flag_review_overdue=True)
    first = Article.objects.filter(status="approved").first()
    Article.objects.filter(pk=first.pk).update(flag_citation_retracted=True)
    client = logged_in(managing_editor)
    # Two more than before review governance: the credentials expiring within 30 days,
    # and the live variants whose other version changed.
    with django_assert_max_num_queries(10):
        response = client.get(reverse("workflows:dashboard"))
    assert response.status_code == 200


def test_source_library_queries_do_not_grow_with_sources(
    logged_in, editor, reviewer, article_in, django_assert_max_num_queries
):
    sources = factories.SourceFactory.create_batch(12)
    body = " ".join(f"[@{s.key}]" for s in sources)
    article_in("approved", editor=editor, reviewer=reviewer, body=body)
    article_in("draft", editor=editor, body=body, title="Second")
    client = logged_in(editor)
    with django_assert_max_num_queries(6):
        response = client.get(reverse("workflows:source-library"))
    assert response.status_code == 200


def test_review_page_and_article_list_queries_do_not_grow(
    logged_in, editor, reviewer, article_in, django_assert_max_num_queries
):
    sources = factories.SourceFactory.create_batch(12)
    body = " ".join(f"[@{s.key}]" for s in sources)
    article = article_in("approved", editor=editor, reviewer=reviewer, body=body)
    for n in range(6):
        article_in("draft", editor=editor, title=f"Draft {n}")
    client = logged_in(reviewer)
    # Two more than before review governance: the checklist items of the approve /
    # re-certify form, and the reviewer's profile (only verified reviewers see it).
    with django_assert_max_num_queries(8):
        assert client.get(reverse("workflows:article-review", args=[article.pk])).status_code == 200
    with django_assert_max_num_queries(5):
        assert client.get(reverse("workflows:article-list")).status_code == 200
