"""In a real browser: an editor uploads a figure from the editor, inserts it with the
picker, previews it; the staff preview and the reader page show it under the strict CSP,
and axe-core finds no serious or critical problem on those pages.

Uses the harness in tests/browser.py (Debian's Chromium, axe-core).
"""

import pytest
from PIL import Image

from articles.models import Article, Figure
from tests.browser import PASSWORD, PHONE, new_context, screenshot, serious_violations, watch_csp
from tests.helpers import approval_kwargs, make_article
from workflows import services

pytestmark = [
    pytest.mark.browser,
    # Like test_worker.py: no serialized rollback (it clashes with the content types a
    # flush by an earlier transactional test re-creates); the factories re-make groups.
    pytest.mark.django_db(transaction=True),
]


def _png(tmp_path):
    path = tmp_path / "lesions.png"
    Image.new("RGB", (1400, 700), color=(40, 90, 160)).save(path, format="PNG")
    return path


def _loaded(page, selector: str) -> bool:
    """Scroll the (lazy) image into view and wait until it has decoded, or time out."""
    page.locator(selector).first.scroll_into_view_if_needed()
    page.wait_for_function(
        "s => { const i = document.querySelector(s); "
        "return i && i.complete && i.naturalWidth > 0 }",
        arg=selector,
    )
    return True


def test_editor_uploads_inserts_and_previews_a_figure(
    browser,
    live_server,
    editor,
    reviewer,
    tmp_path,
):
    article = make_article(editor=editor, title="Lesions", body="Lesions are scars.")
    context = new_context(browser)
    page = context.new_page()
    csp_errors = watch_csp(page)
    broken: list[str] = []
    page.on("response", lambda r: broken.append(r.url) if r.status >= 400 else None)

    page.goto(f"{live_server.url}/accounts/login/?next=/workspace/articles/{article.pk}/edit/")
    page.fill("#id_username", editor.username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"**/workspace/articles/{article.pk}/edit/")

    # From the editor's figure picker to the upload page, and back.
    page.locator(".figure-picker").get_by_role("link", name="Upload a figure").click()
    page.wait_for_url("**/workspace/figures/new/**")
    assert serious_violations(page) == []
    page.set_input_files("#id_file", str(_png(tmp_path)))
    page.fill("#id_alt_text", "Two white lesions on an MRI scan")
    page.fill("#id_caption", "Axial FLAIR image")
    page.fill("#id_credit", "Example Hospital")
    page.get_by_role("button", name="Upload").click()
    page.wait_for_url(f"**/workspace/articles/{article.pk}/edit/")
    figure = Figure.objects.get()

    # The picker inserts the marker at the cursor.
    page.locator("#id_body").click()
    page.keyboard.press("End")
    page.locator(".figure-picker .insert-marker").first.click()
    body = page.locator("#id_body").input_value()
    assert f"![Two white lesions on an MRI scan](figure:{figure.pk})" in body

    page.get_by_role("button", name="Preview").click()
    shown = page.locator(".preview figure.figure img")
    shown.wait_for()
    assert shown.get_attribute("alt") == "Two white lesions on an MRI scan"
    assert shown.get_attribute("loading") == "lazy"
    assert page.locator(".preview figcaption").inner_text().startswith("Axial FLAIR image")
    # The image really loaded from this site (not blocked, not broken).
    assert _loaded(page, ".preview figure.figure img")
    assert shown.evaluate("img => new URL(img.currentSrc).origin") == live_server.url
    screenshot(page, "figure-editor-preview")

    page.get_by_role("button", name="Save").click()
    page.wait_for_url(f"**/workspace/articles/{article.pk}/edit/")
    assert f"figure:{figure.pk}" in Article.objects.get().latest_revision.body

    # The staff preview and, once approved, the reader page show it.
    page.goto(f"{live_server.url}/preview/articles/{article.pk}/")
    assert _loaded(page, "figure.figure img")
    assert serious_violations(page) == []

    services.article_submit(article_id=article.pk, actor=editor)
    services.article_start_review(article_id=article.pk, actor=reviewer)
    services.article_approve(article_id=article.pk, actor=reviewer, **approval_kwargs())
    page.goto(f"{live_server.url}{Article.objects.get().get_absolute_url()}")
    assert _loaded(page, "figure.figure img")
    assert "Example Hospital" in page.locator("figure.figure figcaption").inner_text()
    assert serious_violations(page) == []
    screenshot(page, "figure-reader")

    # The figure pages and the pickers, accessible too.
    for path, name in (
        ("/workspace/figures/", "figure-list"),
        (f"/workspace/figures/{figure.pk}/", "figure-detail"),
        (f"/workspace/articles/{article.pk}/edit/", "figure-picker"),
        (f"/workspace/articles/{article.pk}/review/", "figure-review"),
    ):
        page.goto(f"{live_server.url}{path}")
        assert serious_violations(page) == [], path
        screenshot(page, name)

    assert csp_errors == []
    assert broken == []
    context.close()


def test_figure_stays_inside_a_phone_screen(browser, live_server, editor, reviewer):
    from articles.services import figure_upload
    from tests.helpers import image_bytes, upload

    figure = figure_upload(
        actor=editor, file=upload(image_bytes("JPEG", (2000, 1000))), alt_text="A wide scan"
    )
    article = make_article(
        editor=editor, reviewer=reviewer, state="approved", body=f"![](figure:{figure.pk})\n"
    )
    context = new_context(browser, PHONE)
    page = context.new_page()
    page.goto(f"{live_server.url}{article.get_absolute_url()}")
    assert _loaded(page, "figure.figure img")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    # On a narrow screen the browser picks a small copy, not the 2000 px original.
    assert (
        page.locator("figure.figure img")
        .evaluate("img => img.currentSrc")
        .endswith(("/w480.jpg", "/w960.jpg"))
    )
    assert serious_violations(page) == []
    context.close()
