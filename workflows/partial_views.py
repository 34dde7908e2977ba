"""Workspace endpoints that htmx calls for partial updates, each also a whole page.

With ``HX-Request`` a view answers the fragment it redraws (the picker's results, one
notification); without it, the same URL is an ordinary page or a redirect, so every
control works without JavaScript. Permissions are those of the full pages: the
workspace's staff check, and querysets limited to what the user may see.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers

from articles import selectors as article_selectors

from . import selectors
from .forms import SearchForm
from .models import Notification
from .templatetags.figures import PICKER_LIMIT
from .views import _roles, staff_required

#: How many results a picker search shows (the library pages list the rest).
PICKER_RESULTS = selectors.PICKER_RESULTS


def _picker_query(request) -> tuple[str, list[str]]:
    search = SearchForm(request.GET)
    return search.query(), search.problems()


def _current_path(request) -> str:
    """The page htmx was called from (the editor), for links in the fragment."""
    if request.htmx and request.htmx.current_url_abs_path:
        return request.htmx.current_url_abs_path
    return ""


@staff_required
@require_GET
@vary_on_headers("HX-Request")
def source_picker(request):
    """Sources matching ``?q=`` by key, title, DOI, PMID or first author, with markers."""
    query, problems = _picker_query(request)
    context = {
        **selectors.picker_page(query=query),
        "query": query,
        "search_problems": problems,
        **_roles(request.user),
    }
    status = 400 if problems else 200
    if request.htmx:
        return render(request, "workflows/_source_picker_items.html", context, status=status)
    return render(request, "workflows/source_picker.html", context, status=status)


@staff_required
@require_GET
@vary_on_headers("HX-Request")
def figure_picker(request):
    """Figures matching ``?q=`` by alt text, caption, credit or number, with markers."""
    query, problems = _picker_query(request)
    figures = article_selectors.figure_library(query=query)
    if query.isdigit():
        figures = figures | article_selectors.figure_library().filter(pk=int(query))
    limit = PICKER_RESULTS if query else PICKER_LIMIT
    found = list(figures[: limit + 1])
    context = {
        "figures": found[:limit],
        "more": len(found) > limit,
        "query": query,
        "search_problems": problems,
        "back": _current_path(request),
        **_roles(request.user),
    }
    status = 400 if problems else 200
    if request.htmx:
        return render(request, "workflows/_figure_picker_items.html", context, status=status)
    return render(request, "workflows/figure_picker.html", context, status=status)


@staff_required
@require_POST
@vary_on_headers("HX-Request")
def notification_read(request, pk: int):
    """Mark one of the user's notifications read (``read=1``) or unread (``read=0``).

    htmx gets the redrawn notification and the new unread count (out of band); a plain
    form post is redirected back to the list. Someone else's notification is a 404.
    """
    mine = Notification.objects.filter(recipient=request.user)
    read = request.POST.get("read", "1")
    if read not in ("0", "1"):
        return render(
            request,
            "workflows/_notification_error.html",
            {"message": "read: give 1 (mark read) or 0 (mark unread)."},
            status=400,
        )
    updated = mine.filter(pk=pk).update(read_at=timezone.now() if read == "1" else None)
    if not updated:
        raise Http404("No such notification.")
    if not request.htmx:
        messages.success(request, "Marked read." if read == "1" else "Marked unread.")
        page = request.POST.get("page", "")
        suffix = f"?page={page}" if page.isdigit() else ""
        return redirect(f"{reverse('workflows:notifications')}{suffix}#notification-{pk}")
    context = {
        "notification": mine.get(pk=pk),
        "unread": mine.filter(read_at__isnull=True).count(),
        "oob": True,
        "page_number": request.POST.get("page", ""),
    }
    return render(request, "workflows/_notification.html", context)
