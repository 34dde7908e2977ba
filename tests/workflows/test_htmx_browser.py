"""In a real browser: the editor's preview is redrawn in place by htmx (no reload, the
unsaved text kept), the source picker searches on the server as you type, and the body
has a line-number gutter whose error links put the cursor on the line.

Uses the browser-test harness (Debian's Chromium, axe-core).
"""

import pytest

from citations.models import Source

try:  # The shared harness (tests/browser.py, with the session's `browser` in conftest).
    from tests.browser import AXE, screenshot_dir, serious_violations

    ARTIFACTS = screenshot_dir()
except ImportError:  # Before it was merged: the harness of tests/articles/test_browser.py.
    from tests.articles.test_browser import (  # noqa: F401 - browser is a fixture
        ARTIFACTS,
        AXE,
        browser,
        serious_violations,
    )
from tests.factories import SourceFactory
from tests.helpers import make_article

pytestmark = [
    pytest.mark.browser,
    # As test_figures_browser.py: no serialized rollback; the factories re-make groups.
    pytest.mark.django_db(transaction=True),
]

PASSWORD = "correct horse battery staple"
SAVED = "\n".join(["## Course"] + [f"Paragraph {n}." for n in range(2, 31)])


def test_preview_updates_in_place_and_the_gutter_finds_a_line(
    browser,  # noqa: F811 - the fixture imported above
    live_server,
    editor,
):
    SourceFactory(key="trapp1998", title="Axonal transection in the lesions of MS")
    SourceFactory(
        key="wakefield1998",
        title="Ileal-lymphoid-nodular hyperplasia",
        status=Source.Status.RETRACTED,
        notice_reason="Retracted by the journal.",
    )
    article = make_article(editor=editor, title="Fatigue", body=SAVED)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.add_init_script(path=str(AXE))
    page = context.new_page()
    csp_errors: list[str] = []
    page.on(
        "console",
        lambda m: csp_errors.append(m.text) if "Content Security Policy" in m.text else None,
    )
    edit = f"/workspace/articles/{article.pk}/edit/"
    page.goto(f"{live_server.url}/accounts/login/?next={edit}")
    page.fill("#id_username", editor.username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"**{edit}")

    # The gutter: one number per line of the body, beside it.
    body = page.locator("#id_body")
    gutter = page.locator(".editor-gutter .editor-gutter__line")
    assert gutter.count() == 30
    assert gutter.nth(26).inner_text() == "27"
    gutter_box, body_box = body.evaluate(
        "t => [document.querySelector('.editor-gutter'), t].map(e => e.getBoundingClientRect())"
        ".map(r => ({x: r.x, y: r.y, width: r.width, height: r.height}))"
    )
    assert gutter_box["x"] + gutter_box["width"] <= body_box["x"] + 1
    assert abs(gutter_box["y"] - body_box["y"]) < 2
    # As tall as the textarea (which scrolls), not as tall as all its lines.
    assert abs(gutter_box["height"] - body_box["height"]) < 2
    assert body.evaluate("t => t.scrollHeight > t.clientHeight")

    # Unsaved edits: a search in the picker, "Insert", a bad marker on line 31.
    page.fill("#source-filter", "axonal")
    page.wait_for_function(
        "() => document.querySelectorAll('#source-picker-results .picker-item').length === 1"
    )
    assert "trapp1998" in page.locator("#source-picker-results").inner_text()
    body.click()
    page.keyboard.press("Control+End")
    page.keyboard.type("\nMyelin loss ")
    page.locator("#source-picker-results .insert-marker").click()
    page.keyboard.type(" and [@wakefield1998] and [@nosuchkey].")
    assert gutter.count() == 31
    typed = body.input_value()

    # Preview: htmx redraws the pane; the page is not reloaded and the text stays.
    page.evaluate("() => { window.notReloaded = true; }")
    page.get_by_role("button", name="Preview").click()
    references = page.locator("#preview-pane ol.references li")
    references.first.wait_for()
    assert references.count() == 2
    assert page.evaluate("() => window.notReloaded") is True
    assert page.url.endswith(edit)
    assert body.input_value() == typed
    pane = page.locator("#preview-pane").inner_text()
    assert "wakefield1998 — Retracted: Retracted by the journal." in pane
    # Numbered as the reader page numbers them: first cited, first listed.
    assert "Myelin loss 1 and 2" in page.locator("#preview-pane .article-body").inner_text()
    assert page.evaluate("() => document.activeElement.id") == "preview-heading"
    page.screenshot(path=str(ARTIFACTS / "htmx-preview.png"), full_page=True)

    # The marker problem links to its line: the cursor goes there, the gutter marks it.
    page.locator("#preview-pane a[data-line='31']").click()
    assert page.locator(".editor-caret").inner_text() == "Line 31, column 1"
    assert page.locator(".editor-gutter__line.is-current").inner_text() == "31"
    assert page.evaluate("() => document.activeElement.id") == "id_body"
    # Line 31 is in view, and its number beside it.
    # (Both boxes in one call: the page may still be scrolling smoothly.)
    row, box = body.evaluate(
        "t => [document.querySelector('.editor-gutter__line.is-current'), t]"
        ".map(e => { const r = e.getBoundingClientRect(); return {y: r.y, height: r.height}; })"
    )
    assert box["y"] <= row["y"] and row["y"] + row["height"] <= box["y"] + box["height"]
    assert body.evaluate("t => t.scrollTop > 0")
    # Beside it to the pixel: the gutter scrolled with the text, and line 31's number is
    # level with the last row of text (the selection's line).
    assert body.evaluate(
        "t => Math.abs(document.querySelector('.editor-gutter').scrollTop - t.scrollTop) < 1"
    )
    assert serious_violations(page) == []

    # A refused preview (400: no title) is shown in the pane too, linked to the field.
    page.fill("#id_title", "")
    page.get_by_role("button", name="Preview").click()
    page.locator("#preview-pane a[href='#id_title']").wait_for()
    assert "Title: This field is required." in page.locator("#preview-pane").inner_text()
    assert body.input_value() == typed
    page.fill("#id_title", "Fatigue")

    # On a phone the gutter and the body still fit the screen.
    page.set_viewport_size({"width": 390, "height": 800})
    page.wait_for_function(
        "() => document.querySelector('.editor-gutter-wrap').getBoundingClientRect().right <= 390"
    )
    assert page.locator(".editor-gutter .editor-gutter__line").count() == 31
    # Line 31 wraps on a phone: one number, as tall as its rows. The gutter measures in the
    # next animation frame after the resize, so wait for it (a timeout fails the test).
    page.wait_for_function(
        "() => { const h = [...document.querySelectorAll('.editor-gutter__line')]"
        ".map(r => r.offsetHeight); return h.length === 31 && h[30] >= 2 * h[29]; }"
    )
    page.screenshot(path=str(ARTIFACTS / "htmx-editor-390.png"), full_page=True)

    # Nothing was saved.
    assert Source.objects.count() == 2
    assert article.latest_revision.body == SAVED
    assert csp_errors == []
    context.close()


def test_marking_a_notification_read_updates_it_and_the_count_in_place(
    browser,  # noqa: F811 - the fixture imported above
    live_server,
    editor,
):
    from workflows.models import Notification

    for n in (1, 2):
        Notification.objects.create(
            dedupe_key=f"browser-{n}", recipient=editor, subject=f"Review overdue {n}", body="."
        )
    context = browser.new_context(viewport={"width": 390, "height": 800})
    context.add_init_script(path=str(AXE))
    page = context.new_page()
    page.goto(f"{live_server.url}/accounts/login/?next=/workspace/notifications/")
    page.fill("#id_username", editor.username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/workspace/notifications/")
    assert page.locator("#unread-count").inner_text() == "; 2 unread"

    page.evaluate("() => { window.notReloaded = true; }")
    page.get_by_role("button", name="Mark read “Review overdue 1”").click()
    page.get_by_role("button", name="Mark unread “Review overdue 1”").wait_for()
    assert page.locator("#unread-count").inner_text() == "; 1 unread"
    assert page.evaluate("() => window.notReloaded") is True
    # The redrawn button keeps the keyboard focus (same id in the new item).
    assert page.evaluate("() => document.activeElement.id").startswith("notification-toggle-")
    assert Notification.objects.filter(read_at__isnull=True).count() == 1
    assert serious_violations(page) == []

    # "Mark all read" goes when nothing is unread, and comes back with an unread one.
    mark_all = page.get_by_role("button", name="Mark all read")
    assert mark_all.is_visible()
    page.get_by_role("button", name="Mark read “Review overdue 2”").click()
    page.get_by_role("button", name="Mark unread “Review overdue 2”").wait_for()
    assert page.locator("#unread-count").inner_text() == ""
    assert mark_all.count() == 0
    page.get_by_role("button", name="Mark unread “Review overdue 1”").click()
    page.get_by_role("button", name="Mark read “Review overdue 1”").wait_for()
    assert page.locator("#unread-count").inner_text() == "; 1 unread"
    mark_all.click()
    page.wait_for_url("**/workspace/notifications/")
    assert Notification.objects.filter(read_at__isnull=True).count() == 0
    assert page.evaluate("() => window.notReloaded") is None
    page.screenshot(path=str(ARTIFACTS / "htmx-notifications-390.png"), full_page=True)
    context.close()
