"""Pandoc-style citation markers in Markdown.

A citation marker is a bracketed list of one or more cited keys, each
introduced by ``@``::

    [@trapp1998]
    [@trapp1998; @frischer2009]
    [@trapp1998, p. 280]                      (locator after a comma)
    [@doi:10.1016/s0140-6736(97)11096-0]
    [@pmid:9445407]

Rules (a deliberately small subset of pandoc's syntax):

* A marker starts with ``[@`` and must close with ``]`` on the same line.
  Prefix text such as ``[see @key]`` is not recognised: it is left as plain
  text (never an error), which keeps prose like ``[meet @ noon]`` harmless.
* A plain key starts with a letter, digit or ``_`` and continues with letters,
  digits, ``_`` and single internal punctuation characters ``:.#$%&-+?<>~/``
  that are followed by a letter or digit (pandoc's rule), so ``[@doe99.]``
  is an error rather than the key ``doe99.``.
* ``doi:`` keys take the rest of the DOI: any non-space characters, where
  ``;`` ends the DOI only when followed by optional spaces and ``@`` (the
  next item), ``,`` only when followed by a space (a locator) and ``]`` only
  when brackets inside the DOI are balanced. Real DOIs such as
  ``10.1002/(SICI)1097-4636(199706)35:4<...>3.0.CO;2-2`` stay intact.
* ``pmid:`` keys must be digits.
* Keys are returned as written, except that the ``doi:``/``pmid:`` prefixes are
  lower-cased.
* Markers inside code spans, fenced and indented code blocks are ignored, as
  are backslash-escaped brackets (``\\[@x]``), link text (``[@x](url)``) and
  link reference definitions (``[@x]: url``).

Limits (one home for them; the article services refuse a body past them with a
400 naming the limit): at most :data:`MAX_MARKERS_PER_BODY` markers in a body and
:data:`MAX_KEYS_PER_MARKER` keys in one marker. The parser stops reading a
marker at the limit, so no input makes it (or what is stored about it) grow past
the limit. Scanning is linear in the length of the text.

Positions are 0-based character offsets into the original string; ``line``
and ``column`` are 1-based (column counts characters). ``\\r\\n`` and ``\\r``
count as line breaks.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass
from typing import Any

from markdown_it import MarkdownIt

__all__ = [
    "CiteItem",
    "Marker",
    "MarkerSyntaxError",
    "bound_problems",
    "check_markers",
    "find_markers",
    "find_markers_lenient",
    "limit_problems",
    "parse_marker_at",
]

# Internal punctuation allowed inside a plain key when followed by a letter/digit.
_KEY_PUNCT = frozenset(":.#$%&-+?<>~/")
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_BREAK_CHAR = re.compile(r"[\r\n]")
_BACKTICKS = re.compile(r"`+")
_DOI_BODY = re.compile(r"10\.\d+(?:\.\d+)*/\S")
# Longest text we quote back in an error report, so a runaway line stays readable.
_MAX_ERROR_TEXT = 120

#: Most keys one marker may cite (``[@a; @b; …]``); real groups cite a handful.
MAX_KEYS_PER_MARKER = 30
#: Most citation markers one article body may hold.
MAX_MARKERS_PER_BODY = 1000
#: Most marker problems stored with a revision; one more entry says how many were left out.
MAX_REPORTED_PROBLEMS = 50


@dataclass(frozen=True)
class CiteItem:
    """One cited key inside a marker, with an optional locator (``p. 12``)."""

    key: str
    locator: str = ""


@dataclass(frozen=True)
class Marker:
    """A parsed citation marker and where it sits in the source text."""

    start: int
    end: int
    line: int
    column: int
    items: tuple[CiteItem, ...]
    text: str


class MarkerSyntaxError(ValueError):
    """A marker that clearly started as a citation (``[@``) but is malformed."""

    def __init__(
        self,
        message: str,
        *,
        position: int,
        line: int,
        column: int,
        text: str,
        over_limit: bool = False,
    ):
        super().__init__(f"{message} at line {line}, column {column}: {text!r}")
        self.message = message
        self.over_limit = over_limit
        self.position = position
        self.line = line
        self.column = column
        self.text = text


@dataclass(frozen=True)
class _Parsed:
    """Result of parsing one marker in a single line of text (offsets local to it)."""

    end: int
    items: tuple[CiteItem, ...]


@dataclass(frozen=True)
class _Failed:
    """A malformed marker: what is wrong and how far the bad text reaches."""

    message: str
    end: int
    over_limit: bool = False


def _is_word(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


def _skip_spaces(src: str, pos: int, limit: int) -> int:
    while pos < limit and src[pos] in " \t":
        pos += 1
    return pos


def _line_end(src: str, pos: int, limit: int | None = None) -> int:
    """Offset of the first line break at or after ``pos`` (or ``limit`` / the end)."""
    limit = len(src) if limit is None else limit
    found = _BREAK_CHAR.search(src, pos, limit)
    return found.start() if found else limit


def _parse_doi(src: str, pos: int, limit: int) -> int:
    """Return the end of a DOI body starting at ``pos`` (see module docstring)."""
    depth = 0
    while pos < limit:
        ch = src[pos]
        if ch in " \t":
            break
        if ch == "[":
            depth += 1
        elif ch == "]":
            if depth == 0:
                break
            depth -= 1
        elif ch == ";":
            nxt = _skip_spaces(src, pos + 1, limit)
            if nxt >= limit or src[nxt] in "@]":
                break
        elif ch == ",":
            if pos + 1 >= limit or src[pos + 1] in " \t]":
                break
        pos += 1
    return pos


def _parse_plain_key(src: str, pos: int, limit: int) -> int:
    """Return the end of a pandoc-style key starting at ``pos`` (``pos`` if none)."""
    if pos >= limit or not _is_word(src[pos]):
        return pos
    pos += 1
    while pos < limit:
        ch = src[pos]
        if _is_word(ch):
            pos += 1
        elif ch in _KEY_PUNCT and pos + 1 < limit and _is_word(src[pos + 1]):
            pos += 2
        else:
            break
    return pos


def _parse_key(src: str, pos: int, limit: int) -> tuple[str, int] | _Failed:
    """Parse a key after ``@``; returns (normalised key, end) or a failure."""
    head = src[pos : pos + 5].lower()
    if head.startswith("doi:"):
        body_start = pos + 4
        end = _parse_doi(src, body_start, limit)
        body = src[body_start:end]
        if not _DOI_BODY.match(body):
            return _Failed("a doi: key needs a DOI like 10.1000/xyz", end)
        return "doi:" + body, end
    if head == "pmid:":
        body_start = pos + 5
        end = body_start
        while end < limit and src[end].isascii() and src[end].isdigit():
            end += 1
        if end == body_start or (end < limit and _is_word(src[end])):
            return _Failed("a pmid: key needs digits only", _parse_plain_key(src, pos, limit))
        return "pmid:" + src[body_start:end], end
    end = _parse_plain_key(src, pos, limit)
    if end == pos:
        return _Failed("missing citation key after '@'", pos)
    return src[pos:end], end


def parse_marker_at(src: str, pos: int, line_end: int | None = None) -> _Parsed | _Failed | None:
    """Parse a marker at ``src[pos]``: parsed, failed, or ``None`` if not a marker.

    Shared by :func:`find_markers` and the Markdown renderer so both agree on
    what a citation is. Only the rest of the current line is examined (callers
    that know where it ends pass ``line_end``, which keeps a scan linear).
    """
    if not src.startswith("[@", pos):
        return None
    limit = _line_end(src, pos) if line_end is None else line_end
    items: list[CiteItem] = []
    cur = pos + 1
    while True:
        cur = _skip_spaces(src, cur, limit)
        if cur >= limit or src[cur] != "@":
            what = "end of line" if cur >= limit else repr(src[cur])
            return _Failed(f"expected '@key' but found {what}", cur)
        parsed = _parse_key(src, cur + 1, limit)
        if isinstance(parsed, _Failed):
            return parsed
        key, cur = parsed
        cur = _skip_spaces(src, cur, limit)
        locator = ""
        if cur < limit and src[cur] == ",":
            loc_start = cur + 1
            cur = loc_start
            while cur < limit and src[cur] not in ";]":
                cur += 1
            locator = " ".join(src[loc_start:cur].split())
            if not locator:
                return _Failed("empty locator after ','", cur)
        items.append(CiteItem(key=key, locator=locator))
        if len(items) > MAX_KEYS_PER_MARKER:
            return _Failed(
                f"a citation marker may cite at most {MAX_KEYS_PER_MARKER} keys",
                cur,
                over_limit=True,
            )
        if cur >= limit:
            return _Failed("citation marker is not closed with ']' on this line", cur)
        if src[cur] == "]":
            return _Parsed(end=cur + 1, items=tuple(items))
        if src[cur] == ";":
            cur += 1
            continue
        return _Failed(f"unexpected {src[cur]!r} in citation marker", cur)


# --- code regions -----------------------------------------------------------------------

# Block parser only: we need the line ranges of fenced and indented code blocks.
_BLOCK_MD = MarkdownIt("commonmark", {"html": False}).enable("table").disable("inline")


def _code_block_lines(markdown: str) -> set[int]:
    """0-based line numbers that belong to fenced or indented code blocks."""
    lines: set[int] = set()
    tokens = _BLOCK_MD.parse(markdown)
    for token in tokens:
        if token.type in ("fence", "code_block") and token.map:
            lines.update(range(token.map[0], token.map[1]))
    return lines


def _escaped(src: str, pos: int) -> bool:
    """True if ``src[pos]`` is preceded by an odd number of backslashes."""
    count = 0
    pos -= 1
    while pos >= 0 and src[pos] == "\\":
        count += 1
        pos -= 1
    return count % 2 == 1


def _code_span_ranges(chunk: str) -> list[tuple[int, int]]:
    """Ranges of inline code spans in a run of non-code text (CommonMark backtick rules)."""
    runs = list(_BACKTICKS.finditer(chunk))
    spans: list[tuple[int, int]] = []
    i = 0
    while i < len(runs):
        opener = runs[i]
        start = opener.start()
        if _escaped(chunk, start):
            # "\`" escapes one backtick; the rest of the run may still open a span.
            if len(opener.group()) == 1:
                i += 1
                continue
            start += 1
        width = opener.end() - start
        for j in range(i + 1, len(runs)):
            if len(runs[j].group()) == width:
                spans.append((start, runs[j].end()))
                i = j + 1
                break
        else:
            i += 1
    return spans


# --- scanning -----------------------------------------------------------------------------


def _line_starts(markdown: str) -> list[tuple[int, int]]:
    """(start, end) offsets of each line, treating \\r\\n, \\r and \\n as breaks."""
    bounds = []
    start = 0
    for brk in _LINE_BREAK.finditer(markdown):
        bounds.append((start, brk.start()))
        start = brk.end()
    bounds.append((start, len(markdown)))
    return bounds


def _scan(markdown: str) -> tuple[list[Marker], list[MarkerSyntaxError]]:
    """Find all markers and all malformed markers, in document order."""
    markers: list[Marker] = []
    errors: list[MarkerSyntaxError] = []
    if "[@" not in markdown:
        return markers, errors
    bounds = _line_starts(markdown)
    code_lines = _code_block_lines(markdown)

    # Group consecutive non-code, non-blank lines into chunks (≈ paragraphs): code
    # spans may cross line breaks inside a paragraph but never a blank line.
    chunks: list[list[int]] = []
    current: list[int] = []
    for index, (start, end) in enumerate(bounds):
        if index in code_lines or not markdown[start:end].strip():
            if current:
                chunks.append(current)
                current = []
            continue
        current.append(index)
    if current:
        chunks.append(current)

    for chunk in chunks:
        first, last = bounds[chunk[0]][0], bounds[chunk[-1]][1]
        text = markdown[first:last]
        if "[@" not in text:
            continue
        spans = _code_span_ranges(text)
        span_starts = [a for a, _ in spans]
        line_iter = iter(chunk)
        line_no = next(line_iter)
        pos = text.find("[@")
        while pos != -1:
            absolute = first + pos
            while bounds[line_no][1] < absolute:
                line_no = next(line_iter)
            resume = pos + 2
            span = bisect_right(span_starts, pos) - 1
            in_code = span >= 0 and pos < spans[span][1]
            if not _escaped(text, pos) and not in_code:
                line_end = bounds[line_no][1] - first
                result = parse_marker_at(text, pos, line_end)
                column = absolute - bounds[line_no][0] + 1
                if isinstance(result, _Parsed):
                    after = text[result.end : result.end + 1]
                    at_line_start = not text[bounds[line_no][0] - first : pos].strip(" ")
                    is_link = after == "("
                    is_definition = after == ":" and at_line_start
                    if not (is_link or is_definition):
                        markers.append(
                            Marker(
                                start=absolute,
                                end=first + result.end,
                                line=line_no + 1,
                                column=column,
                                items=result.items,
                                text=text[pos : result.end],
                            )
                        )
                        resume = result.end
                elif isinstance(result, _Failed):
                    close = text.find("]", pos, min(line_end, pos + _MAX_ERROR_TEXT))
                    stop = close + 1 if close != -1 else line_end
                    errors.append(
                        MarkerSyntaxError(
                            result.message,
                            position=absolute,
                            line=line_no + 1,
                            column=column,
                            text=text[pos : min(stop, pos + _MAX_ERROR_TEXT)],
                            over_limit=result.over_limit,
                        )
                    )
            pos = text.find("[@", resume)
    return markers, errors


def find_markers(markdown: str) -> list[Marker]:
    """Return the citation markers in ``markdown``; raise MarkerSyntaxError on a bad one."""
    markers, errors = _scan(markdown)
    if errors:
        raise errors[0]
    return markers


def find_markers_lenient(markdown: str) -> list[Marker]:
    """Return the well-formed markers in ``markdown``, silently skipping malformed ones."""
    return _scan(markdown)[0]


def limit_problems(markdown: str) -> list[str]:
    """Messages for each limit the body exceeds (empty when within every limit)."""
    markers, errors = _scan(markdown)
    problems = [
        f"Line {error.line}, column {error.column}: {error.message}, and this one cites more."
        for error in errors
        if error.over_limit
    ][:MAX_REPORTED_PROBLEMS]
    count = len(markers) + len(errors)
    if count > MAX_MARKERS_PER_BODY:
        problems.insert(
            0,
            f"The body has {count} citation markers; at most {MAX_MARKERS_PER_BODY} are allowed.",
        )
    return problems


def check_markers(markdown: str) -> list[dict[str, Any]]:
    """Return every malformed marker as a problem dict, without raising."""
    return [
        {
            "marker": error.text,
            "position": error.position,
            "line": error.line,
            "column": error.column,
            "error": error.message,
        }
        for error in _scan(markdown)[1]
    ]


def bound_problems(problems: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """At most MAX_REPORTED_PROBLEMS problems, each quoting a bounded marker text.

    When some are left out, one last entry says how many, so a stored list (and
    the 400 listing it) stays small whatever the body holds.
    """
    kept = [
        {**problem, "marker": _shorten(problem.get("marker", ""))}
        for problem in problems[:MAX_REPORTED_PROBLEMS]
    ]
    left_out = len(problems) - len(kept)
    if left_out > 0:
        kept.append(
            {
                "marker": "",
                "key": "",
                "position": None,
                "line": None,
                "column": None,
                "error": f"… and {left_out} more marker problems not listed.",
            }
        )
    return kept


def _shorten(text: str) -> str:
    return text if len(text) <= _MAX_ERROR_TEXT else text[: _MAX_ERROR_TEXT - 1] + "…"
