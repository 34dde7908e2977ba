"""The claims a citation supports: the sentence around each marker, and its section.

:func:`cited_sentences` parses article Markdown with the renderer's parser (so a
marker inside code is ignored exactly as on the page) and gives, for every marker,
the plain-text sentence it sits in, the heading above it and the marker's line and
column in the Markdown. A marker placed after the full stop (``… autism.[@w] Next``)
belongs to the sentence it follows. Callers decide which cited sources matter (for
affected claims: those that are not ``active``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from markdown_it.token import Token

from citations.rendering import _MD, _source_markers

__all__ = ["CitedSentence", "cited_sentences"]

# A sentence ends at . ! ? (closing quotes/brackets may follow) before space and a
# capital, digit or opening quote — unless the word before is a common abbreviation.
_BOUNDARY = re.compile(r"(?<=[.!?])[\"”’)\]]*\s+(?=[\"“‘(\[]?[A-Z0-9])")
_ABBREVIATIONS = frozenset(
    ("al", "e.g", "i.e", "cf", "vs", "fig", "figs", "no", "nos", "p", "pp", "vol", "ed", "eds",
     "dr", "mr", "mrs", "ms", "prof", "st", "approx", "ca", "resp")
)  # fmt: skip
_SPACE_BEFORE_PUNCT = re.compile(r"\s+([.,;:!?)\]])")
_MAX_SENTENCE = 600


@dataclass(frozen=True)
class CitedSentence:
    """One marker's cited keys, the sentence it supports, and where it is."""

    keys: tuple[str, ...]
    sentence: str
    section: str
    line: int
    column: int


def _plain(children: Sequence[Token]) -> tuple[str, list[tuple[int, Token]]]:
    """The visible text of an inline block, and where each citation token sits in it."""
    parts: list[str] = []
    length = 0
    citations: list[tuple[int, Token]] = []
    for child in children:
        if child.type == "citation":
            citations.append((length, child))
            continue
        if child.type in ("text", "code_inline"):
            text = child.content
        elif child.type in ("softbreak", "hardbreak"):
            text = " "
        elif child.type == "image":
            text = child.content or ""
        else:
            continue
        parts.append(text)
        length += len(text)
    return "".join(parts), citations


def _sentence_spans(text: str) -> list[tuple[int, int]]:
    spans, start = [], 0
    for match in _BOUNDARY.finditer(text):
        before = text[start : match.start()].rstrip('.!?"”’)]')
        word = before.rsplit(None, 1)[-1].lower() if before.split() else ""
        if word in _ABBREVIATIONS or (len(word) == 1 and word.isalpha()):
            continue  # "et al. Smith", "p. 12", initials such as "B. D. Trapp"
        spans.append((start, match.start()))
        start = match.end()
    spans.append((start, len(text)))
    return spans


def _tidy(text: str) -> str:
    text = " ".join(text.split())
    text = _SPACE_BEFORE_PUNCT.sub(r"\1", text)
    if len(text) > _MAX_SENTENCE:
        text = text[: _MAX_SENTENCE - 1].rstrip() + "…"
    return text


def cited_sentences(markdown: str) -> list[CitedSentence]:
    """Every well-formed marker outside code, in order, with its sentence and section."""
    tokens = _MD.parse(markdown, {})
    markers = {id(token): marker for token, marker in _source_markers(tokens, markdown)}
    found: list[CitedSentence] = []
    section = ""
    heading_next = False
    for token in tokens:
        if token.type == "heading_open":
            heading_next = True
            continue
        if token.type != "inline":
            continue
        text, citations = _plain(token.children or [])
        if heading_next:
            section = _tidy(text)
            heading_next = False
        if not citations:
            continue
        spans = _sentence_spans(text)
        for offset, citation in citations:
            start, end = next(((s, e) for s, e in spans if offset <= e), spans[-1])
            marker = markers.get(id(citation))
            if marker is None:
                continue
            found.append(
                CitedSentence(
                    keys=tuple(item.key for item in marker.items),
                    sentence=_tidy(text[start:end]),
                    section=section,
                    line=marker.line,
                    column=marker.column,
                )
            )
    return found
