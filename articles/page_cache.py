"""The reader page cache's generation: a cache hit costs no database query.

A cached article page is stored under its slug and header variant together with the
generation it was rendered at; a request reads the current generation and the entry in
one cache round trip (``get_many``) and serves the bytes if the generations match.

The generation changes whenever anything a reader page shows may have changed: any
row of the ``articles`` or ``citations`` apps saved or deleted (approval, archive,
edits, reviewer profiles, editorial policy and disclaimer, sources and their status,
figures, citations), and the set-based ``UPDATE``\\ s that bypass model signals (the
stale sweep's and the retraction propagation's flags, the version bump when
assignments change) call :func:`pages_changed` themselves.

It is bumped twice: at once, and again when the transaction commits. A reader who
rendered the old rows between the first bump and the commit stored them under the
first new generation, which the second bump retires; a reader always reads the
generation before the database, so an entry is never newer-labelled than its rows.
The generation is a random token, not a counter, so an evicted or flushed generation
key can never bring old entries back to life.
"""

from __future__ import annotations

import secrets

from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save

GENERATION_KEY = "reader:generation"
#: Apps whose rows can appear on a reader page.
WATCHED_APPS = frozenset({"articles", "citations"})
#: Models of those apps that never appear on a page and are written often.
IGNORED_MODELS = frozenset({"citations.sourcecheck"})


def entry_key(slug: str, *, authenticated: bool) -> str:
    """Where the page of the article at ``slug`` is cached, for one header variant."""
    from .selectors import PAGE_CACHE_VERSION

    return f"reader:page:{PAGE_CACHE_VERSION}:{'auth' if authenticated else 'anon'}:{slug}"


def _bump() -> None:
    cache.set(GENERATION_KEY, secrets.token_hex(8), None)


def pages_changed() -> None:
    """Retire every cached reader page, now and again when the transaction commits."""
    _bump()
    transaction.on_commit(_bump)


def current_generation(cached: dict) -> str:
    """The generation from a ``get_many`` answer, starting a new one if it is missing."""
    generation = cached.get(GENERATION_KEY)
    if generation is None:
        generation = secrets.token_hex(8)
        if not cache.add(GENERATION_KEY, generation, None):
            generation = cache.get(GENERATION_KEY) or generation
    return generation


def _on_row_change(sender, **kwargs) -> None:
    opts = getattr(sender, "_meta", None)
    if opts is None or opts.app_label not in WATCHED_APPS:
        return
    if opts.label_lower in IGNORED_MODELS:
        return
    if kwargs.get("raw"):  # loaddata
        return
    pages_changed()


def connect() -> None:
    """Called from ArticlesConfig.ready()."""
    post_save.connect(_on_row_change, dispatch_uid="reader-page-generation-save")
    post_delete.connect(_on_row_change, dispatch_uid="reader-page-generation-delete")
    m2m_changed.connect(_on_row_change, dispatch_uid="reader-page-generation-m2m")
