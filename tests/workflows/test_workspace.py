"""Workspace pages: access, the review page's forms, the editor, the source library."""

import html
import json
import re

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
    # Session, user, groups, one query per list (seven lists, the changed variants
    # among them), at most 2 for the affected claims of the retraction alerts (whatever
    # their number), and the credentials expiring within 30 days.
    with django_assert_max_num_queries(13):
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
    # re-certify form, and the reviewer's profile (only verified reviewers see it); one
    # for the revision this reviewer last decided on ("since my last review"), and one
    # for four-eyes on the action offered (re-certify: did this reviewer write it?).
    with django_assert_max_num_queries(10):
        assert client.get(reverse("workflows:article-review", args=[article.pk])).status_code == 200
    with django_assert_max_num_queries(5):
        assert client.get(reverse("workflows:article-list")).status_code == 200


def test_dashboards_speak_in_words_and_offer_only_permitted_edits(
    logged_in, editor, reviewer, article_in
):
    article = article_in("approved", editor=editor, reviewer=reviewer)
    Article.objects.filter(pk=article.pk).update(flag_review_overdue=True)
    submitted = article_in("submitted", editor=editor, reviewer=reviewer, title="In the queue")
    as_reviewer = logged_in(reviewer).get(reverse("workflows:dashboard")).content.decode()
    assert "Review overdue" in as_reviewer
    assert ">review_overdue<" not in as_reviewer
    # A reviewer is offered no editor, and nobody is offered one for a submitted article.
    assert reverse("workflows:article-edit", args=[article.pk]) not in as_reviewer
    as_editor = logged_in(editor).get(reverse("workflows:article-list")).content.decode()
    assert reverse("workflows:article-edit", args=[article.pk]) in as_editor
    assert reverse("workflows:article-edit", args=[submitted.pk]) not in as_editor


def test_a_submitted_article_stays_on_its_editors_dashboard(
    logged_in, editor, reviewer, article_in
):
    article_in("submitted", editor=editor, reviewer=reviewer, title="Waiting for Rita")
    article_in("under_review", editor=editor, reviewer=reviewer, title="Being read")
    page = logged_in(editor).get(reverse("workflows:dashboard")).content.decode()
    section = page.split('id="my-in-review"', 1)[1].split("</section>", 1)[0]
    assert "Waiting for Rita" in section and "Being read" in section


def test_the_source_page_says_who_may_change_a_status_and_that_the_note_is_public(
    logged_in, managing_editor, reviewer
):
    source = factories.SourceFactory(key="trapp1998")
    url = reverse("workflows:source-detail", args=[source.pk])
    managing = logged_in(managing_editor).get(url).content.decode()
    assert "Only medical reviewers" in managing
    assert reverse("workflows:source-status", args=[source.pk]) not in managing
    as_reviewer = logged_in(reviewer).get(url).content.decode()
    assert reverse("workflows:source-status", args=[source.pk]) in as_reviewer
    assert "Shown to readers next to the reference" in as_reviewer


def test_no_two_navigation_links_share_a_name_but_not_a_place(logged_in, editor):
    page = logged_in(editor).get(reverse("workflows:dashboard")).content.decode()
    links = re.findall(r'<a href="([^"]+)">([^<]+)</a>', page.split("</nav>", 2)[0] + page)
    places: dict[str, set[str]] = {}
    for href, text in links:
        places.setdefault(text.strip(), set()).add(href)
    assert {text: hrefs for text, hrefs in places.items() if len(hrefs) > 1} == {}


def test_a_success_message_appears_once(logged_in, editor):
    client = logged_in(editor)
    response = client.post(
        reverse("workflows:article-create"),
        {"title": "Optic neuritis", "body": "Text.", "audience": "general", "save": "1"},
        follow=True,
    )
    assert response.status_code == 200
    assert response.content.decode().count("Draft “Optic neuritis” created.") == 1


def test_an_edit_conflict_keeps_my_text_shows_theirs_and_lets_me_save_on_purpose(logged_in, editor):
    other = factories.editor(username="other")
    article = services.article_create(actor=editor, title="Fatigue", body="Line one.\nShared.")
    loaded = Article.objects.get(pk=article.pk).etag
    services.article_edit(
        article_id=article.pk, actor=other, changes={"body": "Line one.\nTheir addition."}
    )
    client = logged_in(editor)
    url = reverse("workflows:article-edit", args=[article.pk])
    mine = {"title": "Fatigue", "body": "Line one.\nMy addition.", "audience": "general"}
    response = client.post(url, {**mine, "etag": loaded, "save": "1"})
    page = response.content.decode()
    assert response.status_code == 412
    assert "Someone else saved this article" in page
    assert "My addition." in page  # my text, back in the form
    assert "<ins>Their addition.</ins>" in page  # what they changed
    assert Article.objects.get(pk=article.pk).latest_revision.body.endswith("Their addition.")
    # Submit would send their saved copy, not the text in my form: not offered until I save.
    assert "Submit for review" not in page
    assert "Save (or discard) your text first" in page
    # The form now carries the current version: saving again is a deliberate overwrite.
    current = Article.objects.get(pk=article.pk).etag
    assert f'value="{html.escape(current)}"' in page
    again = client.post(url, {**mine, "etag": current, "save": "1"})
    assert again.status_code == 302
    assert Article.objects.get(pk=article.pk).latest_revision.body.endswith("My addition.")


def test_an_edit_conflict_on_different_lines_merges_both_into_the_form(logged_in, editor):
    """With the revision the editor loaded, the conflict is merged three ways: their change
    to another line comes into my form (nothing saved), and a title only they changed."""
    other = factories.editor(username="other")
    base = "## Relapses\n\nSteroids shorten a relapse.\n\n## Fatigue\n\nRest helps.\n"
    article = services.article_create(actor=editor, title="Fatigue", body=base)
    client = logged_in(editor)
    url = reverse("workflows:article-edit", args=[article.pk])
    loaded = client.get(url).content.decode()
    assert 'name="base_revision" value="1"' in loaded
    etag = Article.objects.get(pk=article.pk).etag
    theirs = base.replace("Rest helps.", "Regular rest helps.")
    services.article_edit(
        article_id=article.pk,
        actor=other,
        changes={"body": theirs, "title": "Fatigue in MS", "summary": "Rest and steroids."},
    )
    mine = base.replace("Steroids shorten", "Intravenous steroids shorten").replace("\n", "\r\n")
    post = {"title": "Fatigue", "body": mine, "audience": "general", "save": "1"}
    response = client.post(url, {**post, "etag": etag, "base_revision": "1"})
    assert response.status_code == 412
    page = response.content.decode()
    assert "after you opened revision 1" in page
    assert "Their changes and yours touch different lines" in page
    both = base.replace("Steroids shorten", "Intravenous steroids shorten").replace(
        "Rest helps.", "Regular rest helps."
    )
    form = response.context["form"]
    assert form["body"].value().rstrip() == both.rstrip()
    assert form["title"].value() == "Fatigue in MS"
    assert form["summary"].value() == "Rest and steroids."
    assert "Their new title, summary are in the form: you had not changed them." in page
    assert form["base_revision"].value() == "2"
    assert "<ins>Regular rest helps.</ins>" in page  # their change
    assert "<ins>Intravenous steroids shorten a relapse.</ins>" in page  # mine
    # Nothing was saved; saving the merged form keeps both changes.
    assert Article.objects.get(pk=article.pk).latest_revision.body == theirs.rstrip()
    again = client.post(url, form.data)
    assert again.status_code == 302
    saved = Article.objects.get(pk=article.pk).latest_revision
    assert (saved.number, saved.body.rstrip(), saved.title) == (3, both.rstrip(), "Fatigue in MS")
    assert saved.summary == "Rest and steroids."


def _save_from(client, article, etag: str, base_revision: str, *, title: str, body: str):
    """The editor's Save of a form loaded at ``etag`` from revision ``base_revision``."""
    return client.post(
        reverse("workflows:article-edit", args=[article.pk]),
        {
            "title": title,
            "body": body,
            "audience": "general",
            "etag": etag,
            "base_revision": base_revision,
            "save": "1",
        },
    )


def test_an_edit_conflict_on_the_same_line_keeps_mine_there_and_counts_it(logged_in, editor):
    other = factories.editor(username="other")
    base = "Steroids shorten a relapse.\n\nRest helps.\n"
    article = services.article_create(actor=editor, title="Fatigue", body=base)
    etag = Article.objects.get(pk=article.pk).etag
    services.article_edit(
        article_id=article.pk,
        actor=other,
        changes={"body": "Oral steroids shorten a relapse.\n\nRest helps a lot.\n"},
    )
    response = _save_from(
        logged_in(editor),
        article,
        etag,
        "1",
        title="Fatigue in MS",
        body="Steroids shorten a relapse.\n\nRest helps a little.\n",
    )
    assert response.status_code == 412
    page = response.content.decode()
    assert "You both changed the same lines in 1 place: there the form keeps your text." in page
    assert "Their changes to other lines are merged into the form." in page
    form = response.context["form"]
    body = form["body"].value().rstrip()
    assert body == "Oral steroids shorten a relapse.\n\nRest helps a little."
    assert form["title"].value() == "Fatigue in MS"  # only I changed it
    assert "<ins>Rest helps a lot.</ins>" in page  # their version of the line we both changed


@pytest.mark.parametrize("base_revision", ["abc", "-1", "99", "1" * 40, ""])
def test_an_unusable_base_revision_falls_back_to_comparing_the_two_texts(
    logged_in, editor, base_revision
):
    """The hidden field is nobody's to correct: a hand-edited or unknown one is no error,
    only no merge (the two-way comparison), and never a 500."""
    other = factories.editor(username="other")
    article = services.article_create(actor=editor, title="Fatigue", body="One.\n\nTwo.")
    etag = Article.objects.get(pk=article.pk).etag
    services.article_edit(article_id=article.pk, actor=other, changes={"body": "One.\n\nThree."})
    response = _save_from(
        logged_in(editor), article, etag, base_revision, title="Fatigue", body="Zero.\n\nTwo."
    )
    assert response.status_code == 412
    page = response.content.decode()
    assert "Their body compared with yours" in page
    assert response.context["form"]["body"].value() == "Zero.\n\nTwo."


def test_the_editor_page_shows_the_reviewers_request_until_resubmission(
    logged_in, editor, reviewer, article_in
):
    article = article_in("changes_requested", editor=editor, reviewer=reviewer)
    client = logged_in(editor)
    url = reverse("workflows:article-edit", args=[article.pk])
    page = client.get(url).content.decode()
    assert "Changes requested by Dr Rita" in page
    assert "Please cite the trial." in page
    services.article_edit(article_id=article.pk, actor=editor, changes={"body": "Cited now."})
    assert "Please cite the trial." in client.get(url).content.decode()  # still a draft
    services.article_submit(article_id=article.pk, actor=editor)
    assert "Please cite the trial." not in client.get(url).content.decode()


def test_a_refused_submit_is_summarised_at_the_top_with_a_link_to_the_line(logged_in, editor):
    article = services.article_create(
        actor=editor, title="Fatigue", body="Intro.\n\nClaim [@nosuchkey] here."
    )
    response = logged_in(editor).post(
        reverse("workflows:article-action", args=[article.pk, "submit"]), {"comment": ""}
    )
    page = response.content.decode()
    assert response.status_code == 400
    summary = page.split('class="error-summary"', 1)[1].split("</div>", 1)[0]
    assert page.index('class="error-summary"') < page.index("<h1>")  # before the content
    assert "data-focus-on-load" in page
    edit = reverse("workflows:article-edit", args=[article.pk])
    assert f'href="{edit}?line=3#id_body"' in summary
    assert "line 3, column 7" in summary
    assert "intentional_citations" not in page.split("<h1>", 1)[0]


def test_a_large_import_from_the_workspace_shows_a_progress_bar_until_done(
    logged_in, editor, monkeypatch
):
    from citations import services as citation_services
    from citations.models import ImportJob

    monkeypatch.setattr(citation_services, "IMPORT_BACKGROUND_BYTES", 100)
    data = b"\n".join(
        b"@article{w%d, title={Workspace job %d}, author={Doe, J}, year={2020}}" % (i, i)
        for i in range(5)
    )
    upload = SimpleUploadedFile("big.bib", data, content_type="application/x-bibtex")
    response = logged_in(editor).post(reverse("workflows:source-import"), {"file": upload})
    job = ImportJob.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("workflows:import-job", args=[job.pk])
    page = logged_in(editor).get(response["Location"])
    html = page.content.decode()
    assert page.status_code == 200
    assert '<progress id="import-progress-bar" value="0" max="5">' in html
    # workspace.js re-reads the page while this is there (a meta refresh would reload
    # it under a screen reader's feet, which axe-core rightly reports as critical).
    assert 'data-poll-seconds="2"' in html and "http-equiv" not in html
    # No inline script (the CSP forbids it): only script files.
    assert not re.search(r"<script(?![^>]*\bsrc=)", html)
    citation_services.import_job_run(job_id=job.pk)
    done = logged_in(editor).get(response["Location"]).content.decode()
    assert '<progress id="import-progress-bar" value="5" max="5">' in done
    assert "data-poll-seconds" not in done
    assert "5 created, 0 merged, 0 refused." in done


def test_another_editors_import_page_is_404(logged_in, editor):
    from citations import services as citation_services

    job = citation_services.import_job_create(
        actor=editor, data=b"@article{a, title={T}}", filename="a.bib"
    )
    other = factories.editor(username="someone-else")
    response = logged_in(other).get(reverse("workflows:import-job", args=[job.pk]))
    assert response.status_code == 404


def test_archive_asks_for_a_reason_and_a_confirmation_and_restore_explains(
    logged_in, editor, reviewer, managing_editor, article_in, client
):
    article = article_in("approved", editor=editor, reviewer=reviewer)
    staff = logged_in(managing_editor)
    review = staff.get(reverse("workflows:article-review", args=[article.pk])).content.decode()
    assert 'class="danger">Archive this article' in review
    assert 'class="primary approve"' not in review  # a managing editor signs nothing here
    url = reverse("workflows:article-action", args=[article.pk, "archive"])
    refused = staff.post(url, {"comment": ""})
    assert refused.status_code == 400
    assert Article.objects.get(pk=article.pk).status == "approved"
    done = staff.post(url, {"comment": "Superseded by the 2026 guideline.", "confirm": "on"})
    assert done.status_code == 302
    assert Article.objects.get(pk=article.pk).status == "archived"
    event = AuditEvent.objects.filter(article=article, action="archive").latest("id")
    assert event.comment == "Superseded by the 2026 guideline."
    review = staff.get(reverse("workflows:article-review", args=[article.pk])).content.decode()
    assert "Restoring returns the article to <strong>draft</strong>" in review
    staff.post(reverse("workflows:article-action", args=[article.pk, "restore"]), {"comment": ""})
    client.logout()
    reader = client.get(article.get_absolute_url())
    assert reader.status_code == 404
    assert "will return only after a new review and approval" in reader.content.decode()


def test_the_review_diff_is_rendered_and_defaults_to_changes_since_my_last_review(
    logged_in, editor, reviewer
):
    body = "## Relapses\n\nSteroids shorten a relapse.\n\nRest helps."
    article = services.article_create(actor=editor, title="Relapses", body=body)
    services.article_submit(article_id=article.pk, actor=editor)
    services.article_start_review(article_id=article.pk, actor=reviewer)
    services.article_request_changes(article_id=article.pk, actor=reviewer, comment="Dose?")
    changed = body.replace("Steroids shorten", "High-dose steroids shorten")
    services.article_edit(article_id=article.pk, actor=editor, changes={"body": changed})
    services.article_submit(article_id=article.pk, actor=editor)
    client = logged_in(reviewer)
    url = reverse("workflows:article-review", args=[article.pk])
    page = client.get(url).content.decode()
    diff = page.split('class="rendered-diff', 1)[1].split("</div>\n", 1)[0]
    assert "Changes since your last review (revision 1)" in page
    assert "<ins>High-dose steroids</ins>" in diff and "<del>Steroids</del>" in diff
    assert "<h2" in diff  # rendered as readers see it, not Markdown
    assert "Rest helps." in diff and "<ins>Rest" not in diff  # unchanged text is not marked
    assert "<summary>Markdown diff" in page
    assert reverse("articles:preview", args=[article.pk]) in page
    against_live = client.get(url, {"against": "live"}).content.decode()
    assert "Proposed content (nothing is live yet)" in against_live


def test_editors_submit_from_the_editor_and_get_no_form_they_could_not_save(
    logged_in, editor, reviewer, article_in
):
    article = article_in("draft", editor=editor, reviewer=reviewer)
    client = logged_in(editor)
    url = reverse("workflows:article-edit", args=[article.pk])
    page = client.get(url).content.decode()
    submit = reverse("workflows:article-action", args=[article.pk, "submit"])
    assert f'action="{submit}"' in page
    assert client.post(submit, {"comment": ""}).status_code == 302
    locked = client.get(url)
    assert locked.status_code == 200
    text = locked.content.decode()
    assert 'name="body"' not in text  # no form that saving would refuse
    assert "cannot be edited until a reviewer decides" in text
    withdraw = reverse("workflows:article-action", args=[article.pk, "withdraw"])
    assert f'action="{withdraw}"' in text
    reviewer_view = logged_in(reviewer).get(url).content.decode()
    assert 'name="body"' not in reviewer_view


def test_authors_are_not_offered_review_actions_on_their_own_revision(logged_in, reviewer):
    author = factories.reviewer(username="writer")
    author.groups.add(*factories.editor(username="helper").groups.all())
    article = services.article_create(actor=author, title="Own work", body="Text.")
    services.article_submit(article_id=article.pk, actor=author)
    page = logged_in(author).get(reverse("workflows:article-review", args=[article.pk]))
    assert reverse("workflows:article-action", args=[article.pk, "start-review"]) not in (
        page.content.decode()
    )
    other = logged_in(reviewer).get(reverse("workflows:article-review", args=[article.pk]))
    assert reverse("workflows:article-action", args=[article.pk, "start-review"]) in (
        other.content.decode()
    )


def test_managing_editors_see_the_pipeline_and_assign_reviewers(
    logged_in,
    editor,
    reviewer,
    second_reviewer,
    managing_editor,
    article_in,
    django_assert_max_num_queries,
):
    waiting = article_in("submitted", editor=editor, reviewer=reviewer, title="Waiting")
    article_in("under_review", editor=editor, reviewer=reviewer, title="Being read")
    client = logged_in(managing_editor)
    with django_assert_max_num_queries(12):
        page = client.get(reverse("workflows:pipeline"))
    assert page.status_code == 200
    html_text = page.content.decode()
    assert "Submitted (1)" in html_text and "In review (1)" in html_text
    assign = reverse("workflows:article-assign", args=[waiting.pk])
    assert f'action="{assign}"' in html_text
    done = client.post(assign, {"reviewers": [str(second_reviewer.pk)]})
    assert done.status_code == 302
    assert list(waiting.review_assignments.values_list("reviewer__username", flat=True)) == ["ravi"]
    assert logged_in(editor).get(reverse("workflows:pipeline")).status_code == 403


def test_the_notification_list_mirrors_the_emails_with_read_and_unread(
    logged_in, editor, reviewer, article_in
):
    article_in("changes_requested", editor=editor, reviewer=reviewer)
    client = logged_in(editor)
    page = client.get(reverse("workflows:notifications")).content.decode()
    assert 'class="badge">New</span>' in page
    assert "Please cite the trial." in page  # the request-changes mail, in the workspace
    assert client.post(reverse("workflows:notifications")).status_code == 302
    again = client.get(reverse("workflows:notifications")).content.decode()
    assert 'class="badge">New</span>' not in again
    other = logged_in(reviewer).get(reverse("workflows:notifications")).content.decode()
    assert "Please cite the trial." not in other  # each sees their own


def test_the_preview_warns_about_a_retracted_citation_before_submit_refuses_it(logged_in, editor):
    retracted = factories.SourceFactory(key="wakefield1998", status=Source.Status.RETRACTED)
    article = services.article_create(actor=editor, title="Vaccines", body="Text.")
    client = logged_in(editor)
    url = reverse("workflows:article-edit", args=[article.pk])
    form = {
        "title": "Vaccines",
        "body": f"An old claim [@{retracted.key}].",
        "audience": "general",
        "etag": Article.objects.get(pk=article.pk).etag,
        "preview": "1",
    }
    page = client.post(url, form).content.decode()
    assert "rely on a source that was retracted or withdrawn" in page
    assert "<code>wakefield1998</code> — Retracted" in page
    kept = client.post(url, {**form, "intentional_citations": "wakefield1998: Cited as retracted."})
    assert "rely on a source that was retracted" not in kept.content.decode()
