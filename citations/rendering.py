"""Render article Markdown to sanitised HTML with numbered citations.

Pipeline:

1. markdown-it-py parses the text with raw HTML disabled (CommonMark plus
   tables and strikethrough). An inline rule, sharing its grammar with
   :mod:`citations.markers`, turns each ``[@...]`` marker into a ``citation``
   token. Code spans and code blocks never reach inline rules, so markers there
   stay literal text, exactly as :func:`citations.markers.find_markers` treats them.
2. The citation tokens are numbered in document order with
   :func:`citations.numbering.number_citations`, so the numbers follow what the
   reader actually sees.
3. A core rule gives every heading a unique slug id and records it for the
   "In this article" table of contents.
4. The rendered HTML goes through nh3 with an allow-list covering exactly what
   the renderer produces. This is defence in depth: markdown-it already escapes
   raw HTML and refuses ``javascript:``/``data:`` link targets.

Citation markup: ``<sup class="citation">`` holding one link per visible number
or collapsed range (``1–3, 5``); each link points at the first reference of
its group (``#ref-1``) and carries the anchor id ``cite-1-k`` used for
backlinks. Numbers hidden inside a collapsed range get an empty
``<span id="cite-2-k">`` so their backlinks still land on the marker. A locator
is shown after its number (``3(p. 12)``) and such numbers are not collapsed.
Unresolved keys render as ``<span class="citation-missing">[?]</span>``.

Figures: an image whose target is ``figure:<id>`` and that stands alone in its
paragraph renders as ``<figure>`` with a responsive ``<img srcset sizes>`` and a
``<figcaption>``, from the :class:`FigureImage` the caller's ``figures`` callback
gives for each id (this module knows nothing of where figures are stored). Every
other image (another site's, a ``data:`` URL) and raw ``<img>`` HTML is reported
by :func:`outside_images`; such images never render.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from html import escape
from typing import Any

import nh3
from markdown_it import MarkdownIt
from markdown_it.rules_core import StateCore
from markdown_it.rules_inline import StateInline
from markdown_it.token import Token

from citations.markers import (
    CiteItem,
    Marker,
    _line_end,
    _Parsed,
    find_markers_lenient,
    parse_marker_at,
)
from citations.numbering import EN_DASH, number_citations, number_groups

__all__ = [
    "FIGURE_PREFIX",
    "FigureImage",
    "RenderedBody",
    "citation_plugin",
    "figure_refs",
    "outside_images",
    "render_article",
    "sanitize_html",
    "slugify",
]

#: An image target naming an uploaded figure: ``![alt](figure:12)``.
FIGURE_PREFIX = "figure:"
#: The reading column is at most this wide (reviewsite/static/css/site.css).
FIGURE_SIZES = "(max-width: 48rem) 100vw, 48rem"

_HEADING_TAGS = {"h1", "h2", "h3", "h4", "h5", "h6"}
_ALLOWED_TAGS = _HEADING_TAGS | {
    "a",
    "blockquote",
    "br",
    "code",
    "del",
    "em",
    "figcaption",
    "figure",
    "hr",
    "img",
    "li",
    "ol",
    "p",
    "pre",
    "s",
    "span",
    "strong",
    "sub",
    "sup",
    "table",
    "tbody",
    "td",
    "th",
    "thead",
    "tr",
    "ul",
}
_ALLOWED_ATTRIBUTES: dict[str, set[str]] = {
    "a": {"href", "id", "class", "title"},
    # Only figures render images (served from this site); see _render_figure.
    "img": {"src", "srcset", "sizes", "alt", "width", "height", "loading", "decoding"},
    "figure": {"class"},
    "sup": {"class", "id"},
    "span": {"class", "id", "title"},
    "code": {"class"},
    "ol": {"start"},
    # markdown-it writes table column alignment as style="text-align:..."
    "th": {"style"},
    "td": {"style"},
    **{tag: {"id"} for tag in _HEADING_TAGS},
}
# Dropped together with their content, not just unwrapped.
_CLEAN_CONTENT_TAGS = {"script", "style", "svg", "math", "iframe", "object", "embed", "template"}

_CLEANER = nh3.Cleaner(
    tags=_ALLOWED_TAGS,
    clean_content_tags=_CLEAN_CONTENT_TAGS,
    attributes=_ALLOWED_ATTRIBUTES,
    url_schemes={"http", "https", "mailto"},
    filter_style_properties={"text-align"},
    # No target attribute is allowed, so rel="noopener" would add nothing.
    link_rel=None,
)

# Heading slugs that could collide with the citation anchors we generate.
_RESERVED_SLUG = re.compile(r"^(?:ref|cite)-\d")


@dataclass
class RenderedBody:
    """Rendered article body plus the data templates need around it."""

    html: str
    headings: list[dict[str, Any]] = field(default_factory=list)
    citations: list[dict[str, Any]] = field(default_factory=list)
    backlinks: dict[int, list[str]] = field(default_factory=dict)
    unresolved: list[dict[str, Any]] = field(default_factory=list)
    #: The figures shown, in order of first appearance: ``{"ref", **FigureImage fields}``.
    figures: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class FigureImage:
    """What a figure renders from: the served files and the words around them."""

    src: str
    srcset: str  # "url 480w, url 960w, ..."
    width: int
    height: int
    alt: str  # "" for a decorative figure
    caption: str = ""
    credit: str = ""
    file_hash: str = ""


def sanitize_html(html: str) -> str:
    """Clean ``html`` with the article allow-list (no scripts, handlers or unsafe URLs)."""
    return _CLEANER.clean(html)


def slugify(text: str) -> str:
    """Return a lower-case, hyphenated id fragment for ``text`` ("section" if empty)."""
    decomposed = unicodedata.normalize("NFKD", text)
    # Drop accents but keep other scripts: "Río" -> "rio", Greek stays Greek.
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    slug = re.sub(r"[^\w]+", "-", stripped.lower()).strip("-_")
    return slug or "section"


# --- markdown-it plugin -------------------------------------------------------------------


def _citation_rule(state: StateInline, silent: bool) -> bool:
    """Inline rule: turn a well-formed ``[@...]`` marker into a ``citation`` token."""
    pos = state.pos
    src = state.src
    if not src.startswith("[@", pos):
        return False
    result = parse_marker_at(src, pos, _next_break(state))
    if not isinstance(result, _Parsed):
        # Malformed markers stay visible as text; check_markers reports them.
        return False
    after = src[result.end : result.end + 1] if result.end < state.posMax else ""
    if after == "(":
        return False  # "[@x](url)" is a link, as in find_markers
    if after == ":" and (pos == 0 or src[pos - 1] == "\n"):
        return False  # looks like a link reference definition
    if not silent:
        token = state.push("citation", "", 0)
        token.content = src[pos : result.end]
        token.meta = {"items": result.items}
    state.pos = result.end
    return True


def _next_break(state: StateInline) -> int:
    """End of the line at ``state.pos``, remembered per inline block so scans stay linear."""
    # (src, posMax, from, end): no line break lies between ``from`` and ``end``.
    cached = state.env.get("_citation_line_end")
    if (
        cached
        and cached[0] is state.src
        and cached[1] == state.posMax
        and cached[2] <= state.pos <= cached[3]
    ):
        return cached[3]
    end = _line_end(state.src, state.pos, state.posMax)
    state.env["_citation_line_end"] = (state.src, state.posMax, state.pos, end)
    return end


def _heading_ids_rule(state: StateCore) -> None:
    """Core rule: give each heading a unique slug id and record it in env["headings"]."""
    headings = state.env.setdefault("headings", [])
    used: set[str] = state.env.setdefault("heading_ids", set())
    tokens = state.tokens
    for index, token in enumerate(tokens):
        if token.type != "heading_open" or index + 1 >= len(tokens):
            continue
        text = _plain_text(tokens[index + 1].children or [])
        base = slugify(text)
        if _RESERVED_SLUG.match(base):
            base = f"section-{base}"
        slug, suffix = base, 2
        while slug in used:
            slug = f"{base}-{suffix}"
            suffix += 1
        used.add(slug)
        token.attrSet("id", slug)
        headings.append({"level": int(token.tag[1]), "text": text, "id": slug})


def _plain_text(children: Sequence[Token]) -> str:
    """Visible text of inline tokens, leaving out citation markers."""
    parts = []
    for child in children:
        if child.type in ("text", "code_inline"):
            parts.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            parts.append(" ")
        elif child.type == "image":
            parts.append(_plain_text(child.children or []))
    return " ".join("".join(parts).split())


def _render_citation(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    """Render one citation token from the numbers stored in its meta."""
    meta = tokens[idx].meta
    numbers: tuple[int, ...] = meta.get("numbers", ())
    anchors: dict[int, str] = meta.get("anchors", {})
    locators: dict[int, str] = meta.get("locators", {})
    missing: list[str] = meta.get("missing", [])

    # (sort key, html) so entries with and without locators interleave by number.
    entries: list[tuple[int, str]] = []
    for number in numbers:
        if number in locators:
            link = _link(number, str(number), anchors)
            entries.append((number, f"{link}({escape(locators[number])})"))
    plain = [n for n in numbers if n not in locators]
    for first, last in number_groups(plain):
        if first == last:
            entries.append((first, _link(first, str(first), anchors)))
            continue
        hidden = "".join(
            f'<span id="{anchors[n]}"></span>' for n in range(first + 1, last + 1) if n in anchors
        )
        entries.append((first, hidden + _link(first, f"{first}{EN_DASH}{last}", anchors)))
    entries.sort(key=lambda entry: entry[0])
    parts = [html for _, html in entries]
    if missing:
        title = escape("Unresolved citation: " + "; ".join("@" + key for key in missing))
        parts.append(f'<span class="citation-missing" title="{title}">[?]</span>')
    return f'<sup class="citation">{", ".join(parts)}</sup>'


def _link(number: int, label: str, anchors: dict[int, str]) -> str:
    return f'<a href="#ref-{number}" id="{anchors[number]}">{label}</a>'


def _render_figure(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    """A ``figure:<id>`` image standing alone: ``<figure>``, responsive ``<img>``, caption."""
    token = tokens[idx]
    image: FigureImage = token.meta["figure"]
    written = self.renderInlineAsText(token.children or [], options, env).strip()
    alt = written or image.alt
    img = (
        f'<img src="{escape(image.src)}" srcset="{escape(image.srcset)}" '
        f'sizes="{FIGURE_SIZES}" width="{image.width}" height="{image.height}" '
        f'alt="{escape(alt)}" loading="lazy" decoding="async">'
    )
    words = []
    if image.caption:
        words.append(escape(image.caption))
    if image.credit:
        words.append(f'<span class="figure-credit">{escape(image.credit)}</span>')
    caption = f"<figcaption>{' '.join(words)}</figcaption>" if words else ""
    return f'<figure class="figure">{img}{caption}</figure>\n'


def _render_image_refused(
    self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any
) -> str:
    """An image that may not show (another site's, unknown figure): a visible placeholder."""
    return '<span class="figure-missing">[image not shown]</span>'


def citation_plugin(md: MarkdownIt) -> None:
    """markdown-it plugin: citation markers as tokens, and heading ids."""
    md.inline.ruler.before("link", "citation", _citation_rule)
    md.core.ruler.after("inline", "heading_ids", _heading_ids_rule)
    md.add_render_rule("citation", _render_citation)
    md.add_render_rule("figure", _render_figure)
    md.add_render_rule("image", _render_image_refused)


def _build_markdown() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False}).enable(["table", "strikethrough"])
    md.use(citation_plugin)
    return md


_MD = _build_markdown()
# Only to find raw HTML images that the renderer (html disabled) would show as text.
_MD_HTML = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])
_RAW_IMG = re.compile(r"<img\b", re.IGNORECASE)


def _images(tokens: Sequence[Token]):
    """Each image token with its inline block: ``(block, index in children, token)``."""
    for block in tokens:
        if block.type != "inline":
            continue
        for index, child in enumerate(block.children or []):
            if child.type == "image":
                yield block, index, child


def _line(block: Token) -> int:
    return block.map[0] + 1 if block.map else 0


def figure_refs(markdown: str) -> list[str]:
    """The figure ids (text after ``figure:``) the body refers to, in order, once each."""
    refs: dict[str, None] = {}
    for _, _, image in _images(_MD.parse(markdown, {})):
        src = image.attrGet("src") or ""
        if src.startswith(FIGURE_PREFIX):
            refs.setdefault(src[len(FIGURE_PREFIX) :], None)
    return list(refs)


def outside_images(markdown: str) -> list[dict[str, Any]]:
    """Images the site refuses to show: other sites' (or ``data:``) and raw ``<img>`` HTML.

    Each as ``{"line", "image"}``, in order; code spans and blocks are not images.
    """
    found = []
    for block, _, image in _images(_MD.parse(markdown, {})):
        src = image.attrGet("src") or ""
        if not src.startswith(FIGURE_PREFIX):
            found.append({"line": _line(block), "image": src[:200]})
    for token in _MD_HTML.parse(markdown, {}):
        parts = [token] if token.type == "html_block" else []
        if token.type == "inline":
            parts = [c for c in token.children or [] if c.type == "html_inline"]
        for part in parts:
            if _RAW_IMG.search(part.content):
                found.append({"line": _line(token), "image": part.content.strip()[:200]})
    return sorted(found, key=lambda problem: problem["line"])


def _place_figures(
    tokens: Sequence[Token], figures: Callable[[list[str]], Mapping[str, FigureImage]] | None
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Turn each lone ``figure:<id>`` image into a ``figure`` token; report the rest.

    Returns (figures shown, problems). A paragraph holding only the figure loses its
    ``<p>``, since ``<figure>`` may not sit inside one.
    """
    found = list(_images(tokens))
    refs = [
        image.attrGet("src")[len(FIGURE_PREFIX) :]
        for _, _, image in found
        if (image.attrGet("src") or "").startswith(FIGURE_PREFIX)
    ]
    resolved = figures(list(dict.fromkeys(refs))) if (figures and refs) else {}
    shown: dict[str, dict[str, Any]] = {}
    problems: list[dict[str, Any]] = []
    index_of = {id(token): i for i, token in enumerate(tokens)}
    for block, _, image in found:
        src = image.attrGet("src") or ""
        written = "![" + _plain_text(image.children or []) + "](" + src + ")"
        where = {"marker": written, "position": -1, "line": _line(block), "column": 0}
        if not src.startswith(FIGURE_PREFIX):
            problems.append(
                {
                    **where,
                    "key": "",
                    "error": "Images from other sites are not shown; upload the image as a "
                    "figure and write ![alt](figure:<id>).",
                }
            )
            continue
        ref = src[len(FIGURE_PREFIX) :]
        if ref not in resolved:
            problems.append({**where, "key": src, "error": f"No figure has the id {ref!r}."})
            continue
        children = [
            c for c in block.children or [] if not (c.type == "text" and not c.content.strip())
        ]
        at = index_of[id(block)]
        alone = (
            children == [image]
            and 0 < at < len(tokens) - 1
            and tokens[at - 1].type == "paragraph_open"
            and tokens[at + 1].type == "paragraph_close"
        )
        if not alone:
            problems.append(
                {
                    **where,
                    "key": src,
                    "error": "Put the figure on a line of its own, with a blank line around it.",
                }
            )
            continue
        tokens[at - 1].hidden = tokens[at + 1].hidden = True
        image.type = "figure"
        image.meta["figure"] = resolved[ref]
        shown.setdefault(ref, {"ref": ref, **resolved[ref].__dict__})
    return list(shown.values()), problems


# --- public entry point -------------------------------------------------------------------


def _source_markers(tokens: Sequence[Token], markdown: str) -> list[tuple[Token, Marker]]:
    """Pair each citation token with a Marker carrying its source position.

    Inline tokens do not know their offsets, so we walk the source markers in
    order and take the next one with the same text. A token with no match (not
    expected in practice) gets position -1 and the line of its block.
    """
    source = find_markers_lenient(markdown)
    cursor = 0
    pairs: list[tuple[Token, Marker]] = []
    for block in tokens:
        if block.type != "inline":
            continue
        for child in block.children or []:
            if child.type != "citation":
                continue
            match = next(
                (i for i in range(cursor, len(source)) if source[i].text == child.content), None
            )
            if match is not None:
                marker = source[match]
                cursor = match + 1
            else:
                line = block.map[0] + 1 if block.map else 0
                items: tuple[CiteItem, ...] = child.meta["items"]
                marker = Marker(-1, -1, line, 0, items, child.content)
            pairs.append((child, marker))
    return pairs


def render_article(
    markdown: str,
    resolve: Callable[[str], Hashable | None],
    figures: Callable[[list[str]], Mapping[str, FigureImage]] | None = None,
) -> RenderedBody:
    """Render article Markdown to sanitised HTML, numbering citations via ``resolve``.

    ``figures`` is called once with every figure id the body refers to and returns
    those that exist; without it no figure resolves.
    """
    cache: dict[str, Hashable | None] = {}

    def cached_resolve(key: str) -> Hashable | None:
        # resolve may hit the database; every key is looked up once per render.
        if key not in cache:
            cache[key] = resolve(key)
        return cache[key]

    env: dict[str, Any] = {}
    tokens = _MD.parse(markdown, env)
    pairs = _source_markers(tokens, markdown)
    numbering = number_citations([marker for _, marker in pairs], cached_resolve)

    for index, (token, marker) in enumerate(pairs):
        locators: dict[int, str] = {}
        missing: list[str] = []
        for item in marker.items:
            source_id = cached_resolve(item.key)
            if source_id is None:
                missing.append(item.key)
                continue
            number = numbering.number_for(source_id)
            if item.locator and number is not None:
                locators.setdefault(number, item.locator)
        token.meta.update(
            numbers=numbering.marker_numbers[index],
            anchors=numbering.marker_anchors[index],
            locators=locators,
            missing=missing,
        )

    shown, figure_problems = _place_figures(tokens, figures)
    html = sanitize_html(_MD.renderer.render(tokens, _MD.options, env))
    return RenderedBody(
        html=html,
        headings=env.get("headings", []),
        citations=[
            {"number": s.number, "source_id": s.source_id, "key": s.first_key}
            for s in numbering.sources
        ],
        backlinks=numbering.backlinks,
        unresolved=[
            {
                "marker": u.marker.text,
                "position": u.position,
                "line": u.line,
                "column": u.column,
                "key": u.key,
            }
            for u in numbering.unresolved
        ]
        + figure_problems,
        figures=shown,
    )
