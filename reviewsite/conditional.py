"""Conditional requests: ``If-Match`` as RFC 9110 defines it."""

from django.utils.http import parse_etags


def if_match_passes(header: str, current_etag: str) -> bool:
    """True when ``If-Match`` (``*`` or a list of entity tags) matches ``current_etag``.

    If-Match uses the strong comparison (RFC 9110, 13.1.1): a weak tag ``W/"…"``
    never matches, and ``*`` matches any current representation.
    """
    tags = parse_etags(header or "")
    if tags == ["*"]:
        return True
    return any(not tag.startswith("W/") and tag == current_etag for tag in tags)
