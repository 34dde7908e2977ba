"""One URL rule for every way a source is stored or shown; generated keys never collide."""

import json
import re

import pytest

from citations import services
from citations.identifiers import InvalidIdentifier, normalize_url
from citations.models import Source
from tests import factories
from tests.helpers import client_for, make_article

pytestmark = pytest.mark.django_db

HOSTILE = "javascript:alert(document.domain)"


@pytest.mark.parametrize(
    "value",
    [HOSTILE, " JavaScript:alert(1)", "data:text/html,x", "vbscript:x", "ftp://example.org/x",
     "//example.org/x", "https://", "https://exa mple.org/", "http://a\nb.org/"],
)  # fmt: skip
def test_the_url_rule_refuses_anything_but_http_and_https(value):
    with pytest.raises(InvalidIdentifier):
        normalize_url(value)


def test_the_url_rule_keeps_web_addresses():
    assert normalize_url("") == ""
    assert normalize_url(" https://example.org/a?b=1#c ") == "https://example.org/a?b=1#c"
    assert normalize_url("HTTP://Example.org/") == "HTTP://Example.org/"


def test_import_drops_a_javascript_url_and_says_so(editor):
    data = (
        "TY  - JOUR\nTI  - Hostile link study\nAU  - Smith, J\nPY  - 2020\n"
        f"UR  - {HOSTILE}\nER  - \n"
    ).encode()
    report = services.source_import(actor=editor, data=data, filename="refs.ris")
    (line,) = report["entries"]
    assert line["outcome"] == "created"
    assert "url" in line["reason"] and "http" in line["reason"]
    assert Source.objects.get().url == ""


def test_api_and_import_apply_the_same_rule(editor):
    client = client_for(editor)
    for url in (HOSTILE, "ftp://example.org/paper.pdf"):
        response = client.post("/api/v1/sources/", {"title": "T", "url": url}, format="json")
        assert response.status_code == 400, url
        assert "url" in response.json()
    source = factories.SourceFactory()
    patched = client.patch(f"/api/v1/sources/{source.pk}/", {"url": HOSTILE}, format="json")
    assert patched.status_code == 400


def test_json_ld_never_emits_a_non_web_url(client, editor, reviewer):
    # Stored before the rule existed (straight into the table).
    factories.SourceFactory(key="old", doi="", url=HOSTILE)
    article = make_article(editor=editor, reviewer=reviewer, state="approved", body="[@old]")
    html = client.get(article.get_absolute_url()).content.decode()
    (block,) = re.findall(r'<script type="application/ld\+json">(.*?)</script>', html, re.S)
    (citation,) = json.loads(block)["citation"]
    assert "url" not in citation
    assert "javascript" not in html.lower()


def test_sources_without_a_key_get_distinct_generated_keys(editor):
    client = client_for(editor)
    body = {"title": "Zeta waves in sleep", "issued": "1999"}
    first = client.post("/api/v1/sources/", body, format="json")
    second = client.post("/api/v1/sources/", {**body, "title": "Zeta waves in wake"}, format="json")
    assert first.status_code == 201
    assert second.status_code == 201, second.json()
    assert first.json()["key"] == "anon1999zeta"
    assert second.json()["key"] != first.json()["key"]
    assert second.json()["key"].startswith("anon1999zeta")


def test_an_explicit_key_that_collides_is_a_400_naming_that_key(editor):
    client = client_for(editor)
    factories.SourceFactory(key="trapp1998")
    response = client.post("/api/v1/sources/", {"title": "T", "key": "trapp1998"}, format="json")
    assert response.status_code == 400
    assert "trapp1998" in response.json()["key"][0]


def test_patching_a_blank_key_keeps_the_key_instead_of_naming_a_generated_one(editor):
    client = client_for(editor)
    factories.SourceFactory(key="anon1999zeta", title="Zeta waves", authors=[], issued="1999")
    other = factories.SourceFactory(key="mine", title="Zeta rhythms", authors=[], issued="1999")
    response = client.patch(f"/api/v1/sources/{other.pk}/", {"key": ""}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["key"] == "mine"
