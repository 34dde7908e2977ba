"""Tests for citations.rendering: Markdown to safe HTML with numbered citations."""

import re
from html.parser import HTMLParser

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from citations.rendering import render_article, sanitize_html, slugify

SOURCES = {"a": "A", "b": "B", "c": "C", "d": "D", "e": "E", "doi:10.1000/a1": "A"}


def render(markdown):
    return render_article(markdown, SOURCES.get)


def test_single_citation_renders_superscript_link_to_reference():
    body = render("Axons are cut [@a].")
    assert '<sup class="citation"><a href="#ref-1" id="cite-1-1">1</a></sup>' in body.html
    assert body.citations == [{"number": 1, "source_id": "A", "key": "a"}]


def test_consecutive_numbers_collapse_to_a_range_linking_the_first_reference():
    body = render("[@a; @b; @c] [@d] [@e] [@e; @c; @a; @b]")
    sup = re.findall(r'<sup class="citation">.*?</sup>', body.html)[3]
    assert '<a href="#ref-1" id="cite-1-2">1\u20133</a>' in sup
    assert '<a href="#ref-5" id="cite-5-2">5</a>' in sup
    # Hidden anchors keep backlinks for 2 and 3 pointing at this marker.
    assert '<span id="cite-2-2"></span>' in sup and '<span id="cite-3-2"></span>' in sup
    assert re.sub(r"<[^>]+>", "", sup) == "1\u20133, 5"


def test_two_consecutive_numbers_are_not_collapsed():
    body = render("[@a; @b]")
    assert re.sub(r"<[^>]+>", "", body.html).strip() == "1, 2"


def test_repeated_source_reuses_number_and_collects_backlinks():
    body = render("[@a] and [@b]\n\nagain [@doi:10.1000/a1]")
    assert [c["number"] for c in body.citations] == [1, 2]
    assert 'href="#ref-1" id="cite-1-2"' in body.html
    assert body.backlinks == {1: ["cite-1-1", "cite-1-2"], 2: ["cite-2-1"]}


def test_every_backlink_anchor_exists_in_the_html():
    body = render("[@a; @b; @c] [@c; @d] [@a]")
    ids = set(re.findall(r'id="([^"]+)"', body.html))
    for anchors in body.backlinks.values():
        assert set(anchors) <= ids


def test_locator_is_shown_after_its_number():
    body = render("[@a, p. 12]")
    assert '<a href="#ref-1" id="cite-1-1">1</a>(p. 12)' in body.html


def test_unresolved_marker_renders_placeholder_and_is_reported():
    text = "Intro.\n\nClaim [@ghost; @a]."
    body = render(text)
    assert '<span class="citation-missing"' in body.html and "[?]</span>" in body.html
    assert body.unresolved == [
        {
            "marker": "[@ghost; @a]",
            "position": text.index("[@ghost"),
            "line": 3,
            "column": 7,
            "key": "ghost",
        }
    ]
    assert body.citations == [{"number": 1, "source_id": "A", "key": "a"}]


def test_marker_in_code_span_is_not_rendered_as_citation():
    body = render("Type `[@a]` to cite.\n\n```\n[@b]\n```")
    assert "<sup" not in body.html
    assert "<code>[@a]</code>" in body.html
    assert body.citations == []


def test_malformed_marker_stays_visible_as_text():
    body = render("Broken [@] marker and [@a")
    assert "[@]" in body.html and "[@a" in body.html
    assert "<sup" not in body.html


def test_headings_get_unique_slug_ids_and_are_collected():
    body = render("## Background [@a]\n\ntext\n\n## Background\n\n### Río & *risk*\n\n## Ref 1")
    assert body.headings == [
        {"level": 2, "text": "Background", "id": "background"},
        {"level": 2, "text": "Background", "id": "background-2"},
        {"level": 3, "text": "Río & risk", "id": "rio-risk"},
        {"level": 2, "text": "Ref 1", "id": "section-ref-1"},
    ]
    assert '<h2 id="background-2">' in body.html
    assert '<h3 id="rio-risk">' in body.html


def test_slugify_handles_empty_and_symbol_only_text():
    assert slugify("") == "section"
    assert slugify("!!!") == "section"
    assert slugify("Axonal Loss (2009)") == "axonal-loss-2009"


def test_tables_and_strikethrough_are_supported():
    body = render("| a | b |\n|--:|---|\n| [@a] | ~~old~~ |")
    assert '<th style="text-align:right">a</th>' in body.html
    assert "<s>old</s>" in body.html
    assert 'id="cite-1-1"' in body.html


XSS_CORPUS = [
    "<script>alert(1)</script>",
    '<img src=x onerror="alert(1)">',
    "<svg><script>alert(1)</script></svg>",
    "<svg onload=alert(1)>",
    '<iframe src="https://evil.example"></iframe>',
    "<style>body{display:none}</style>",
    "[click](javascript:alert(1))",
    "[click](JaVaScRiPt:alert(1))",
    "[click](  javascript:alert(1))",
    "[data](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "![img](data:image/svg+xml;base64,PHN2Zz48L3N2Zz4=)",
    "![img](javascript:alert(1))",
    '<a href="javascript:alert(1)">x</a>',
    '<div onclick="alert(1)">x</div>',
    "[x](vbscript:msgbox(1))",
    '<math><mi xlink:href="javascript:alert(1)">x</mi></math>',
    "[x][r]\n\n[r]: javascript:alert(1)",
    "<javascript:alert(1)>",
    '[x](http://ok.example "a\\" onmouseover=\\"alert(1)")',
]


class _TagCollector(HTMLParser):
    """Collect (tag, attributes) pairs as a browser's tokenizer would see them."""

    def __init__(self):
        super().__init__()
        self.elements = []

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, dict(attrs)))


def parsed_elements(html):
    collector = _TagCollector()
    collector.feed(html)
    collector.close()
    return collector.elements


@pytest.mark.parametrize("payload", XSS_CORPUS)
def test_rendering_never_emits_active_content(payload):
    html = render(f"Text [@a] {payload}\n\n{payload}").html
    elements = parsed_elements(html)
    assert elements, html
    for tag, attrs in elements:
        assert tag not in {"script", "svg", "iframe", "style", "math", "div", "object"}, html
        assert not any(name.startswith("on") for name in attrs), html
        for name in ("href", "src"):
            value = re.sub(r"\s", "", attrs.get(name) or "").lower()
            assert not value.startswith(("javascript:", "data:", "vbscript:")), html


def test_raw_html_is_shown_escaped_not_interpreted():
    html = render("<b>bold</b> <em>x</em>").html
    assert "&lt;b&gt;bold&lt;/b&gt;" in html


def test_safe_links_survive_rendering():
    html = render(
        "[site](https://example.org/a?b=1) [mail](mailto:x@example.org) [sec](#intro)"
    ).html
    assert 'href="https://example.org/a?b=1"' in html
    assert 'href="mailto:x@example.org"' in html
    assert 'href="#intro"' in html


@pytest.mark.parametrize(
    "dirty",
    [
        '<a href="javascript:alert(1)">x</a>',
        '<img src="data:image/png;base64,AAAA" onerror="alert(1)">',
        "<svg><script>alert(1)</script></svg>",
        '<sup class="citation" onclick="x()">1</sup>',
    ],
)
def test_sanitizer_strips_unsafe_markup_from_raw_html(dirty):
    cleaned = sanitize_html(dirty).lower()
    assert "javascript:" not in cleaned and "data:" not in cleaned
    assert "<script" not in cleaned and "<svg" not in cleaned and "onclick" not in cleaned
    assert "onerror" not in cleaned


def test_sanitizer_keeps_citation_markup():
    markup = '<sup class="citation"><a href="#ref-2" id="cite-2-1">2</a></sup>'
    assert sanitize_html(markup) == markup


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("[]@;,:.-_/()`\\ \n\t>#*|~ab1<>&\"'")), max_size=80))
def test_render_article_accepts_any_text_and_numbers_consecutively(text):
    body = render(text)
    assert [c["number"] for c in body.citations] == list(range(1, len(body.citations) + 1))
    assert "<script" not in body.html
