"""Benchmark-only URLconf: the whole site, plus a bare view returning N bytes.

``benchmarks/workspace_pages.py`` points ROOT_URLCONF here so that each workspace page
can be compared, in the same process and through the same middleware, with the
cheapest Django view that returns a response of the same size (no query, no template).
"""

from django.http import HttpResponse
from django.urls import include, path


def bare_bytes(request, size: int):
    """``size`` bytes of HTML, made without a template, a query or the session."""
    return HttpResponse(b"x" * size, content_type="text/html; charset=utf-8")


urlpatterns = [
    path("__bench__/bytes/<int:size>/", bare_bytes, name="bench-bytes"),
    path("", include("reviewsite.urls")),
]
