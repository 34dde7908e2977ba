"""Reader site pages: what readers see of live articles, and what they never see."""

import re
from pathlib import Path

import pytest
from django.urls import reverse
from django.views.defaults import server_error

from articles.models import Article, EditorialPolicy
from articles.views import AUDIENCE_COOKIE, DEFAULT_DISCLAIMER
from citations import services as citation_services
from tests import factories
from tests.factories import SourceFactory
from workflows import services

BODY = """Multiple sclerosis is a demyelinating disease [@trapp1998; @compston2008].

## Symptoms

Fatigue is common [@trapp1998].

## Treatment

Disease-modifying therapy reduces relapses [@compston2008, p. 12].
"""


@pytest.fixture
def sources(db):
    return [
        SourceFactory(key="trapp1998", title="Axonal transection in MS lesions"),
        SourceFactory(key="compston2008", title="Multiple sclerosis", doi="10.1016/s0140-6736"),
    ]


@pytest.fixture
def live(editor, reviewer, sources, article_in):
    return article_in(
        "approved",
        editor=editor,
        reviewer=reviewer,
        title="Relapsing MS",
        body=BODY,
        summary="What relapsing multiple sclerosis is and how it is treated.",
        topic="Neurology",
    )


def page(client, article):
    response = client.get(article.get_absolute_url())
    assert response.status_code == 200
    return response.content.decode()


# --- article page ---------------------------------------------------------------------------


def test_article_page_shows_title_summary_reviewer_and_dates(client, live, reviewer):
    html = page(client, live)
    assert "<h1" in html and "Relapsing MS</h1>" in html
    assert "What relapsing multiple sclerosis is and how it is treated." in html
    reviewed = live.last_reviewed.strftime("%B %-d, %Y")
    assert (
        f'Medically reviewed by <a href="/editorial-policy/#reviewer-{reviewer.pk}">Dr Rita, MD</a>'
        f' on <time datetime="{live.last_reviewed:%Y-%m-%d}">{reviewed}</time>'
    ) in html
    assert f'Last updated <time datetime="{live.last_updated:%Y-%m-%d}">' in html


def test_article_page_has_exactly_one_h1_even_when_the_body_has_one(
    client, editor, reviewer, article_in
):
    article = article_in(
        "approved", editor=editor, reviewer=reviewer, body="# Big heading\n\nText.\n\n## Sub"
    )
    html = page(client, article)
    assert len(re.findall(r"<h1[\s>]", html)) == 1
    assert '<h2 id="big-heading">Big heading</h2>' in html
    assert '<h3 id="sub">Sub</h3>' in html


def test_article_page_lists_contents_from_the_revision_headings(client, live):
    html = page(client, live)
    contents = html.split('id="toc-title"')[1].split("</nav>")[0]
    assert "In this article" in html
    assert '<a href="#symptoms">Symptoms</a>' in contents
    assert '<a href="#treatment">Treatment</a>' in contents
    assert '<h2 id="symptoms">Symptoms</h2>' in html


def test_article_page_serves_the_stored_body_html_not_a_new_rendering(client, live):
    revision = live.live_revision
    # Simulate a renderer change after saving: the page must keep the stored HTML.
    revision.body_html = revision.body_html.replace("demyelinating", "STORED-RENDERING")
    revision.save(_allow_update=True, update_fields=["body_html"])
    assert "STORED-RENDERING" in page(client, live)


def test_references_are_numbered_with_anchors_backlinks_and_identifier_links(client, live):
    html = page(client, live)
    assert '<sup class="citation"><a href="#ref-1" id="cite-1-1">1</a>' in html
    refs = html.split('<ol class="reference-list">')[1].split("</ol>")[0]
    assert re.search(r'<li id="ref-1" value="1"', refs)
    assert re.search(r'<li id="ref-2" value="2"', refs)
    # trapp1998 is cited twice: two backlinks, one per citing place.
    first = refs.split('id="ref-1"')[1].split("</li>")[0]
    assert 'href="#cite-1-1"' in first and 'href="#cite-1-2"' in first
    assert "Axonal transection in MS lesions" in first
    assert "https://doi.org/10.5555/test." in first
    assert "https://pubmed.ncbi.nlm.nih.gov/" in first


def test_reference_shows_the_current_retraction_notice_and_the_page_a_warning(
    client, live, sources, reviewer
):
    assert "source-notice" not in page(client, live)
    citation_services.source_set_status(
        source_id=sources[0].pk,
        actor=reviewer,
        status="retracted",
        notice_doi="10.1000/retraction.1",
        notice_pmid="123456",
        notice_date="2024-02-03",
        reason="Image manipulation.",
    )
    html = page(client, live)
    notice = html.split('id="ref-1"')[1].split("</li>")[0]
    assert "Retracted" in notice
    assert "February 3, 2024" in notice
    assert 'href="https://doi.org/10.1000/retraction.1"' in notice
    assert 'href="https://pubmed.ncbi.nlm.nih.gov/123456/"' in notice
    assert "Image manipulation." in notice
    assert 'class="notice"' in html and "retracted or withdrawn" in html


@pytest.mark.parametrize(
    ("status", "label"),
    [
        ("withdrawn", "Withdrawn"),
        ("expression_of_concern", "Expression of concern"),
        ("corrected", "Corrected"),
        ("superseded", "Superseded"),
    ],
)
def test_every_non_active_source_status_gets_a_visible_notice(
    client, live, sources, reviewer, status, label
):
    citation_services.source_set_status(source_id=sources[1].pk, actor=reviewer, status=status)
    notice = page(client, live).split('id="ref-2"')[1].split("</li>")[0]
    assert f'<strong class="source-notice__status">{label}</strong>' in notice


def test_overdue_review_flag_shows_a_notice(client, live):
    Article.objects.filter(pk=live.pk).update(flag_review_overdue=True)  # as the sweep does
    html = page(client, live)
    assert "overdue for its scheduled medical review" in html


def test_citation_retracted_flag_shows_a_notice(client, live):
    Article.objects.filter(pk=live.pk).update(flag_citation_retracted=True)
    assert "retracted or withdrawn" in page(client, live)


def test_article_page_shows_the_policy_disclaimer_or_the_default(client, live, managing_editor):
    assert DEFAULT_DISCLAIMER in page(client, live)
    EditorialPolicy.objects.create(
        body="Policy.", disclaimer="Ask your own doctor.", updated_by=managing_editor
    )
    html = page(client, live)
    assert "Ask your own doctor." in html
    assert DEFAULT_DISCLAIMER not in html


def test_article_page_shows_the_review_trail_with_dates(client, live):
    html = page(client, live)
    trail = html.split('<ol class="status-trail">')[1].split("</ol>")[0]
    labels = re.findall(r'status-trail__label">([^<]+)<', trail)
    assert labels == ["Submitted", "Under review", "Approved"]
    assert f'datetime="{live.live_submitted_at.isoformat()}"' in trail
    assert f'datetime="{live.live_review_started_at.isoformat()}"' in trail
    assert f'datetime="{live.last_updated.isoformat()}"' in trail


def test_editing_an_approved_article_keeps_serving_the_live_revision(client, live, editor):
    services.article_edit(article_id=live.pk, actor=editor, changes={"title": "Working title"})
    html = page(client, live)
    assert "Relapsing MS</h1>" in html
    assert "Working title" not in html


@pytest.mark.parametrize("state", ["draft", "submitted", "under_review", "changes_requested"])
def test_articles_never_approved_are_404_for_readers(client, editor, reviewer, article_in, state):
    article = article_in(state, editor=editor, reviewer=reviewer)
    assert client.get(article.get_absolute_url()).status_code == 404


def test_archived_article_is_404_for_readers(client, live, managing_editor):
    assert client.get(live.get_absolute_url()).status_code == 200
    services.article_archive(article_id=live.pk, actor=managing_editor)
    assert client.get(live.get_absolute_url()).status_code == 404


def test_unknown_slug_is_404(client, db):
    assert client.get("/articles/no-such-article/").status_code == 404


# --- preview -----------------------------------------------------------------------------------


def test_staff_preview_shows_the_working_revision_with_a_banner_and_noindex(client, live, editor):
    services.article_edit(article_id=live.pk, actor=editor, changes={"title": "Proposed new title"})
    client.force_login(editor)
    response = client.get(reverse("articles:preview", kwargs={"pk": live.pk}))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Proposed new title</h1>" in html
    assert "not yet reviewed" in html
    assert '<meta name="robots" content="noindex' in html
    assert "no-store" in response["Cache-Control"] and "private" in response["Cache-Control"]
    assert "noindex" in response["X-Robots-Tag"]
    assert "Medically reviewed by" not in html


def test_preview_is_404_for_anonymous_readers_and_users_without_a_role(client, live, reader):
    url = reverse("articles:preview", kwargs={"pk": live.pk})
    assert client.get(url).status_code == 404
    client.force_login(reader)
    assert client.get(url).status_code == 404


def test_preview_works_for_drafts_never_approved(client, editor, reviewer, article_in):
    draft = article_in("draft", editor=editor, reviewer=reviewer, title="Draft only")
    client.force_login(reviewer)
    response = client.get(reverse("articles:preview", kwargs={"pk": draft.pk}))
    assert response.status_code == 200
    assert "Draft only</h1>" in response.content.decode()


# --- list and search ------------------------------------------------------------------------


def _approve(editor, reviewer, article_in, title, **kwargs):
    return article_in("approved", editor=editor, reviewer=reviewer, title=title, **kwargs)


def test_list_shows_live_articles_newest_update_first_and_hides_the_rest(
    client, editor, reviewer, managing_editor, article_in
):
    older = _approve(editor, reviewer, article_in, "Older article")
    newer = _approve(editor, reviewer, article_in, "Newer article")
    article_in("draft", editor=editor, reviewer=reviewer, title="Unreviewed draft")
    archived = _approve(editor, reviewer, article_in, "Archived article")
    services.article_archive(article_id=archived.pk, actor=managing_editor)
    html = client.get("/").content.decode()
    assert html.index("Newer article") < html.index("Older article")
    assert "Unreviewed draft" not in html and "Archived article" not in html
    assert older.get_absolute_url() in html and newer.get_absolute_url() in html


def test_list_search_matches_title_summary_and_body(client, editor, reviewer, article_in):
    _approve(editor, reviewer, article_in, "Migraine", body="Aura and photophobia.")
    _approve(editor, reviewer, article_in, "Epilepsy", summary="Seizures explained.")
    assert "Migraine" in client.get("/", {"q": "photophobia"}).content.decode()
    html = client.get("/", {"q": "seizures"}).content.decode()
    assert "Epilepsy" in html and "Migraine</a>" not in html


def test_list_filters_by_topic_and_audience(client, editor, reviewer, article_in):
    _approve(editor, reviewer, article_in, "For clinicians", audience="clinicians", topic="Neuro")
    _approve(editor, reviewer, article_in, "For patients", audience="patients", topic="Cardio")
    html = client.get("/", {"audience": "clinicians"}).content.decode()
    assert "For clinicians</a>" in html and "For patients</a>" not in html
    html = client.get("/", {"topic": "Cardio"}).content.decode()
    assert "For patients</a>" in html and "For clinicians</a>" not in html


def test_list_is_paginated(client, editor, reviewer, article_in):
    for n in range(21):
        _approve(editor, reviewer, article_in, f"Article number {n}")
    first = client.get("/").content.decode()
    assert first.count('class="article-card"') == 20
    assert "Page 1 of 2" in first
    second = client.get("/", {"page": 2}).content.decode()
    assert second.count('class="article-card"') == 1


def test_list_ignores_invalid_filters_instead_of_failing(client, live):
    response = client.get("/", {"audience": "martians", "page": "x"})
    assert response.status_code == 200


# --- audience variants --------------------------------------------------------------------------


@pytest.fixture
def variants(editor, reviewer, article_in):
    made = {}
    for audience in ("general", "patients", "clinicians"):
        made[audience] = article_in(
            "approved",
            editor=editor,
            reviewer=reviewer,
            title=f"MS for {audience}",
            audience=audience,
            variant_group="ms",
            slug=f"ms-{audience}",
        )
    return made


def test_article_page_links_to_its_other_audience_versions(client, variants):
    html = page(client, variants["general"])
    assert 'href="/articles/ms-clinicians/?audience=clinicians"' in html
    assert 'href="/articles/ms-patients/?audience=patients"' in html
    assert 'aria-current="page">General readers<' in html


def test_choosing_an_audience_is_remembered_for_later_visits(client, variants):
    response = client.get("/articles/ms-general/", {"audience": "clinicians"})
    assert response.status_code == 302
    assert response["Location"] == "/articles/ms-clinicians/"
    assert response.cookies[AUDIENCE_COOKIE].value == "clinicians"
    # A later visit to another version of the same article goes to the chosen one.
    later = client.get("/articles/ms-patients/")
    assert later.status_code == 302
    assert later["Location"] == "/articles/ms-clinicians/"
    assert "Cookie" in later["Vary"]
    assert client.get("/articles/ms-clinicians/").status_code == 200


def test_preference_without_a_live_variant_serves_the_article_asked_for(
    client, editor, reviewer, article_in, variants, managing_editor
):
    services.article_archive(article_id=variants["clinicians"].pk, actor=managing_editor)
    client.cookies[AUDIENCE_COOKIE] = "clinicians"
    assert client.get("/articles/ms-patients/").status_code == 200


def test_preference_does_not_affect_articles_outside_a_variant_group(client, live):
    client.cookies[AUDIENCE_COOKIE] = "clinicians"
    assert client.get(live.get_absolute_url()).status_code == 200


# --- editorial policy ------------------------------------------------------------------------


def test_editorial_policy_renders_safe_markdown_and_the_advisory_board(
    client, reviewer, managing_editor
):
    EditorialPolicy.objects.create(
        body="## How we review\n\nEvery page is **checked**.\n\n<script>alert(1)</script>"
        "\n\n[bad](javascript:alert(1))",
        disclaimer="Not medical advice.",
        updated_by=managing_editor,
    )
    off_board = factories.reviewer(username="olga")
    off_board.reviewer_profile.on_advisory_board = False
    off_board.reviewer_profile.save()
    html = client.get("/editorial-policy/").content.decode()
    assert "<strong>checked</strong>" in html
    assert "<script>alert" not in html and 'href="javascript:' not in html
    assert f'id="reviewer-{reviewer.pk}"' in html
    assert "Dr Rita, MD" in html and "Neurology" in html
    assert f'id="reviewer-{off_board.pk}"' not in html
    assert "Not medical advice." in html
    assert len(re.findall(r"<h1[\s>]", html)) == 1


def test_policy_edit_creates_a_new_policy_row_for_managing_editors(client, managing_editor):
    EditorialPolicy.objects.create(body="Old policy.", updated_by=managing_editor)
    client.force_login(managing_editor)
    form = client.get("/editorial-policy/edit/")
    assert form.status_code == 200 and "Old policy." in form.content.decode()
    response = client.post(
        "/editorial-policy/edit/", {"body": "New **policy**.", "disclaimer": "Be careful."}
    )
    assert response.status_code == 302
    assert EditorialPolicy.objects.count() == 2
    newest = EditorialPolicy.objects.first()
    assert newest.updated_by == managing_editor
    html = client.get("/editorial-policy/").content.decode()
    assert "New <strong>policy</strong>." in html and "Old policy." not in html


def test_policy_edit_is_403_for_other_roles_and_asks_anonymous_to_log_in(client, editor, reviewer):
    assert client.get("/editorial-policy/edit/").status_code == 302
    for user in (editor, reviewer):
        client.force_login(user)
        assert client.get("/editorial-policy/edit/").status_code == 403
        assert client.post("/editorial-policy/edit/", {"body": "x"}).status_code == 403
    assert EditorialPolicy.objects.count() == 0


def test_policy_edit_requires_a_body(client, managing_editor):
    client.force_login(managing_editor)
    response = client.post("/editorial-policy/edit/", {"body": "", "disclaimer": ""})
    assert response.status_code == 200
    assert EditorialPolicy.objects.count() == 0


@pytest.mark.skipif(
    "not __import__('django.db').db.connection.vendor == 'postgresql'",
    reason="full-text search runs on PostgreSQL; SQLite uses the icontains fallback",
)
def test_postgres_search_is_full_text_and_uses_the_gin_index(client, editor, reviewer, article_in):
    from django.db import connection

    from articles import selectors

    _approve(editor, reviewer, article_in, "Relapse care", body="Treating a relapse early.")
    _approve(editor, reviewer, article_in, "Unrelated", body="Sleep hygiene.")
    # Stemming: "relapses treated" matches "relapse" and "treating".
    html = client.get("/", {"q": "relapses treated"}).content.decode()
    assert "Relapse care</a>" in html and "Unrelated</a>" not in html
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        sql, params = selectors.reader_article_list(q="relapse").query.sql_with_params()
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "revision_search_gin" in plan


def test_errors_are_the_sites_own_pages(client, rf, db):
    missing = client.get("/articles/no-such-article/")
    assert missing.status_code == 404
    assert "We could not find that page" in missing.content.decode()
    assert 'href="/editorial-policy/"' in missing.content.decode()
    broken = server_error(rf.get("/"))
    assert broken.status_code == 500
    assert "Something went wrong on our side" in broken.content.decode()


def test_make_run_does_not_switch_on_debug_pages():
    run = Path("Makefile").read_text().split("\nrun:", 1)[1].split("\n\n", 1)[0]
    assert "DJANGO_DEBUG" not in run


def test_contents_number_the_sections_and_nest_their_subheadings(
    client, editor, reviewer, article_in
):
    body = (
        "## One\n\nA.\n\n## Two\n\nB.\n\n### Two, detail\n\nC.\n\n## Three\n\nD.\n\n## Four\n\nE."
    )
    article = article_in("approved", editor=editor, reviewer=reviewer, body=body)
    html = client.get(article.get_absolute_url()).content.decode()
    toc = html.split('id="toc-title"', 1)[1].split("</nav>", 1)[0]
    # The numbered list holds the four sections; the subheading sits in a list of its own.
    assert toc.count('<li class="toc__item">') == 4
    nested = toc.split("<ul>", 1)[1].split("</ul>", 1)[0]
    assert ">Two, detail</a>" in nested
    assert nested.count("<li") == 1


def test_topics_show_as_words_not_slugs(client, editor, reviewer, article_in):
    article = article_in("approved", editor=editor, reviewer=reviewer, topic="multiple-sclerosis")
    listing = client.get("/").content.decode()
    assert ">Multiple sclerosis</span>" in listing
    assert '<option value="multiple-sclerosis">Multiple sclerosis</option>' in listing
    page = client.get(article.get_absolute_url()).content.decode()
    assert 'content="Multiple sclerosis"' in page
