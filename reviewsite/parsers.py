"""A JSON parser that bounds nesting, so no request body can exhaust the stack.

Python's ``json`` module recurses once per nested array or object: about a
thousand ``[`` (2 KB) raise ``RecursionError``, which DRF does not catch, so
every endpoint that reads JSON answered 500 — unauthenticated, too. The depth
is measured first, in linear time and without recursion, and a body nested
deeper than :data:`MAX_JSON_DEPTH` is a 400 before ``json`` sees it. A string
holding NUL (``\\u0000``) is a 400 too: PostgreSQL cannot store it.
"""

from __future__ import annotations

import codecs
import re
from itertools import accumulate

from rest_framework import parsers
from rest_framework.exceptions import ParseError
from rest_framework.utils import json

#: Deepest nesting of arrays and objects a request body may have. Our payloads
#: nest three levels at most (an article's ``checklist``, a source's ``authors``).
MAX_JSON_DEPTH = 32

# A JSON string literal (escapes included): brackets inside strings do not nest.
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKETS = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}


def json_depth(text: str) -> int:
    """The deepest nesting of arrays and objects in ``text`` (0 for a scalar)."""
    structure = _STRING.sub("", text)
    steps = [_BRACKETS[ord(ch)] for ch in structure if ord(ch) in _BRACKETS]
    return max(accumulate(steps), default=0)


class BoundedJSONParser(parsers.JSONParser):
    """DRF's JSON parser, refusing bodies nested deeper than MAX_JSON_DEPTH with 400."""

    max_depth = MAX_JSON_DEPTH

    def parse(self, stream, media_type=None, parser_context=None):
        encoding = parsers.get_encoding(parser_context or {})
        try:
            text = codecs.getreader(encoding)(stream).read()
        except (UnicodeDecodeError, ValueError) as exc:
            raise ParseError(f"JSON parse error - {exc}")
        if json_depth(text) > self.max_depth:
            raise ParseError(
                f"JSON parse error - the body is nested more than {self.max_depth} levels deep."
            )
        try:
            parse_constant = json.strict_constant if self.strict else None
            data = json.loads(text, parse_constant=parse_constant)
        except (ValueError, RecursionError) as exc:
            raise ParseError(f"JSON parse error - {exc}")
        if _has_nul(data):
            # PostgreSQL stores NUL neither in text nor in jsonb; forms refuse it as well.
            raise ParseError("JSON parse error - strings may not contain NUL (\\u0000).")
        return data


def _has_nul(data) -> bool:
    """True if any string (or object key) in the parsed ``data`` holds a NUL character."""
    stack = [data]
    while stack:
        value = stack.pop()
        if isinstance(value, str):
            if "\x00" in value:
                return True
        elif isinstance(value, dict):
            stack.extend(value.keys())
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
    return False
