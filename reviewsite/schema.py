"""The OpenAPI schema tells the truth: errors every operation can answer, and field shapes.

``document_errors`` (a drf-spectacular postprocessing hook) adds to each operation
the error responses it can give, when its view did not document them already:

* 401: any request with a bad ``Authorization: Token`` (every operation);
* 403: a role, a session without CSRF, or a staff-only resource (every operation);
* 429: the throttles of ``reviewsite.throttling`` (every operation);
* 404: an id that does not exist or is not visible, or a page past the end
  (operations with a path parameter or a ``page`` parameter);
* 400: invalid parameters or body, with messages naming the field (operations
  with query parameters or a request body); 415: a body in another media type.

It also closes the request bodies whose views refuse unknown fields
(``additionalProperties: false``), documents JSON request bodies as JSON only
and says that no string may hold NUL. The field classes below carry the
patterns that the server's rules actually apply.
"""

from __future__ import annotations

import re

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

#: Request bodies whose views answer 400 to a field they do not know.
CLOSED_REQUEST_BODIES = (
    "ArticleCreateInput",
    "PatchedArticleEditInput",
    "PatchedReviewerProfileInput",
)

_DETAIL = {
    "type": "object",
    "properties": {"detail": {"type": "string"}},
    "required": ["detail"],
}
# 400 bodies are {"field": ["message", ...]} or {"detail": ...}.
_FIELD_ERRORS = {"type": "object", "additionalProperties": True}

_ERRORS = {
    "400": ("Invalid parameters or body; messages name the field.", _FIELD_ERRORS),
    "401": ("Not authenticated, or the token is invalid.", _DETAIL),
    "403": ("Not allowed for the caller's role.", _DETAIL),
    "404": ("No such resource, not visible to the caller, or no such page.", _DETAIL),
    "415": ("The body is not in a media type the operation reads.", _DETAIL),
    "429": ("Too many requests; see Retry-After.", _DETAIL),
}


def _applicable(path: str, operation: dict) -> set[str]:
    parameters = operation.get("parameters", [])
    codes = {"401", "403", "429"}
    if "{" in path or any(p.get("name") == "page" for p in parameters):
        codes.add("404")
    if any(p.get("in") == "query" for p in parameters) or "requestBody" in operation:
        codes.add("400")
    if "requestBody" in operation:
        codes.add("415")
    return codes


def document_errors(result, generator, request, public):
    """drf-spectacular postprocessing hook: see the module docstring."""
    for path, methods in result.get("paths", {}).items():
        for operation in methods.values():
            content = operation.get("requestBody", {}).get("content", {})
            if "application/json" in content:
                # JSON is the API's format; the form encodings cannot carry nested fields.
                for media_type in list(content):
                    if media_type != "application/json":
                        del content[media_type]
            responses = operation.setdefault("responses", {})
            for code in sorted(_applicable(path, operation)):
                description, schema = _ERRORS[code]
                entry = responses.setdefault(code, {"description": description})
                entry.setdefault("content", {"application/json": {"schema": schema}})
    components = result.get("components", {}).get("schemas", {})
    for name in CLOSED_REQUEST_BODIES:
        if name in components:
            components[name]["additionalProperties"] = False
    _forbid_nul(result, components)
    return result


#: No NUL character: PostgreSQL stores none, so the parser and the forms refuse it (400).
NO_NUL = "^[^\\x00]*$"


def _forbid_nul(result: dict, components: dict) -> None:
    """Say ``no NUL`` on every string a client sends: request bodies and query parameters."""
    seen: set[str] = set()

    def visit(schema) -> None:
        if isinstance(schema, list):
            for item in schema:
                visit(item)
            return
        if not isinstance(schema, dict):
            return
        ref = schema.get("$ref")
        if ref:
            name = ref.rsplit("/", 1)[-1]
            if name not in seen and name in components:
                seen.add(name)
                visit(components[name])
            return
        if schema.get("type") == "string" and schema.get("format") != "binary":
            if "pattern" in schema:
                schema.setdefault("allOf", []).append({"pattern": NO_NUL})
            elif "enum" not in schema:
                schema["pattern"] = NO_NUL
        for key in ("properties", "patternProperties"):
            for child in schema.get(key, {}).values():
                visit(child)
        for key in ("items", "additionalProperties", "allOf", "anyOf", "oneOf", "not"):
            visit(schema.get(key))

    for methods in result.get("paths", {}).values():
        for operation in methods.values():
            for parameter in operation.get("parameters", []):
                if parameter.get("in") == "query":
                    visit(parameter.get("schema"))
            for media in operation.get("requestBody", {}).get("content", {}).values():
                visit(media.get("schema"))


class _TextOnly:
    """Refuse a JSON number where text is expected (DRF's CharField turns 12 into "12")."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class TextField(_TextOnly, serializers.CharField):
    """A CharField that takes text only, as its schema (``type: string``) says."""


@extend_schema_field({"type": "string", "pattern": r"^[-a-zA-Z0-9_]*$", "maxLength": 200})
class OptionalSlugField(_TextOnly, serializers.SlugField):
    """A slug that may be empty ("" means none); the schema says so in one pattern."""

    def __init__(self, **kwargs):
        # Not DRF's allow_blank: drf-spectacular would add a second, overlapping "" branch.
        kwargs.pop("allow_blank", None)
        super().__init__(**kwargs)

    def run_validation(self, data=serializers.empty):
        if data == "":
            return ""
        return super().run_validation(data)


#: At least one character that is not white space, in Python's sense and in the schema's
#: (ECMA) sense alike: those disagree on \x1c-\x1f, \x85 and \ufeff, which count as space.
VISIBLE = r"[^\s\x1c-\x1f\x85\ufeff]"


@extend_schema_field({"type": "string", "pattern": VISIBLE, "maxLength": 300})
class NonBlankCharField(_TextOnly, serializers.CharField):
    """Text with at least one visible character (blank or white space only is refused)."""

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if not re.search(VISIBLE, value):
            self.fail("blank")
        return value
