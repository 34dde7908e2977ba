"""Reader pages are safe: hostile content is inert after the real pipeline, headers are sent."""

import re
from html.parser import HTMLParser

from articles.models import Article
from tests.factories import SourceFactory
from tests.helpers import approval_kwargs
from workflows import services

XSS_BODY = """## Attacks <b onclick=alert(1)>x</b>

<script>alert("body")</script>

<svg onload=alert(1)><circle r="1"/></svg>

<a href="javascript:alert(1)">raw link</a>

<iframe src="https://evil.example"></iframe>

[markdown js link](javascript:alert(1)) [mixed case](JaVaScRiPt:alert(1))
[entity](&#106;avascript:alert(1)) [data link](data:text/html;base64,PHNjcmlwdD4=)
[vbscript](vbscript:msgbox(1))

<details open ontoggle=alert(1)>x</details>

`<script>alert("code")</script>`

Cited [@evil].
"""

# Images are refused at save (tests/articles/test_figures.py); the renderer's handling
# of them is tested in tests/citations/test_rendering.py.
XSS_IMAGES = """<img src=x onerror=alert(1)>

![image js](javascript:alert(1)) ![image data](data:image/svg+xml;base64,PHN2Zz4=)
"""

XSS_TITLE = '<script>alert("title")</script><img src=x onerror=alert(1)>'
XSS_SUMMARY = '"><svg onload=alert(1)> & <a href="javascript:alert(1)">x</a>'


class ElementCollector(HTMLParser):
    """Every start tag and its attributes, as a browser's tokenizer would see them."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, dict(attrs)))

    handle_startendtag = handle_starttag


def elements(html: str) -> list[tuple[str, dict]]:
    parser = ElementCollector()
    parser.feed(html)
    return parser.elements


def assert_inert(html: str) -> None:
    found = elements(html)
    scripts = [attrs for tag, attrs in found if tag == "script"]
    # The only script element is the JSON-LD data block (never executed).
    assert all(attrs.get("type") == "application/ld+json" for attrs in scripts)
    assert len(re.findall(r"<script", html, re.I)) == len(scripts)
    assert not any(tag in ("svg", "iframe", "object", "embed", "math") for tag, _ in found)
    assert "<svg" not in html.lower()
    for tag, attrs in found:
        assert not any(name.startswith("on") for name in attrs), (tag, attrs)
        for name in ("href", "src", "action", "formaction"):
            value = (attrs.get(name) or "").strip().lower()
            assert not value.startswith(("javascript:", "data:", "vbscript:")), (tag, attrs)
    # A second, parser-independent look at every real tag: escaped text never contains a
    # literal "<", and Django escapes ">" in attribute values, so this finds all of them.
    for tag in re.findall(r"<[a-zA-Z][^>]*>", html):
        unquoted = re.sub(r'"[^"]*"', '""', tag)
        assert not re.search(r"\son\w+\s*=", unquoted, re.I), tag
        assert not re.search(
            r"""\s(?:href|src|action|formaction)\s*=\s*["']?\s*(?:javascript|vbscript|data):""",
            tag,
            re.I,
        ), tag


def test_hostile_article_is_inert_after_the_real_pipeline(client, editor, reviewer):
    SourceFactory(
        key="evil",
        title='<script>alert("source")</script> Study',
        url="javascript:alert(1)",
        container_title="<img src=x onerror=alert(1)>",
    )
    article = services.article_create(
        actor=editor, title=XSS_TITLE, summary=XSS_SUMMARY, body=XSS_BODY, topic="<b>t</b>"
    )
    services.article_submit(article_id=article.pk, actor=editor)
    services.article_start_review(article_id=article.pk, actor=reviewer)
    services.article_approve(article_id=article.pk, actor=reviewer, **approval_kwargs())
    article = Article.objects.get(pk=article.pk)

    html = client.get(article.get_absolute_url()).content.decode()
    assert_inert(html)
    # Title and summary are shown as text, escaped.
    assert "&lt;script&gt;alert(&quot;title&quot;)&lt;/script&gt;" in html
    assert "&quot;&gt;&lt;svg onload=alert(1)&gt; &amp;" in html
    assert "Cited" in html and 'id="ref-1"' in html

    listing = client.get("/").content.decode()
    assert_inert(listing)
    assert "&lt;script&gt;alert(&quot;title&quot;)" in listing
    assert_inert(client.get("/", {"q": '"><script>alert(1)</script>'}).content.decode())


def test_hostile_images_are_refused_at_save(editor):
    from django.core.exceptions import ValidationError

    try:
        services.article_create(actor=editor, title="Images", body=XSS_BODY + XSS_IMAGES)
    except ValidationError as refused:
        # markdown-it refuses javascript: and data:image/svg targets, so those two stay
        # inert text; the raw <img> is refused.
        assert [m.split(":")[0] for m in refused.message_dict["body"]] == ["Line 19"]
    else:
        raise AssertionError("hostile images were saved")
    assert not Article.objects.exists()


def test_hostile_working_copy_is_inert_in_the_staff_preview(client, editor):
    article = services.article_create(
        actor=editor, title=XSS_TITLE, summary=XSS_SUMMARY, body=XSS_BODY
    )
    client.force_login(editor)
    html = client.get(f"/preview/articles/{article.pk}/").content.decode()
    assert_inert(html)


def test_reader_pages_send_the_security_headers(client, editor, reviewer, article_in):
    article = article_in("approved", editor=editor, reviewer=reviewer)
    for url in (article.get_absolute_url(), "/", "/editorial-policy/"):
        response = client.get(url)
        csp = response["Content-Security-Policy"]
        assert "default-src 'self'" in csp
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp
        assert "object-src 'none'" in csp
        assert response["X-Content-Type-Options"] == "nosniff"
        assert response["Referrer-Policy"] == "strict-origin-when-cross-origin"
        assert response["X-Frame-Options"] == "DENY"


def test_reader_pages_load_no_third_party_assets(client, editor, reviewer, article_in):
    article = article_in("approved", editor=editor, reviewer=reviewer)
    html = client.get(article.get_absolute_url()).content.decode()
    for tag, attrs in elements(html):
        if tag in ("link", "script", "img") and (attrs.get("src") or attrs.get("href")):
            target = attrs.get("src") or attrs.get("href")
            if tag == "link" and attrs.get("rel") in ("canonical",):
                continue
            assert target.startswith("/"), (tag, attrs)


def test_audience_choice_only_accepts_known_audiences(client, editor, reviewer, article_in):
    article = article_in("approved", editor=editor, reviewer=reviewer)
    response = client.get(article.get_absolute_url(), {"audience": "<script>"})
    assert response.status_code == 200
    assert "reviewsite_audience" not in response.cookies


def test_feed_summaries_are_plain_text_so_readers_render_no_markup(client, editor, reviewer):
    from xml.etree import ElementTree

    atom = "{http://www.w3.org/2005/Atom}"
    hostile = 'Read <img src=x onerror=alert(1)> & "more"'
    article = services.article_create(actor=editor, title=XSS_TITLE, summary=hostile, body="Hi.")
    services.article_submit(article_id=article.pk, actor=editor)
    services.article_start_review(article_id=article.pk, actor=reviewer)
    services.article_approve(article_id=article.pk, actor=reviewer, **approval_kwargs())

    root = ElementTree.fromstring(client.get("/feed/").content)
    (entry,) = root.iter(f"{atom}entry")
    summary = entry.find(f"{atom}summary")
    # Atom: type="text" content is shown as text; "html" would be decoded and rendered.
    assert summary.get("type") == "text"
    assert summary.text == hostile
    assert entry.find(f"{atom}title").get("type") in (None, "text")
    assert entry.findtext(f"{atom}title") == XSS_TITLE
