"""Conditional requests: ``If-Match`` as RFC 9110 defines it."""

from django.utils.http import parse_etags


def strong_tags(header: str) -> list[str] | None:
    """The entity tags of an ``If-Match`` header that can match, or None for ``*``.

    If-Match uses the strong comparison (RFC 9110, 13.1.1): a weak tag ``W/"…"``
    never matches, so it is dropped; an empty or unreadable header matches nothing.
    """
    tags = parse_etags(header or "")
    if tags == ["*"]:
        return None
    return [tag for tag in tags if not tag.startswith("W/")]


def if_match_passes(header: str, current_etag: str) -> bool:
    """True when ``If-Match`` (``*`` or a list of entity tags) matches ``current_etag``."""
    tags = strong_tags(header)
    return tags is None or current_etag in tags
