"""Readability of the body's prose, computed offline when a revision is saved."""

import socket

import pytest
from django.urls import reverse

from articles.readability import prose_blocks, readability, syllables
from tests.helpers import client_for, make_article

SIMPLE = "The patient took the medicine. It helped."
# 30 sentences of 3 words: 8 syllables and 2 polysyllables each.
THIRTY = " ".join(["Inflammation damages nerves."] * 30)


def test_known_grades_by_the_published_formulas():
    # 7 words, 2 sentences, 10 syllables: 0.39 * 3.5 + 11.8 * 10 / 7 - 15.59 = 2.63
    assert readability(SIMPLE) == {
        "words": 7,
        "sentences": 2,
        "flesch_kincaid_grade": 2.6,
        "smog": None,
    }
    # 90 words, 30 sentences, 240 syllables, 60 polysyllables:
    # FK = 0.39 * 3 + 11.8 * 240 / 90 - 15.59 = 17.05; SMOG = 1.043 * sqrt(60) + 3.1291
    assert readability(THIRTY) == {
        "words": 90,
        "sentences": 30,
        "flesch_kincaid_grade": 17.0,
        "smog": 11.2,
    }


def test_smog_is_null_under_30_sentences():
    assert readability(" ".join(["Inflammation damages nerves."] * 29))["smog"] is None


def test_syllables_come_from_the_pronouncing_dictionary_with_a_fallback():
    assert [syllables(w) for w in ("medicine", "inflammation", "cat", "people")] == [3, 4, 1, 2]
    assert syllables("remyelinogenesis") >= 5  # not in the dictionary: vowel groups


def test_only_prose_counts_not_code_tables_markers_or_figures():
    body = (
        "## Why it matters\n\n"
        "The patient took the medicine [@trapp1998]. It helped.\n\n"
        "- A list item\n\n"
        "```\nIncomprehensibilities notwithstanding. Unquestionably.\n```\n\n"
        "| Heading | Other |\n|---|---|\n| Extraordinarily | Uncharacteristically |\n\n"
        "![Brain scan](figure:3) `inline code`\n"
    )
    assert prose_blocks(body) == [
        "Why it matters",
        "The patient took the medicine . It helped.",
        "A list item",
    ]
    assert readability(body)["sentences"] == 4


def test_empty_text_has_no_grade():
    assert readability("") == {
        "words": 0,
        "sentences": 0,
        "flesch_kincaid_grade": None,
        "smog": None,
    }


def test_it_needs_no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("readability tried to open a network connection")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    syllables.cache_clear()
    assert readability("Neurologists recommend magnetic resonance imaging.")["words"] == 5


@pytest.mark.django_db
def test_saved_revisions_store_it_and_the_api_shows_it(editor):
    article = make_article(editor=editor, body=SIMPLE)
    assert article.latest_revision.readability["flesch_kincaid_grade"] == 2.6
    data = client_for(editor).get(f"/api/v1/articles/{article.pk}/").json()
    assert data["readability"] == readability(SIMPLE)


@pytest.mark.django_db
def test_a_hard_text_for_patients_warns_at_submit_but_the_submit_succeeds(editor, settings):
    settings.REVIEWSITE_READABILITY_MAX_GRADE = 8
    hard = make_article(editor=editor, body=THIRTY, audience="patients")
    response = client_for(editor).post(f"/api/v1/articles/{hard.pk}/submit/", {}, format="json")
    assert response.status_code == 200
    assert response.json()["status"] == "submitted"
    (warning,) = response.json()["warnings"]
    assert "grade 17.0 is above 8" in warning
    easy = make_article(editor=editor, body=SIMPLE, audience="patients", title="Easy")
    ok = client_for(editor).post(f"/api/v1/articles/{easy.pk}/submit/", {}, format="json")
    assert ok.json()["warnings"] == []
    clinical = make_article(editor=editor, body=THIRTY, audience="clinicians", title="Clin")
    clin = client_for(editor).post(f"/api/v1/articles/{clinical.pk}/submit/", {}, format="json")
    assert clin.json()["warnings"] == []


@pytest.mark.django_db
def test_the_workspace_shows_it_in_the_preview_at_submit_and_on_the_review_page(client, editor):
    article = make_article(editor=editor, body=THIRTY, audience="general")
    client.force_login(editor)
    preview = client.post(
        reverse("workflows:article-edit", args=[article.pk]),
        {"title": "T", "body": THIRTY, "audience": "general", "preview": "1", "etag": ""},
    ).content.decode()
    assert "Flesch–Kincaid grade 17.0" in preview and "SMOG 11.2" in preview
    assert "is above 8" in preview
    submitted = client.post(
        reverse("workflows:article-action", args=[article.pk, "submit"]), {}, follow=True
    ).content.decode()
    assert "is above 8" in submitted
    review = client.get(reverse("workflows:article-review", args=[article.pk])).content.decode()
    assert "Flesch–Kincaid grade 17.0" in review
