"""In a real browser: a managing editor verifies a reviewer's credentials, the reviewer
approves with the checklist and a conflict-of-interest declaration, and the reader's
page shows the declaration. Debian's Chromium through Playwright, with the harness in
tests/browser.py."""

import pytest

from articles.models import ReviewerProfile
from tests import factories
from tests.browser import new_context, serious_violations, sign_in, watch_csp
from tests.helpers import make_article
from workflows import services

# Not serialized_rollback: this runs after other transactional tests have flushed the
# database (and post_migrate re-created the content types); the rows it needs (groups,
# the checklist) it makes itself, as the concurrency tests do.
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _signed_in(browser, live_server, username):
    context = new_context(browser)
    page = context.new_page()
    sign_in(page, live_server, username)
    return context, page


def test_verify_then_approve_with_checklist_and_coi_then_the_reader_sees_it(
    browser,
    live_server,
):
    factories.default_checklist()
    editor = factories.editor(username="eddie")
    starter = factories.reviewer(username="starter")
    newdoc = factories.reviewer(username="newdoc", verified=False)
    factories.managing_editor(username="mona")
    article = make_article(editor=editor, reviewer=starter, state="submitted", title="MS fatigue")
    services.article_start_review(article_id=article.pk, actor=newdoc)

    # The managing editor verifies the new reviewer's credentials.
    context, page = _signed_in(browser, live_server, "mona")
    page.goto(f"{live_server.url}/workspace/reviewers/")
    row = page.locator(f"#reviewer-{newdoc.pk}")
    assert "Not verified" in row.inner_text()
    assert serious_violations(page) == []
    row.get_by_role("link", name="Edit or verify").click()
    page.fill("input[name=registration_number]", "7000123")
    page.fill("input[name=credentials_expire_on]", "2030-06-30")
    page.check("input[name=verify]")
    page.get_by_role("button", name="Save").click()
    page.wait_for_url("**/workspace/reviewers/")
    assert "Yes" in page.locator(f"#reviewer-{newdoc.pk}").inner_text()
    context.close()
    assert ReviewerProfile.objects.get(user=newdoc).credentials_verified_at is not None

    # The reviewer approves with the checklist and a declared conflict.
    context, page = _signed_in(browser, live_server, "newdoc")
    page.goto(f"{live_server.url}/workspace/articles/{article.pk}/review/")
    form = page.locator("form.approve-form")
    for box in form.locator("input[type=checkbox]").all():
        box.check()
    form.get_by_label("I declare:").check()
    form.locator("textarea[name=conflict_statement]").fill("I have received speaker fees.")
    assert serious_violations(page) == []
    form.get_by_role("button", name="Approve revision 1").click()
    page.wait_for_url(f"**/workspace/articles/{article.pk}/review/")
    assert page.get_by_text("The article is now Approved").is_visible()
    # The printable evidence pack records the declaration, under the strict CSP.
    csp_errors = watch_csp(page)
    page.get_by_role("link", name="Evidence pack").click()
    page.wait_for_url(f"**/workspace/articles/{article.pk}/evidence-pack/")
    assert "I have received speaker fees." in page.locator(".coi").first.inner_text()
    assert serious_violations(page) == []
    page.emulate_media(media="print")
    assert page.locator(".site-header").is_hidden()
    assert csp_errors == []
    context.close()

    # A reader sees the declaration in the review record.
    reader = browser.new_context()
    page = reader.new_page()
    page.goto(f"{live_server.url}{article.get_absolute_url()}")
    record = page.locator("section.review-record")
    assert "Dr Newdoc: I have received speaker fees." in record.inner_text()
    reader.close()
