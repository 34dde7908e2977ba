"""The article API: auth, visibility, shapes, error codes, ETags, actions, history."""

import pytest
from django.core import mail
from django.db import transaction
from rest_framework.test import APIClient

from articles.models import Article, ArticleRevision
from tests import factories
from tests.helpers import approval_kwargs, client_for, make_article
from workflows import services
from workflows.models import AuditEvent, Notification

pytestmark = pytest.mark.django_db

ARTICLE_FIELDS = {
    "id", "slug", "title", "summary", "body", "audience", "status", "version", "live_revision",
    "latest_revision", "last_updated", "last_reviewed", "next_review_due",
    "review_interval_days", "flags", "reviewers", "citations",
}  # fmt: skip
#: What only editorial staff see: the working copy's identity and version (issue 10).
STAFF_ONLY_FIELDS = {"version", "latest_revision"}


def test_token_endpoint_issues_a_token_that_authenticates(api, editor):
    response = api.post(
        "/api/v1/auth/token/",
        {"username": "eddie", "password": "correct horse battery staple"},
        format="json",
    )
    assert response.status_code == 200
    token = response.json()["token"]
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    created = api.post("/api/v1/articles/", {"title": "Optic neuritis"}, format="json")
    assert created.status_code == 201


def test_token_endpoint_refuses_wrong_password_with_400(api, editor):
    response = api.post(
        "/api/v1/auth/token/", {"username": "eddie", "password": "nope"}, format="json"
    )
    assert response.status_code == 400
    assert "non_field_errors" in response.json()


def test_readers_list_only_live_articles_and_see_the_live_revision(api, editor, reviewer):
    live = make_article(editor=editor, reviewer=reviewer, state="approved", title="Live title")
    make_article(editor=editor, title="Secret draft")
    services.article_edit(article_id=live.pk, actor=editor, changes={"title": "Working title"})

    body = api.get("/api/v1/articles/").json()
    assert body["count"] == 1
    assert {"count", "next", "previous", "results"} <= set(body)
    item = body["results"][0]
    assert set(item) >= ARTICLE_FIELDS - STAFF_ONLY_FIELDS
    assert not set(item) & STAFF_ONLY_FIELDS
    assert item["title"] == "Live title"
    assert item["status"] == "approved"

    staff = client_for(editor).get("/api/v1/articles/").json()
    assert set(staff["results"][0]) >= ARTICLE_FIELDS
    assert staff["count"] == 2
    titles = {a["title"]: a["status"] for a in staff["results"]}
    assert titles == {"Working title": "draft", "Secret draft": "draft"}


def test_a_draft_is_404_for_readers_and_visible_to_staff(api, editor):
    draft = make_article(editor=editor)
    assert api.get(f"/api/v1/articles/{draft.pk}/").status_code == 404
    reader = factories.UserFactory(username="curious")
    assert client_for(reader).get(f"/api/v1/articles/{draft.pk}/").status_code == 404
    assert client_for(editor).get(f"/api/v1/articles/{draft.pk}/").status_code == 200


def test_detail_sends_an_etag_and_answers_if_none_match_with_304(editor):
    article = make_article(editor=editor)
    client = client_for(editor)
    response = client.get(f"/api/v1/articles/{article.pk}/")
    etag = response["ETag"]
    assert etag == f'"{article.pk}-{article.version}"'
    again = client.get(f"/api/v1/articles/{article.pk}/", HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304


def test_create_needs_login_and_an_editor_role(api, reader):
    assert api.post("/api/v1/articles/", {"title": "x"}, format="json").status_code == 401
    response = client_for(reader).post("/api/v1/articles/", {"title": "x"}, format="json")
    assert response.status_code == 403
    assert not Article.objects.exists()


def test_create_reports_each_bad_field(editor):
    response = client_for(editor).post(
        "/api/v1/articles/",
        {"title": "", "audience": "martians", "status": "approved"},
        format="json",
    )
    assert response.status_code == 400
    body = response.json()
    assert "status" in body  # read-only: state changes go through actions
    assert not Article.objects.exists()


def test_create_validates_fields_after_unknown_ones_are_gone(editor):
    response = client_for(editor).post(
        "/api/v1/articles/", {"title": "", "audience": "martians"}, format="json"
    )
    assert response.status_code == 400
    assert set(response.json()) == {"title", "audience"}


def test_create_returns_the_representation_with_numbered_citations(editor):
    factories.SourceFactory(key="trapp1998")
    factories.SourceFactory(key="frischer2009", doi="10.1093/brain/awp070")
    response = client_for(editor).post(
        "/api/v1/articles/",
        {
            "title": "Axonal loss",
            "body": "Cut axons [@trapp1998]. Linked [@doi:10.1093/BRAIN/awp070; @trapp1998].",
        },
        format="json",
    )
    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "draft"
    assert [(c["number"], c["key"]) for c in body["citations"]] == [
        (1, "trapp1998"),
        (2, "doi:10.1093/BRAIN/awp070"),
    ]


def test_patch_with_stale_if_match_is_412_and_writes_nothing(editor):
    article = make_article(editor=editor, title="Before")
    client = client_for(editor)
    response = client.patch(
        f"/api/v1/articles/{article.pk}/",
        {"title": "After"},
        format="json",
        HTTP_IF_MATCH='"999-1"',
    )
    assert response.status_code == 412
    article.refresh_from_db()
    assert article.title == "Before"
    assert article.revisions.count() == 1
    refusal = AuditEvent.objects.filter(article=article).latest("id")
    assert (refusal.action, refusal.refused) == ("edit", True)


def test_patch_with_current_if_match_saves_a_new_revision(editor):
    article = make_article(editor=editor, title="Before")
    client = client_for(editor)
    etag = client.get(f"/api/v1/articles/{article.pk}/")["ETag"]
    response = client.patch(
        f"/api/v1/articles/{article.pk}/", {"title": "After"}, format="json", HTTP_IF_MATCH=etag
    )
    assert response.status_code == 200
    assert response.json()["title"] == "After"
    assert response["ETag"] != etag
    assert article.revisions.count() == 2


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ('"0-1", {etag}', 200),  # a list naming the current tag
        ('{etag}, "0-1"', 200),
        ("*", 200),
        ("W/{etag}", 412),  # If-Match compares strongly: a weak tag never matches
        ('"0-1", "0-2"', 412),
        ("not a tag", 412),
    ],
)
def test_if_match_takes_a_list_of_entity_tags(editor, header, expected):
    article = make_article(editor=editor, title="Before")
    response = client_for(editor).patch(
        f"/api/v1/articles/{article.pk}/",
        {"title": "After"},
        format="json",
        HTTP_IF_MATCH=header.format(etag=article.etag),
    )
    assert response.status_code == expected
    assert article.revisions.count() == (2 if expected == 200 else 1)


def test_saving_without_a_change_creates_no_revision_and_changes_no_state(editor, reviewer):
    article = make_article(editor=editor, reviewer=reviewer, state="approved", title="Same")
    before = Article.objects.get(pk=article.pk)
    response = client_for(editor).patch(
        f"/api/v1/articles/{article.pk}/", {"title": "Same", "body": "Text."}, format="json"
    )
    assert response.status_code == 200
    after = Article.objects.get(pk=article.pk)
    assert (after.status, after.version, after.latest_revision_id) == (
        "approved",
        before.version,
        before.latest_revision_id,
    )
    assert ArticleRevision.objects.filter(article=article).count() == 1


def test_editing_an_approved_article_keeps_the_live_revision_for_readers(api, editor, reviewer):
    article = make_article(editor=editor, reviewer=reviewer, state="approved", title="Live")
    response = client_for(editor).patch(
        f"/api/v1/articles/{article.pk}/", {"title": "Proposed"}, format="json"
    )
    assert response.json()["status"] == "draft"
    article.refresh_from_db()
    assert article.live_revision != article.latest_revision
    assert api.get(f"/api/v1/articles/{article.pk}/").json()["title"] == "Live"


def test_illegal_transition_is_409_with_status_and_allowed_actions(editor, reviewer):
    article = make_article(editor=editor)
    response = client_for(reviewer).post(
        f"/api/v1/articles/{article.pk}/approve/", approval_kwargs(), format="json"
    )
    assert response.status_code == 409
    body = response.json()
    assert body["status"] == "draft"
    assert body["allowed_actions"] == []  # a reviewer can do nothing with a draft
    assert "detail" in body
    editor_view = client_for(editor).post(f"/api/v1/articles/{article.pk}/restore/", {})
    assert editor_view.status_code == 403


def test_409_lists_what_the_caller_may_do_instead(editor, reviewer):
    article = make_article(editor=editor, reviewer=reviewer, state="submitted")
    response = client_for(reviewer).post(
        f"/api/v1/articles/{article.pk}/recertify/", approval_kwargs(), format="json"
    )
    assert response.status_code == 409
    assert sorted(response.json()["allowed_actions"]) == ["request-changes", "start-review"]


def test_unknown_action_is_404(editor):
    article = make_article(editor=editor)
    response = client_for(editor).post(f"/api/v1/articles/{article.pk}/publish/", {})
    assert response.status_code == 404


def test_request_changes_without_comment_is_400(editor, reviewer):
    article = make_article(editor=editor, reviewer=reviewer, state="under_review")
    response = client_for(reviewer).post(
        f"/api/v1/articles/{article.pk}/request-changes/", {"comment": ""}, format="json"
    )
    assert response.status_code == 400
    assert "comment" in response.json()


def test_submit_lists_every_unresolved_marker_with_its_position(editor):
    factories.SourceFactory(key="known")
    body = "Fine [@known].\nMissing [@ghost] and [@pmid:123].\n"
    article = make_article(editor=editor, body=body)
    response = client_for(editor).post(f"/api/v1/articles/{article.pk}/submit/", {})
    assert response.status_code == 400
    markers = response.json()["markers"]
    assert [(m["key"], m["line"]) for m in markers] == [("ghost", 2), ("pmid:123", 2)]
    assert markers[0]["position"] == body.index("[@ghost]")
    assert Article.objects.get(pk=article.pk).status == "draft"


def test_submit_resolves_markers_whose_source_was_added_since(editor):
    article = make_article(editor=editor, body="Later [@added2024].")
    factories.SourceFactory(key="added2024")
    response = client_for(editor).post(f"/api/v1/articles/{article.pk}/submit/", {})
    assert response.status_code == 200
    assert response.json()["citations"][0]["key"] == "added2024"


def test_citing_a_retracted_source_is_refused_unless_intentional(editor):
    factories.SourceFactory(key="wakefield1998", status="retracted")
    article = make_article(editor=editor, body="A retracted claim [@wakefield1998].")
    client = client_for(editor)
    refused = client.post(f"/api/v1/articles/{article.pk}/submit/", {})
    assert refused.status_code == 400
    assert refused.json()["citations"][0]["key"] == "wakefield1998"
    client.patch(
        f"/api/v1/articles/{article.pk}/",
        {"intentional_citations": {"wakefield1998": "Discussed as a retracted example."}},
        format="json",
    )
    accepted = client.post(f"/api/v1/articles/{article.pk}/submit/", {})
    assert accepted.status_code == 200
    assert accepted.json()["status"] == "submitted"


def test_history_lists_transitions_and_refusals_and_cannot_be_changed(editor, reviewer):
    article = make_article(editor=editor, reviewer=reviewer, state="submitted")
    client_for(editor).post(
        f"/api/v1/articles/{article.pk}/approve/", approval_kwargs(), format="json"
    )
    client = client_for(editor)
    history = client.get(f"/api/v1/articles/{article.pk}/history/").json()["results"]
    assert [(e["action"], e["refused"]) for e in history] == [
        ("create", False),
        ("submit", False),
        ("approve", True),
    ]
    assert set(history[0]) >= {
        "id", "action", "actor", "from_status", "to_status", "revision", "comment", "refused", "at",
    }  # fmt: skip
    assert history[1]["actor"] == "eddie"
    url = f"/api/v1/articles/{article.pk}/history/"
    assert client.delete(url).status_code == 405
    assert client.put(url, {}).status_code == 405
    with pytest.raises(TypeError):
        AuditEvent.objects.filter(article=article).delete()
    with pytest.raises(TypeError):
        AuditEvent.objects.filter(article=article).update(comment="rewritten")


def test_history_and_revisions_are_for_staff_only(api, editor, reviewer):
    article = make_article(editor=editor, reviewer=reviewer, state="approved")
    assert api.get(f"/api/v1/articles/{article.pk}/history/").status_code == 401
    reader = client_for(factories.UserFactory(username="someone"))
    assert reader.get(f"/api/v1/articles/{article.pk}/history/").status_code == 403
    revisions = client_for(editor).get(f"/api/v1/articles/{article.pk}/revisions/").json()
    assert revisions["results"][0]["number"] == 1


def test_filters_by_status_flag_and_q(editor, reviewer):
    make_article(editor=editor, title="Optic neuritis")
    approved = make_article(editor=editor, reviewer=reviewer, state="approved", title="Fatigue")
    Article.objects.filter(pk=approved.pk).update(flag_review_overdue=True)
    client = client_for(editor)
    assert client.get("/api/v1/articles/?status=approved").json()["count"] == 1
    assert client.get("/api/v1/articles/?flag=review_overdue").json()["results"][0]["flags"] == [
        "review_overdue"
    ]
    assert client.get("/api/v1/articles/?q=optic").json()["count"] == 1
    assert client.get("/api/v1/articles/?status=bogus").status_code == 400


def test_review_queue_is_for_reviewers_and_shows_what_awaits_them(editor, reviewer):
    submitted = make_article(editor=editor, reviewer=reviewer, state="submitted", title="A")
    make_article(editor=editor, title="B")
    assert client_for(editor).get("/api/v1/review-queue/").status_code == 403
    body = client_for(reviewer).get("/api/v1/review-queue/").json()
    assert [a["id"] for a in body["results"]] == [submitted.pk]


def test_managing_editor_assigns_reviewers_who_appear_in_the_representation(
    editor, reviewer, managing_editor
):
    article = make_article(editor=editor)
    forbidden = client_for(editor).post(
        f"/api/v1/articles/{article.pk}/reviewers/", {"reviewers": [reviewer.pk]}, format="json"
    )
    assert forbidden.status_code == 403
    response = client_for(managing_editor).post(
        f"/api/v1/articles/{article.pk}/reviewers/", {"reviewers": [reviewer.pk]}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["reviewers"][0]["username"] == "rita"
    not_a_reviewer = client_for(managing_editor).post(
        f"/api/v1/articles/{article.pk}/reviewers/", {"reviewers": [editor.pk]}, format="json"
    )
    assert not_a_reviewer.status_code == 400
    out_of_range = client_for(managing_editor).post(
        f"/api/v1/articles/{article.pk}/reviewers/", {"reviewers": [10**30, -5]}, format="json"
    )
    assert out_of_range.status_code == 400
    assert "reviewers" in out_of_range.json()


def test_only_managing_editors_change_review_intervals(editor, managing_editor):
    article = make_article(editor=editor)
    url = f"/api/v1/articles/{article.pk}/"
    assert (
        client_for(editor).patch(url, {"review_interval_days": 90}, format="json").status_code
        == 403
    )
    response = client_for(managing_editor).patch(url, {"review_interval_days": 90}, format="json")
    assert response.status_code == 200
    assert response.json()["review_interval_days"] == 90


@pytest.mark.parametrize("count", [1, 50])
def test_article_list_query_count_does_not_grow(count, editor, reviewer, django_assert_num_queries):
    factories.SourceFactory(key="trapp1998")
    factories.SourceFactory(key="frischer2009")
    for n in range(count):
        make_article(
            editor=editor,
            reviewer=reviewer,
            state="approved",
            title=f"Article {n}",
            body="Axons [@trapp1998; @frischer2009].",
        )
    staff, readers = APIClient(), APIClient()
    staff.force_login(editor)
    readers.force_login(factories.UserFactory(username="r"))
    # session, user, the user's groups, count, page, citations, reviewer assignments
    with django_assert_num_queries(7):
        assert staff.get("/api/v1/articles/?page_size=50").status_code == 200
    with django_assert_num_queries(7):
        assert readers.get("/api/v1/articles/").status_code == 200


@pytest.mark.parametrize("citations", [1, 40])
def test_article_detail_query_count_does_not_grow(
    citations, editor, reviewer, django_assert_num_queries
):
    keys = [factories.SourceFactory().key for _ in range(citations)]
    body = " ".join(f"Claim [@{k}]." for k in keys)
    article = make_article(editor=editor, reviewer=reviewer, state="approved", body=body)
    client = client_for(editor)
    with django_assert_num_queries(3):
        response = client.get(f"/api/v1/articles/{article.pk}/")
    assert response.status_code == 200
    assert len(response.json()["citations"]) == citations


def test_notifications_are_sent_after_commit_to_the_owner_on_approval(
    editor, reviewer, eager_celery, django_capture_on_commit_callbacks
):
    article = make_article(editor=editor, reviewer=reviewer, state="under_review")
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        client_for(reviewer).post(
            f"/api/v1/articles/{article.pk}/approve/", approval_kwargs(), format="json"
        )
    assert [m.to for m in mail.outbox] == [["eddie@example.org"]]
    assert "Approved" in mail.outbox[0].subject


def test_a_refused_approval_sends_nothing(
    editor, reviewer, eager_celery, django_capture_on_commit_callbacks
):
    article = make_article(editor=editor, reviewer=reviewer, state="submitted")
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        client_for(reviewer).post(
            f"/api/v1/articles/{article.pk}/approve/", approval_kwargs(), format="json"
        )
    assert callbacks == []
    assert mail.outbox == []


def test_a_rolled_back_transaction_sends_nothing(
    editor, reviewer, eager_celery, django_capture_on_commit_callbacks
):
    article = make_article(editor=editor, reviewer=reviewer, state="under_review")
    queued = Notification.objects.count()
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        try:
            with transaction.atomic():
                services.article_approve(article_id=article.pk, actor=reviewer, **approval_kwargs())
                raise RuntimeError("something later in the same transaction failed")
        except RuntimeError:
            pass
    assert callbacks == []
    assert mail.outbox == []
    assert Notification.objects.count() == queued
    assert Article.objects.get(pk=article.pk).status == "under_review"
