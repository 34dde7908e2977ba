"""Affected claims in the article detail: the sentences citing a non-active source."""

import pytest

from articles.models import Article
from citations.services import source_set_status
from tests.factories import SourceFactory
from tests.helpers import client_for, make_article

pytestmark = pytest.mark.django_db

BODY = """## Background

Measles vaccination is safe [@safe]. An early case series linked it to autism [@wakefield].

## Later evidence

Large cohorts found no link [@safe; @doi:10.1016/s0140-6736(97)11096-0], as reviewed.[@safe]
"""


@pytest.fixture
def article(editor, reviewer):
    SourceFactory(key="safe")
    wakefield = SourceFactory(key="wakefield", doi="10.1016/s0140-6736(97)11096-0")
    article = make_article(editor=editor, reviewer=reviewer, state="approved", body=BODY)
    source_set_status(source_id=wakefield.pk, actor=reviewer, status="retracted")
    article.wakefield = wakefield
    return article


def test_detail_lists_each_sentence_citing_a_retracted_source(
    article, api, django_assert_max_num_queries
):
    with django_assert_max_num_queries(3):
        response = api.get(f"/api/v1/articles/{article.pk}/")
    assert response.status_code == 200
    assert response.json()["affected_claims"] == [
        {
            "source": article.wakefield.pk,
            "status": "retracted",
            "section": "Background",
            "sentence": "An early case series linked it to autism.",
            "line": 3,
            "column": 79,
        },
        {
            "source": article.wakefield.pk,
            "status": "retracted",
            "section": "Later evidence",
            "sentence": "Large cohorts found no link, as reviewed.",
            "line": 7,
            "column": 29,
        },
    ]


def test_staff_get_the_claims_of_the_working_revision(article, editor):
    response = client_for(editor).get(f"/api/v1/articles/{article.pk}/")
    assert [c["line"] for c in response.json()["affected_claims"]] == [3, 7]


def test_no_claims_when_every_source_is_active(editor, reviewer, api):
    SourceFactory(key="fine")
    ok = make_article(editor=editor, reviewer=reviewer, state="approved", body="Fine [@fine].")
    assert api.get(f"/api/v1/articles/{ok.pk}/").json()["affected_claims"] == []


def test_the_list_does_not_carry_affected_claims(article, api):
    [item] = api.get("/api/v1/articles/").json()["results"]
    assert "affected_claims" not in item


# --- the same sentences on the review page, the dashboard's alert and the mail ----------------


def test_the_review_page_shows_the_affected_claims_above_the_diff(article, client, reviewer):
    client.force_login(reviewer)
    response = client.get(f"/workspace/articles/{article.pk}/review/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Affected claims (2)" in html
    assert "An early case series linked it to autism." in html
    assert "(line 3, column 79)" in html and "in “Background”" in html
    assert html.index("Affected claims") < html.index("changes-heading")


def test_the_dashboard_retraction_alert_lists_the_claims(article, client, managing_editor):
    Article.objects.filter(pk=article.pk).update(flag_citation_retracted=True)  # propagated
    client.force_login(managing_editor)
    html = client.get("/workspace/").content.decode()
    assert "Claims to re-check in" in html
    assert "Large cohorts found no link, as reviewed." in html
    assert "<code>wakefield</code>" in html


def test_the_retraction_mail_quotes_the_claims(
    editor, reviewer, django_capture_on_commit_callbacks
):
    from django.core import mail

    from reviewsite.celery import app

    SourceFactory(key="safe")
    wakefield = SourceFactory(key="wakefield", doi="10.1016/s0140-6736(97)11096-0")
    make_article(editor=editor, reviewer=reviewer, state="approved", body=BODY)
    mail.outbox.clear()
    eager = app.conf.task_always_eager
    app.conf.task_always_eager = True
    try:
        with django_capture_on_commit_callbacks(execute=True):
            source_set_status(source_id=wakefield.pk, actor=reviewer, status="retracted")
    finally:
        app.conf.task_always_eager = eager
    assert mail.outbox
    body = mail.outbox[0].body
    # One digest per recipient; under each article, the claims that lost their support.
    assert "Re-check the claims listed under each" in body
    assert "· Background: “An early case series linked it to autism.” (line 3, column 79)" in body
    assert (
        "· Later evidence: “Large cohorts found no link, as reviewed.” (line 7, column 29)" in body
    )


def test_reader_superscripts_citing_flagged_sources_are_marked_and_say_why(
    editor, reviewer, client
):
    safe = SourceFactory(key="safe")
    concern = SourceFactory(key="concern")
    wakefield = SourceFactory(key="wakefield")
    corrected = SourceFactory(key="fixed")
    body = (
        "Safe [@safe]. Retracted [@wakefield]. Range [@safe; @wakefield; @concern]. "
        "Locator [@wakefield, p. 3]. Fixed [@fixed]."
    )
    article = make_article(editor=editor, reviewer=reviewer, state="approved", body=body)
    for source, status in ((wakefield, "retracted"), (concern, "expression_of_concern")):
        source_set_status(source_id=source.pk, actor=reviewer, status=status)
    source_set_status(source_id=corrected.pk, actor=reviewer, status="corrected")
    html = client.get(article.get_absolute_url()).content.decode()
    body_html = html[html.index('class="article__body"') : html.index('id="references"')]
    # Numbers: safe 1, wakefield 2, concern 3, fixed 4.
    assert body_html.count("citation--flagged") == 3  # 2, the range 1–3, 2 with a locator
    assert 'aria-label="Reference 2 cites a retracted source"' in body_html
    assert (
        'aria-label="References 1–3: reference 2 cites a retracted source; reference 3 cites a '
        'source under an expression of concern"' in body_html
    )
    assert '<span class="citation-flag" aria-hidden="true">⚠</span>' in body_html
    # Active and corrected sources are not marked in the text.
    assert 'href="#ref-1" id="cite-1-1">1</a>' in body_html and safe.pk
    assert 'href="#ref-4" id="cite-4-1">4</a>' in body_html
