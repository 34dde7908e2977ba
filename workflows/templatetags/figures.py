"""Template tags for figures on workspace pages (the editor's picker, the review diff).

Tags rather than view context so the shared editor and review views stay untouched:
each include fetches what it shows.
"""

from __future__ import annotations

from django import template

from articles import selectors as article_selectors

register = template.Library()

#: How many figures the editor's picker lists (newest first); the rest are on the list page.
PICKER_LIMIT = 200


@register.simple_tag
def picker_figures() -> list:
    """The newest figures for the editor's picker, in one query."""
    return list(article_selectors.figure_library()[:PICKER_LIMIT])


@register.simple_tag
def figure_changes(live, proposed) -> dict:
    """Figures added, removed or with a replaced image between two revisions (either None)."""
    before = {f["ref"]: f for f in (live.figures if live else [])}
    after = {f["ref"]: f for f in (proposed.figures if proposed else [])}
    return {
        "added": [f for ref, f in after.items() if ref not in before],
        "removed": [f for ref, f in before.items() if ref not in after],
        "replaced": [
            {"before": before[ref], "after": f}
            for ref, f in after.items()
            if ref in before and before[ref]["file_hash"] != f["file_hash"]
        ],
        "shown": list(after.values()),
        "changed": before.keys() != after.keys()
        or any(before[r]["file_hash"] != after[r]["file_hash"] for r in after if r in before),
    }


@register.filter
def thumbnail(figure) -> str:
    """URL of the smallest stored size of a Figure (the full copy when it has none)."""
    if figure.sizes:
        return figure.file.storage.url(figure.sizes[0]["name"])
    return figure.file.url
