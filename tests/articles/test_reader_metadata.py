"""What machines read: sitemap, Atom feed, schema.org JSON-LD, canonical and Open Graph."""

import json
import re
from xml.etree import ElementTree

import pytest

from tests.factories import SourceFactory
from workflows import services

ATOM = "{http://www.w3.org/2005/Atom}"
SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"


@pytest.fixture
def live(editor, reviewer, article_in):
    SourceFactory(key="trapp1998", title="Axonal transection", doi="10.1056/nejm199801293380502")
    SourceFactory(key="book", type="book", title="Neurology textbook", doi="", pmid="")
    return article_in(
        "approved",
        editor=editor,
        reviewer=reviewer,
        title="Relapsing MS",
        summary="All about relapses.",
        body="Text [@trapp1998] and [@book].",
        audience="patients",
    )


def json_ld(html: str) -> dict:
    blocks = re.findall(r'<script type="application/ld\+json">(.*?)</script>', html, re.S)
    assert len(blocks) == 1
    return json.loads(blocks[0])


def test_json_ld_describes_a_medical_web_page_with_reviewer_and_citations(client, live, reviewer):
    data = json_ld(client.get(live.get_absolute_url()).content.decode())
    assert data["@context"] == "https://schema.org"
    assert data["@type"] == "MedicalWebPage"
    assert data["name"] == "Relapsing MS"
    assert data["lastReviewed"] == live.last_reviewed.date().isoformat()
    assert data["dateModified"].startswith(live.last_updated.date().isoformat())
    assert data["reviewedBy"]["@type"] == "Person"
    assert data["reviewedBy"]["name"] == "Dr Rita"
    assert data["reviewedBy"]["honorificSuffix"] == "MD"
    assert data["reviewedBy"]["url"].endswith(f"/editorial-policy/#reviewer-{reviewer.pk}")
    assert data["audience"]["audienceType"] == "Patient"
    first, second = data["citation"]
    assert first["@type"] == "ScholarlyArticle"
    assert first["name"] == "Axonal transection"
    assert first["url"] == "https://doi.org/10.1056/nejm199801293380502"
    assert second["@type"] == "CreativeWork"


def test_json_ld_cannot_be_closed_by_content(client, editor, reviewer, article_in):
    article = article_in(
        "approved",
        editor=editor,
        reviewer=reviewer,
        title="</script><script>alert(1)</script>",
        summary="a & b <!--",
    )
    html = client.get(article.get_absolute_url()).content.decode()
    block = re.search(r'<script type="application/ld\+json">(.*?)</script>', html, re.S).group(1)
    assert "<" not in block and ">" not in block and "&" not in block
    assert json.loads(block)["name"] == "</script><script>alert(1)</script>"


def test_article_page_has_canonical_and_open_graph_tags(client, live, settings):
    settings.SITE_URL = "https://reviewsite.example"
    html = client.get(live.get_absolute_url()).content.decode()
    url = f"https://reviewsite.example/articles/{live.slug}/"
    assert f'<link rel="canonical" href="{url}">' in html
    assert f'<meta property="og:url" content="{url}">' in html
    assert '<meta property="og:title" content="Relapsing MS">' in html
    assert '<meta property="og:description" content="All about relapses.">' in html
    assert '<meta property="og:type" content="article">' in html


def test_sitemap_lists_live_articles_with_lastmod(
    client, live, editor, reviewer, article_in, managing_editor
):
    draft = article_in("draft", editor=editor, reviewer=reviewer, title="Draft")
    archived = article_in("approved", editor=editor, reviewer=reviewer, title="Gone")
    services.article_archive(article_id=archived.pk, actor=managing_editor)
    response = client.get("/sitemap.xml")
    assert response.status_code == 200
    root = ElementTree.fromstring(response.content)
    entries = {
        url.findtext(f"{SITEMAP}loc"): url.findtext(f"{SITEMAP}lastmod")
        for url in root.iter(f"{SITEMAP}url")
    }
    article_entry = next(loc for loc in entries if loc.endswith(f"/articles/{live.slug}/"))
    assert entries[article_entry].startswith(live.last_updated.date().isoformat())
    assert not any(loc.endswith(f"/articles/{draft.slug}/") for loc in entries)
    assert not any(loc.endswith(f"/articles/{archived.slug}/") for loc in entries)
    assert any(loc.endswith("/editorial-policy/") for loc in entries)


def test_feed_is_atom_with_recent_approvals(client, live, editor, reviewer, article_in):
    draft = article_in("draft", editor=editor, reviewer=reviewer, title="Unapproved draft")
    response = client.get("/feed/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/atom+xml")
    root = ElementTree.fromstring(response.content)
    assert root.tag == f"{ATOM}feed"
    titles = [entry.findtext(f"{ATOM}title") for entry in root.iter(f"{ATOM}entry")]
    assert titles == ["Relapsing MS"]
    assert draft.title not in response.content.decode()
    entry = next(root.iter(f"{ATOM}entry"))
    assert entry.findtext(f"{ATOM}updated").startswith(live.last_updated.date().isoformat())
    link = entry.find(f"{ATOM}link").get("href")
    assert link.endswith(f"/articles/{live.slug}/")


def test_feed_lists_the_newest_approval_first(client, live, editor, reviewer, article_in):
    article_in("approved", editor=editor, reviewer=reviewer, title="Newest approval")
    root = ElementTree.fromstring(client.get("/feed/").content)
    titles = [entry.findtext(f"{ATOM}title") for entry in root.iter(f"{ATOM}entry")]
    assert titles == ["Newest approval", "Relapsing MS"]
