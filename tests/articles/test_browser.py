"""In a real browser: a reader follows citations and back, switches audience, and axe-core
finds no serious or critical accessibility violations.

Runs Debian's Chromium (``make browser`` installs it) through Playwright against
pytest-django's live server. A missing browser or axe-core fails the test: these
checks must not silently disappear.
"""

import pytest

from articles.models import EditorialPolicy
from reviewsite.celery import app as celery_app
from tests.browser import AXE, new_context, screenshot, serious_violations, watch_csp
from tests.factories import SourceFactory

# transaction=True: the live server's threads need committed data. Not serialized
# rollback: browser tests run last, after transactional tests whose flushes make
# post_migrate re-create the content types, which a serialized copy then collides with;
# the factories make the groups they need.
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

BODY = """Multiple sclerosis damages the myelin around nerves [@trapp1998; @compston2008].

## Symptoms

Fatigue and numbness are common [@trapp1998].

## Treatment

Disease-modifying therapy reduces relapses [@montalban2017].
"""


@pytest.fixture
def site(editor, reviewer, managing_editor, article_in):
    # Transactions commit here, so notifications are queued; run them in-process.
    eager = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    try:
        yield _seed(editor, reviewer, managing_editor, article_in)
    finally:
        celery_app.conf.task_always_eager = eager


def _seed(editor, reviewer, managing_editor, article_in) -> dict:
    SourceFactory(key="trapp1998", title="Axonal transection in the lesions of MS")
    SourceFactory(key="compston2008", title="Multiple sclerosis")
    SourceFactory(key="montalban2017", title="Ocrelizumab versus placebo")
    EditorialPolicy.objects.create(
        body="## How we review\n\nEvery article is checked by a medical reviewer.",
        disclaimer="This page is not medical advice.",
        updated_by=managing_editor,
    )
    made = {}
    for audience in ("general", "clinicians"):
        made[audience] = article_in(
            "approved",
            editor=editor,
            reviewer=reviewer,
            title=f"Multiple sclerosis ({audience})",
            summary="What multiple sclerosis is and how it is treated.",
            body=BODY,
            audience=audience,
            topic="Neurology",
            variant_group="multiple-sclerosis",
            slug=f"ms-{audience}",
        )
    return made


def test_reader_follows_citations_switches_audience_and_pages_are_accessible(
    browser, live_server, site
):
    context = new_context(browser)
    page = context.new_page()
    csp_errors = watch_csp(page)

    page.goto(f"{live_server.url}/articles/ms-general/")
    assert page.locator("h1").count() == 1
    assert page.locator("h1").inner_text() == "Multiple sclerosis (general)"
    assert page.get_by_text("Medically reviewed by").is_visible()
    screenshot(page, "reader-article")

    # Superscript 1 -> reference 1.
    page.locator('sup.citation a[href="#ref-1"]').first.click()
    page.wait_for_url("**#ref-1")
    assert page.evaluate("document.querySelector(':target').id") == "ref-1"
    assert page.locator("#ref-1").is_visible()
    # Keyboard users continue from the reference: Tab reaches its first backlink.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.getAttribute('href')") == "#cite-1-1"

    # ...and back to the place it is cited.
    page.locator('#ref-1 a[href="#cite-1-1"]').click()
    page.wait_for_url("**#cite-1-1")
    assert page.evaluate("document.querySelector(':target').id") == "cite-1-1"
    # The citing link is focusable, so focus lands on it, ready to follow again.
    assert page.evaluate("document.activeElement.id") == "cite-1-1"

    assert serious_violations(page) == []

    # Switch to the clinicians' version; the choice is remembered.
    page.locator("nav.variants").get_by_role("link", name="Clinicians").click()
    page.wait_for_url("**/articles/ms-clinicians/")
    assert page.locator("h1").inner_text() == "Multiple sclerosis (clinicians)"
    assert page.locator('nav.variants [aria-current="page"]').inner_text() == "Clinicians"
    page.goto(f"{live_server.url}/articles/ms-general/")
    assert page.url.endswith("/articles/ms-clinicians/")

    for path, name in (("/", "list"), ("/editorial-policy/", "policy")):
        page.goto(f"{live_server.url}{path}")
        assert page.locator("h1").count() == 1
        assert serious_violations(page) == [], path
        screenshot(page, f"reader-{name}")

    # The skip link is the first stop for keyboard users and moves focus to the content.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip-link"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"

    assert csp_errors == []
    context.close()


def test_article_page_is_readable_on_a_phone(browser, live_server, site):
    context = browser.new_context(
        viewport={"width": 375, "height": 740}, device_scale_factor=2, is_mobile=True
    )
    context.add_init_script(path=str(AXE))
    page = context.new_page()
    page.goto(f"{live_server.url}/articles/ms-general/")
    # Nothing forces sideways scrolling, and body text is not shrunk.
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    font_size = page.evaluate("parseFloat(getComputedStyle(document.body).fontSize)")
    assert font_size >= 16
    assert serious_violations(page) == []
    screenshot(page, "reader-article-phone")
    context.close()
