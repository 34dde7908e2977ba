"""Benchmark-only URLconf: the whole site, plus a minimal view that returns fixed bytes.

``benchmarks/reader_page.py`` serves this with gunicorn (ROOT_URLCONF pointed here by
a throwaway settings module) to compare the article page with the cheapest possible
Django view returning the same page, through the same middleware.
"""

import os
from functools import cache
from pathlib import Path

from django.http import HttpResponse
from django.urls import include, path


@cache
def _page() -> bytes:
    # Written by the benchmark after it fetched the real article page once.
    return Path(os.environ["REVIEWSITE_BENCH_PAGE"]).read_bytes()


def minimal_page(request):
    """The article page's bytes, with no query, cache lookup or template.

    With its Content-Length, as the article page has: without one (no CommonMiddleware
    under ``MIDDLEWARE = []``) gunicorn would send the bare view chunked, a handicap.
    """
    page = _page()
    return HttpResponse(page, headers={"Content-Length": str(len(page))})


urlpatterns = [
    path("__bench__/minimal/", minimal_page, name="bench-minimal"),
    path("", include("reviewsite.urls")),
]
