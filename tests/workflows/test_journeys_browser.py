"""The workspace journeys, in Chromium against the live server, one test each:

a. an editor imports a BibTeX file, drafts an article, uploads a figure, inserts both
   markers with the pickers, saves and submits;
b. a reviewer starts the review, sees the rendered word-level diff and asks for changes;
c. the editor sees the comment on their page, fixes the text and submits again;
d. the reviewer sees only what changed since their review and approves, signing the
   checklist and the conflict-of-interest declaration;
e. a managing editor assigns a reviewer from the pipeline and archives an article,
   confirming and giving a reason;
f. two editors edit the same article: the second save shows the conflict, merges the
   other editor's change to another line into the form and shows each side's changes.

The tests assert what the person sees (text, elements, the address), and run axe-core
on the states the page walk in test_workspace_pages_browser.py cannot reach (import
report, comment, diff, conflict, refusals), at 1280 and 390 px. Earlier steps of a
journey are set up through the services the pages call.
"""

import re

import pytest
from PIL import Image

from articles.models import Article
from tests import factories
from tests.browser import (
    DESKTOP,
    PHONE,
    WIDTHS,
    new_context,
    overflow,
    screenshot,
    serious_violations,
    sign_in,
    signed_in_context,
    watch_csp,
)
from tests.helpers import approval_kwargs, make_article
from workflows import services

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

BODY = """## Relapses

Steroids shorten a relapse but do not change the long-term course.

## Living with MS

Rest helps with fatigue.
"""

BIBTEX = """@article{montalban2017,
  author = {Montalban, Xavier and Hauser, Stephen L. and Kappos, Ludwig},
  title = {Ocrelizumab versus Placebo in Primary Progressive Multiple Sclerosis},
  journal = {New England Journal of Medicine},
  year = {2017},
  volume = {376},
  number = {3},
  pages = {209--220},
  doi = {10.1056/NEJMoa1606468}
}
"""


def _accessible(page, name: str) -> None:
    """At 1280 and 390 px: no serious or critical axe-core finding in this state, nothing
    scrolling sideways on the phone, and a screenshot of each."""
    for width, viewport in WIDTHS.items():
        page.set_viewport_size(viewport)
        assert serious_violations(page) == [], (name, width)
        if viewport is PHONE:
            assert overflow(page) is None, (name, overflow(page))
        screenshot(page, f"journey-{name}-{width}")
    page.set_viewport_size(DESKTOP)


def _rendered_diff(page):
    return page.locator(".rendered-diff")


def _review_url(live_server, article) -> str:
    return f"{live_server.url}/workspace/articles/{article.pk}/review/"


def test_a_editor_drafts_with_a_figure_and_an_imported_source_and_submits(
    browser, live_server, editor, reviewer, tmp_path
):
    bib = tmp_path / "ms-library.bib"
    bib.write_text(BIBTEX, encoding="utf-8")
    scan = tmp_path / "lesions.png"
    Image.new("RGB", (1400, 700), color=(40, 90, 160)).save(scan, format="PNG")
    context = new_context(browser)
    page = context.new_page()
    csp_errors = watch_csp(page)

    # Signing in leads back to the page asked for.
    sign_in(page, live_server, editor.username, next_path="/workspace/sources/")
    assert page.locator("h1").inner_text() == "Source library"

    # Import the BibTeX file; the report names the new source.
    page.set_input_files("#id_file", str(bib))
    page.get_by_role("button", name="Import").click()
    report = page.locator(".import-report")
    assert "1 created, 0 merged, 0 refused." in report.inner_text()
    assert report.get_by_role("link", name="montalban2017").is_visible()
    _accessible(page, "a-import-report")

    # A new draft.
    page.locator(".workspace-nav").get_by_role("link", name="New article").click()
    page.fill("#id_title", "Relapses in multiple sclerosis")
    page.fill("#id_summary", "What a relapse is and how it is treated.")
    page.fill("#id_body", BODY)
    page.get_by_role("button", name="Create draft").click()
    page.wait_for_url(re.compile(r"/workspace/articles/\d+/edit/$"))
    assert page.get_by_text("Draft “Relapses in multiple sclerosis” created.").is_visible()
    edit_url = page.url

    # Upload a figure from the editor's figure picker; back on the editor afterwards.
    page.locator(".figure-picker").get_by_role("link", name="Upload a figure").click()
    page.set_input_files("#id_file", str(scan))
    page.fill("#id_alt_text", "Two white lesions on an MRI scan")
    page.fill("#id_caption", "Axial FLAIR image")
    page.get_by_role("button", name="Upload").click()
    page.wait_for_url(edit_url)

    # Put both markers at the end of the body with the pickers.
    body = page.locator("#id_body")
    body.click()
    page.keyboard.press("Control+End")
    page.keyboard.type("\nSteroids act within days ")
    page.locator(".picker-item", has_text="montalban2017").get_by_role(
        "button", name="Insert"
    ).click()
    page.keyboard.type(".")
    page.locator(".figure-picker-item").first.get_by_role("button").click()
    text = body.input_value()
    assert "Steroids act within days [@montalban2017]." in text
    assert re.search(r"!\[Two white lesions on an MRI scan\]\(figure:\d+\)", text)

    # The preview shows the citation as a superscript, the figure and the reference.
    page.get_by_role("button", name="Preview").click()
    preview = page.locator(".preview")
    preview.wait_for()
    assert preview.locator("sup.citation").first.inner_text() == "1"
    assert preview.locator("figure img").get_attribute("alt") == "Two white lesions on an MRI scan"
    assert "Ocrelizumab versus Placebo" in preview.locator("ol.references").inner_text()
    _accessible(page, "a-editor-preview")

    page.get_by_role("button", name="Save").click()
    page.wait_for_url(edit_url)
    assert page.get_by_text("Saved. The working copy is a draft.").is_visible()

    # Submit from the editor.
    page.get_by_role("button", name="Submit for review").click()
    page.wait_for_url(re.compile(r"/workspace/articles/\d+/review/$"))
    assert page.get_by_text("The article is now Submitted").is_visible()
    assert "Submitted" in page.locator(".meta .status").first.inner_text()

    # Still on the editor's dashboard, now waiting for a reviewer.
    page.locator(".workspace-nav").get_by_role("link", name="Dashboard").click()
    waiting = page.locator("section[aria-labelledby=my-in-review]")
    assert waiting.get_by_role("link", name="Relapses in multiple sclerosis").first.is_visible()
    assert csp_errors == []
    context.close()


def test_b_reviewer_sees_the_rendered_diff_and_requests_changes(
    browser, live_server, editor, reviewer
):
    # The reviewer approved the live revision; the new one waits in their queue.
    article = make_article(
        editor=editor, reviewer=reviewer, state="approved", title="Relapses", body=BODY
    )
    changed = BODY.replace("Steroids shorten", "High-dose steroids shorten")
    services.article_edit(article_id=article.pk, actor=editor, changes={"body": changed})
    services.article_submit(article_id=article.pk, actor=editor)
    context = signed_in_context(browser, live_server, reviewer)
    page = context.new_page()

    # From the dashboard's queue to the review page.
    page.goto(f"{live_server.url}/workspace/")
    _accessible(page, "b-reviewer-dashboard")
    queue = page.locator("section[aria-labelledby=awaiting-review]")
    queue.get_by_role("link", name="Relapses").first.click()
    page.wait_for_url(_review_url(live_server, article))
    page.get_by_role("button", name="Start review").click()
    assert page.get_by_text("The article is now Under review").is_visible()

    # The diff is rendered as readers will see it, with the changed words marked.
    heading = "Changes since your last review (revision 1)"  # what they approved, live now
    assert page.get_by_role("heading", name=heading).is_visible()
    diff = _rendered_diff(page)
    assert diff.locator("h2", has_text="Relapses").is_visible()  # a heading, not "## ..."
    assert diff.locator("ins").first.inner_text().startswith("High-dose")
    assert "Steroids" in diff.locator("del").first.inner_text()
    assert diff.locator("ins", has_text="Rest helps").count() == 0  # unchanged text unmarked
    assert "##" not in diff.inner_text()
    # The rendered preview and the live page are linked; the Markdown diff is one click away.
    assert page.get_by_role("link", name="Rendered preview of the proposed revision").is_visible()
    assert page.get_by_role("link", name="Live page").is_visible()
    markdown = page.locator("details.markdown-diff")
    assert not markdown.locator("table.diff").first.is_visible()
    markdown.locator("summary").click()
    assert "## Relapses" in markdown.locator("table.diff").first.inner_text()
    _accessible(page, "b-review-diff")

    # Approve, ask for changes and archive do not look alike.
    approve = page.get_by_role("button", name=re.compile("^Approve revision"))
    changes = page.get_by_role("button", name="Request changes")
    assert approve.evaluate("b => getComputedStyle(b).backgroundColor") != changes.evaluate(
        "b => getComputedStyle(b).backgroundColor"
    )

    # Asking for changes without saying what is refused, at the top of the page.
    changes.click()
    summary = page.locator(".error-summary")
    assert summary.is_visible()
    assert page.evaluate("document.activeElement.classList.contains('error-summary')")
    _accessible(page, "b-request-changes-refused")

    page.get_by_label("What needs to change (required)").fill("Give the steroid dose in mg.")
    page.get_by_role("button", name="Request changes").click()
    page.wait_for_url(_review_url(live_server, article))
    assert page.get_by_text("The article is now Changes requested").is_visible()
    assert "Give the steroid dose in mg." in page.locator("ol.history").inner_text()
    context.close()


def test_c_editor_sees_the_comment_fixes_and_resubmits(browser, live_server, editor, reviewer):
    article = services.article_create(actor=editor, title="Relapses", body=BODY)
    services.article_submit(article_id=article.pk, actor=editor)
    services.article_start_review(article_id=article.pk, actor=reviewer)
    services.article_request_changes(
        article_id=article.pk, actor=reviewer, comment="Give the steroid dose in mg."
    )
    context = signed_in_context(browser, live_server, editor)
    page = context.new_page()

    # The dashboard lists it under "Changes requested", with an Edit link.
    page.goto(f"{live_server.url}/workspace/")
    _accessible(page, "c-editor-dashboard")
    returned = page.locator("section[aria-labelledby=changes-requested]")
    returned.get_by_role("link", name="Edit").click()
    page.wait_for_url(f"**/workspace/articles/{article.pk}/edit/")

    # The reviewer's comment is on the editor's page, with who asked.
    request = page.locator("section.requested-changes")
    assert "Changes requested by Dr Rita" in request.locator("h2").inner_text()
    assert request.locator("blockquote").inner_text() == "Give the steroid dose in mg."
    _accessible(page, "c-editor-with-comment")

    body = page.locator("#id_body")
    body.fill(BODY.replace("Steroids shorten", "Steroids (methylprednisolone 1 g a day) shorten"))
    page.get_by_role("button", name="Save").click()
    assert page.get_by_text("Saved. The working copy is a draft.").is_visible()
    # Still shown until the article is submitted again.
    assert page.locator("section.requested-changes blockquote").is_visible()

    page.get_by_role("button", name="Submit for review").click()
    page.wait_for_url(f"**/workspace/articles/{article.pk}/review/")
    assert page.get_by_text("The article is now Submitted").is_visible()

    # Submitted: the editor is told why there is no form, and the comment is gone.
    page.goto(f"{live_server.url}/workspace/articles/{article.pk}/edit/")
    assert "cannot be edited until a reviewer decides" in page.locator(".notice").inner_text()
    assert page.locator("#id_body").count() == 0
    assert page.locator("section.requested-changes").count() == 0
    assert page.get_by_role("button", name="Withdraw submission").is_visible()
    _accessible(page, "c-editor-locked-after-submit")
    context.close()


def test_d_reviewer_sees_only_the_changes_since_their_review_and_approves(
    browser, live_server, editor, reviewer, second_reviewer
):
    factories.default_checklist()
    article = make_article(
        editor=editor, reviewer=second_reviewer, state="approved", title="Relapses", body=BODY
    )
    # Revision 2: the change the reviewer already saw and asked about.
    second = BODY.replace("Steroids shorten", "High-dose steroids shorten")
    services.article_edit(article_id=article.pk, actor=editor, changes={"body": second})
    services.article_submit(article_id=article.pk, actor=editor)
    services.article_start_review(article_id=article.pk, actor=reviewer)
    services.article_request_changes(
        article_id=article.pk, actor=reviewer, comment="Say how rest helps."
    )
    # Revision 3: the fix.
    third = second.replace("Rest helps with fatigue.", "Rest and cooling help with fatigue.")
    services.article_edit(article_id=article.pk, actor=editor, changes={"body": third})
    services.article_submit(article_id=article.pk, actor=editor)
    context = signed_in_context(browser, live_server, reviewer)
    page = context.new_page()

    page.goto(_review_url(live_server, article))
    # By default: only what changed since this reviewer's request (revision 2 -> 3).
    heading = "Changes since your last review (revision 2)"
    assert page.get_by_role("heading", name=heading).is_visible()
    diff = _rendered_diff(page)
    assert "cooling" in " ".join(diff.locator("ins").all_inner_texts())
    marked = " ".join(diff.locator("ins").all_inner_texts() + diff.locator("del").all_inner_texts())
    assert "High-dose" not in marked  # already reviewed: shown, not marked
    assert "High-dose steroids shorten" in diff.inner_text()
    _accessible(page, "d-since-my-review")

    # Against the live revision, both changes are marked; and back.
    page.get_by_role("link", name="Compare with the live revision instead").click()
    assert page.get_by_role("heading", name="Changes from the live revision").is_visible()
    assert "High-dose" in " ".join(_rendered_diff(page).locator("ins").all_inner_texts())
    page.get_by_role("link", name="Show only the changes since your last review").click()
    assert page.get_by_role("heading", name=heading).is_visible()

    page.get_by_role("button", name="Start review").click()
    assert page.get_by_text("The article is now Under review").is_visible()
    assert page.get_by_role("heading", name=heading).is_visible()

    # Approve, signing every checklist item and declaring no conflict of interest.
    form = page.locator("form.approve-form")
    boxes = form.locator("fieldset", has_text="Reviewer's checklist").locator(
        "input[type=checkbox]"
    )
    assert boxes.count() == len(approval_kwargs()["checklist"])
    for box in boxes.all():
        box.check()
    form.get_by_label("I have no conflict of interest to declare").check()
    _accessible(page, "d-approve-form-filled")
    form.get_by_role("button", name="Approve revision 3").click()
    page.wait_for_url(_review_url(live_server, article))
    assert page.get_by_text("The article is now Approved").is_visible()

    # Readers now get revision 3.
    reader = browser.new_context()
    live = reader.new_page()
    live.goto(f"{live_server.url}{Article.objects.get(pk=article.pk).get_absolute_url()}")
    assert "Rest and cooling help with fatigue." in live.locator("main").inner_text()
    assert live.locator(".review-record").get_by_text("Dr Rita").first.is_visible()
    reader.close()
    context.close()


def test_e_managing_editor_assigns_a_reviewer_and_archives_with_a_reason(
    browser, live_server, editor, reviewer, second_reviewer, managing_editor
):
    waiting = make_article(editor=editor, state="submitted", title="Spasticity")
    live = make_article(editor=editor, reviewer=reviewer, state="approved", title="Old advice")
    context = signed_in_context(browser, live_server, managing_editor)
    page = context.new_page()

    # The pipeline lists the submitted article; assign Dr Ravi to it.
    page.goto(f"{live_server.url}/workspace/")
    page.locator(".workspace-nav").get_by_role("link", name="Pipeline").click()
    submitted = page.locator("section[aria-labelledby=stage-submitted]")
    row = submitted.locator("tr", has_text="Spasticity")
    row.get_by_label("Reviewers of Spasticity").select_option(label="Dr Ravi")
    row.get_by_role("button", name="Assign").click()
    page.wait_for_url("**/workspace/pipeline/")
    assert page.get_by_text("Reviewers of “Spasticity”: ravi.").is_visible()
    chosen = page.locator(f"#assign-{waiting.pk} option:checked").all_inner_texts()
    assert chosen == ["Dr Ravi"]
    _accessible(page, "e-pipeline-assigned")

    # Archive the live article from its review page.
    page.goto(f"{live_server.url}/workspace/articles/")
    page.get_by_role("link", name="Old advice").first.click()
    page.wait_for_url(_review_url(live_server, live))
    archive = page.locator("form.archive-form")
    reason = archive.get_by_label("Reason for archiving")
    confirm = archive.get_by_label(re.compile("I understand readers will no longer see"))
    # Without the reason and the confirmation the browser does not send the form.
    archive.get_by_role("button", name="Archive this article").click()
    assert reason.evaluate("field => field.validity.valueMissing")
    assert confirm.evaluate("box => box.validity.valueMissing")
    assert page.url == _review_url(live_server, live)
    assert Article.objects.get(pk=live.pk).status == "approved"
    _accessible(page, "e-archive-form")

    reason.fill("Superseded by the 2025 guideline.")
    confirm.check()
    archive.get_by_role("button", name="Archive this article").click()
    page.wait_for_url(_review_url(live_server, live))
    assert page.get_by_text("The article is now Archived").is_visible()
    assert "Superseded by the 2025 guideline." in page.locator("ol.history").inner_text()
    # Restoring is offered, with what it means.
    assert "returns the article to draft" in page.locator(".decisions").inner_text()

    reader = browser.new_context()
    gone = reader.new_page()
    response = gone.goto(f"{live_server.url}{live.get_absolute_url()}")
    assert response.status == 404
    reader.close()
    context.close()


def test_f_an_edit_conflict_merges_their_change_and_shows_each_sides(browser, live_server, editor):
    other = factories.editor(username="edna")
    article = services.article_create(actor=editor, title="Relapses", body=BODY)
    url = f"{live_server.url}/workspace/articles/{article.pk}/edit/"
    mine_context = signed_in_context(browser, live_server, editor)
    theirs_context = signed_in_context(browser, live_server, other)
    mine = mine_context.new_page()
    theirs = theirs_context.new_page()
    mine.goto(url)
    theirs.goto(url)

    # The other editor saves first.
    theirs.locator("#id_body").fill(BODY.replace("Rest helps", "Regular rest helps"))
    theirs.get_by_role("button", name="Save").click()
    assert theirs.get_by_text("Saved. The working copy is a draft.").is_visible()

    # My save, from the page I loaded before theirs, shows the conflict.
    my_text = BODY.replace("Steroids shorten", "Intravenous steroids shorten")
    mine.locator("#id_body").fill(my_text)
    mine.get_by_role("button", name="Save").click()
    conflict = mine.locator("section.edit-conflict")
    assert conflict.get_by_role(
        "heading", name="Someone else saved this article while you were editing"
    ).is_visible()
    assert "edna saved revision 2" in conflict.inner_text()
    assert "after you opened revision 1" in conflict.inner_text()
    # We changed different lines: the form now holds both changes, nothing saved yet.
    assert "Their changes and yours touch different lines" in conflict.inner_text()
    both = my_text.replace("Rest helps", "Regular rest helps")
    assert mine.locator("#id_body").input_value().replace("\r\n", "\n").strip() == both.strip()
    tables = conflict.locator("table.diff")
    assert "Regular rest helps" in " ".join(tables.nth(0).locator("ins").all_inner_texts())
    assert "Intravenous steroids" in " ".join(tables.nth(1).locator("ins").all_inner_texts())
    assert "Intravenous" not in Article.objects.get(pk=article.pk).latest_revision.body
    _accessible(mine, "f-edit-conflict")

    # Reading it through and saving keeps both, on purpose.
    mine.get_by_role("button", name="Save").click()
    assert mine.get_by_text("Saved. The working copy is a draft.").is_visible()
    assert mine.locator("section.edit-conflict").count() == 0
    body = Article.objects.get(pk=article.pk).latest_revision.body
    assert "Intravenous steroids" in body and "Regular rest helps" in body
    mine_context.close()
    theirs_context.close()
