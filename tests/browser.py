"""The browser-test harness: Debian's Chromium through Playwright, axe-core, screenshots.

One Chromium is launched per test session (the ``browser`` fixture in
tests/conftest.py calls :func:`launched_browser`); each test opens its own
contexts, so cookies never leak between tests. A missing browser or axe-core fails
the tests: these checks must not silently disappear.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
AXE = Path(settings.BASE_DIR) / "node_modules" / "axe-core" / "axe.min.js"
#: Where screenshots go; ``REVIEWSITE_SCREENSHOTS_DIR`` moves them (CI artefacts).
SCREENSHOTS_ENV = "REVIEWSITE_SCREENSHOTS_DIR"
#: tests.factories.UserFactory's password.
PASSWORD = "correct horse battery staple"

DESKTOP = {"width": 1280, "height": 900}
#: A phone. Not ``is_mobile``: a mobile viewport zooms out to fit a page that is too
#: wide, which would hide the very overflow the phone checks look for.
PHONE = {"width": 390, "height": 844}
WIDTHS = {"1280": DESKTOP, "390": PHONE}


@contextmanager
def launched_browser():
    """Chromium for the session, with axe-core checked to be there."""
    assert CHROMIUM.exists(), "Chromium is missing at /usr/bin/chromium: run `make browser`"
    assert AXE.exists(), "axe-core is missing: run `npm install` (or `make browser`)"
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop running in this thread; the ORM calls
    # the tests make meanwhile are still plain synchronous calls.
    before = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            try:
                yield browser
            finally:
                browser.close()
    finally:
        if before is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = before


def screenshot_dir() -> Path:
    """test-artifacts/screenshots/ in the checkout, or ``$REVIEWSITE_SCREENSHOTS_DIR``."""
    default = Path(settings.BASE_DIR) / "test-artifacts" / "screenshots"
    folder = Path(os.environ.get(SCREENSHOTS_ENV) or default)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def screenshot(page, name: str) -> Path:
    """A full-page screenshot named ``name``.png in the screenshot folder."""
    path = screenshot_dir() / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def new_context(browser, viewport: dict = DESKTOP):
    """A fresh context (own cookies) with axe-core injected into every page.

    Injected through the DevTools protocol, so the page's strict CSP still applies.
    """
    context = browser.new_context(viewport=viewport)
    context.add_init_script(path=str(AXE))
    return context


def serious_violations(page) -> list[dict]:
    """axe-core violations of serious or critical impact on the current page."""
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [
        {
            "id": v["id"],
            "impact": v["impact"],
            "help": v["help"],
            "nodes": [n["target"] for n in v["nodes"]],
        }
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def overflow(page) -> dict | None:
    """``None`` when nothing forces sideways scrolling; else the widths and the widest
    elements, to say what overflows."""
    return page.evaluate(
        """() => {
          const doc = document.documentElement;
          if (doc.scrollWidth <= window.innerWidth) return null;
          const wide = [...document.body.querySelectorAll('*')]
            .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)
            .slice(0, 5)
            .map(e => e.tagName.toLowerCase() + (e.className ? '.' + e.className : ''));
          return {scrollWidth: doc.scrollWidth, innerWidth: window.innerWidth, wide};
        }"""
    )


def watch_csp(page) -> list[str]:
    """The Content-Security-Policy refusals the page reports, collected as they come."""
    errors: list[str] = []
    page.on(
        "console",
        lambda msg: errors.append(msg.text) if "Content Security Policy" in msg.text else None,
    )
    return errors


def sign_in(page, live_server, username: str, *, next_path: str = "") -> None:
    """Sign in through the login form, as a person would."""
    query = f"?next={next_path}" if next_path else ""
    page.goto(f"{live_server.url}/accounts/login/{query}")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"**{next_path or '/workspace/'}")


def signed_in_context(browser, live_server, user, viewport: dict = DESKTOP):
    """A context already signed in as ``user`` (a real session, made without the form:
    the login form itself is driven once, in the editor's journey)."""
    from django.test import Client

    client = Client()
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    context = new_context(browser, viewport)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    context.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME, "value": cookie.value, "url": live_server.url}]
    )
    return context
