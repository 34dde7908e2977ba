"""Every workspace page in Chromium at 1280 and 390 px: axe-core finds no serious or
critical violation, nothing scrolls sideways on a phone, and each page is screenshotted
(test-artifacts/screenshots/workspace-<route>-<width>.png).

The pages are enumerated from workflows/urls.py, as the superuser route walk in
tests/reviewsite/test_roles_and_errors.py does; a new route fails here until it is
listed as a page (with the object it shows) or as POST-only.
"""

import pytest
from django.urls import URLPattern, reverse

from articles.services import figure_upload
from citations import services as citation_services
from citations.models import ImportJob, Source
from citations.services import source_set_status
from tests import factories
from tests.browser import WIDTHS, overflow, screenshot, serious_violations, signed_in_context
from tests.helpers import image_bytes, make_article, upload
from workflows import services
from workflows import urls as workspace_urls

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

#: Routes that answer only POST; the journeys drive them through their forms.
POST_ONLY = workspace_urls.POST_ONLY


def _workspace(editor, reviewer, root) -> dict:
    """Real objects for every URL parameter, in the states that show the most."""
    factories.default_checklist()
    trial = factories.SourceFactory(key="montalban2017", title="Ocrelizumab in primary MS")
    old = factories.SourceFactory(key="wakefield1998", title="An old claim")
    figure = figure_upload(
        actor=editor,
        file=upload(image_bytes("PNG", (1400, 700))),
        alt_text="Two white lesions on an MRI scan",
        caption="Axial FLAIR image",
        credit="Example Hospital",
    )
    body = (
        "## Relapses\n\nSteroids shorten a relapse [@montalban2017].\n\n"
        "| Drug | Dose |\n|---|---|\n| Ocrelizumab | 600 mg |\n\n"
        f"![A scan](figure:{figure.pk})\n"
    )
    # Live revision 1, then a proposed revision 2 under review by the superuser: the
    # review page shows the rendered diff, the checklist and every decision form.
    article = make_article(
        editor=editor, reviewer=reviewer, state="approved", title="Relapses", body=body
    )
    services.article_edit(
        article_id=article.pk,
        actor=editor,
        changes={"body": body.replace("Steroids shorten", "High-dose steroids shorten")},
    )
    services.article_submit(article_id=article.pk, actor=editor)
    services.article_start_review(article_id=article.pk, actor=root)
    # An article back with its editor, for the editor page with the reviewer's comment.
    returned = make_article(
        editor=editor,
        reviewer=reviewer,
        state="changes_requested",
        title="Fatigue in MS",
        body="Fatigue is common [@wakefield1998].",
    )
    make_article(editor=editor, state="submitted", title="Spasticity")
    source_set_status(
        source_id=old.pk, actor=reviewer, status=Source.Status.RETRACTED, reason="Data fabricated."
    )
    job = ImportJob.objects.create(created_by=root, filename="library.bib")
    return {
        "sources/imports/": job.pk,
        "sources/": trial.pk,
        "figures/": figure.pk,
        "reviewers/": reviewer.pk,
        "articles/<int:pk>/edit/": returned.pk,
        "articles/": article.pk,
    }


def _pages(objects: dict) -> list[tuple[str, str]]:
    """``(name, path)`` of every GET page of the workspace, plus the sign-in page."""
    pages = [("login", "/accounts/login/")]
    names = set()
    for pattern in workspace_urls.urlpatterns:
        assert isinstance(pattern, URLPattern)
        names.add(pattern.name)
        if pattern.name in POST_ONLY:
            continue
        route = str(pattern.pattern)
        kwargs = {}
        if "<int:pk>" in route:
            kwargs["pk"] = next(pk for prefix, pk in objects.items() if route.startswith(prefix))
        pages.append((pattern.name, reverse(f"workflows:{pattern.name}", kwargs=kwargs)))
    assert names >= POST_ONLY, POST_ONLY - names
    return pages


def test_every_workspace_page_passes_axe_and_fits_a_phone(browser, live_server, editor, reviewer):
    root = factories.reviewer(username="root", is_superuser=True, is_staff=True)
    pages = _pages(_workspace(editor, reviewer, root))
    assert len(pages) >= 18
    problems = []
    for width, viewport in WIDTHS.items():
        context = signed_in_context(browser, live_server, root, viewport)
        page = context.new_page()
        for name, path in pages:
            response = page.goto(f"{live_server.url}{path}")
            assert response.status == 200, (path, response.status)
            assert page.locator("h1").count() == 1, path
            # A title is plain words (a misplaced block once put a section's markup there).
            assert "<" not in page.title() and "Reviewsite" in page.title(), path
            found = serious_violations(page)
            if found:
                problems.append((width, path, found))
            if width == "390":
                wide = overflow(page)
                if wide:
                    problems.append((width, path, wide))
            screenshot(page, f"workspace-{name}-{width}")
        context.close()
    assert problems == [], "\n".join(f"{w} px {path}: {found}" for w, path, found in problems)


def test_a_background_import_shows_its_progress_in_place_until_done(browser, live_server, editor):
    data = b"\n".join(
        b"@article{w%d, title={Workspace job %d}, author={Doe, J}, year={2020}}" % (i, i)
        for i in range(5)
    )
    job = citation_services.import_job_create(actor=editor, data=data, filename="big.bib")
    context = signed_in_context(browser, live_server, editor)
    page = context.new_page()
    page.goto(f"{live_server.url}{reverse('workflows:import-job', args=[job.pk])}")
    assert page.locator("#import-progress-bar").get_attribute("value") == "0"
    assert serious_violations(page) == []
    page.evaluate("window.stillTheSamePage = true")

    citation_services.import_job_run(job_id=job.pk)  # what the worker does

    page.get_by_text("5 created, 0 merged, 0 refused.").wait_for()
    assert page.locator("#import-progress-bar").get_attribute("value") == "5"
    assert page.locator(".import-progress h2").inner_text() == "Done"
    # Updated in place: no reload moved the reader (or a screen reader) back to the top.
    assert page.evaluate("window.stillTheSamePage === true")
    assert page.locator("[data-poll-seconds]").count() == 0
    assert serious_violations(page) == []
    context.close()
