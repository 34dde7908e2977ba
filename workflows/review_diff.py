"""The review page's rendered diff: what readers will see, with changes marked word by word.

Blocks (paragraphs, headings, lists, tables, figures) of the two rendered
bodies are aligned with difflib; a changed block is diffed word by word with
lxml's ``htmldiff`` (a maintained HTML-aware differ), and whole blocks added or
removed are marked as such. Aligning blocks first keeps lxml from pairing words
across unrelated paragraphs. The result is cleaned with the article allow-list
plus ``ins``/``del`` and the marking classes.
"""

from __future__ import annotations

from difflib import SequenceMatcher

import nh3
from lxml import html as lxml_html
from lxml.html.diff import htmldiff

_ADDED = '<div class="diff-block diff-block--added">{}</div>'
_REMOVED = '<div class="diff-block diff-block--removed">{}</div>'
_CHANGED = '<div class="diff-block diff-block--changed">{}</div>'


def _cleaner() -> nh3.Cleaner:
    from citations.rendering import _ALLOWED_ATTRIBUTES, _ALLOWED_TAGS

    attributes = {**_ALLOWED_ATTRIBUTES, "div": {"class"}}
    return nh3.Cleaner(
        tags=_ALLOWED_TAGS | {"div", "ins", "del"},
        attributes=attributes,
        url_schemes={"http", "https", "mailto"},
        filter_style_properties={"text-align"},
        link_rel=None,
    )


def _blocks(html: str) -> list[tuple[str, str]]:
    """``(text, html)`` of each top-level block of a rendered body."""
    if not html.strip():
        return []
    blocks = []
    for element in lxml_html.fragments_fromstring(html):
        if isinstance(element, str):
            if element.strip():
                blocks.append((element.strip(), element))
            continue
        markup = lxml_html.tostring(element, encoding="unicode")
        text = " ".join(element.text_content().split())
        blocks.append((text or markup, markup))
    return blocks


def rendered_diff(old_html: str, new_html: str) -> str:
    """The new rendered body with insertions and deletions marked, as safe HTML."""
    old, new = _blocks(old_html), _blocks(new_html)
    matcher = SequenceMatcher(a=[t for t, _ in old], b=[t for t, _ in new], autojunk=False)
    out: list[str] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            out.extend(markup for _, markup in new[j1:j2])
            continue
        removed, added = old[i1:i2], new[j1:j2]
        paired = min(len(removed), len(added)) if tag == "replace" else 0
        for (_, before), (_, after) in zip(removed[:paired], added[:paired], strict=True):
            out.append(_CHANGED.format(htmldiff(before, after)))
        out.extend(_REMOVED.format(f"<del>{markup}</del>") for _, markup in removed[paired:])
        out.extend(_ADDED.format(f"<ins>{markup}</ins>") for _, markup in added[paired:])
    return _cleaner().clean("".join(out))
