"""Benchmark-only settings: the project's, with no middleware and a one-view URLconf.

``benchmarks/reader_page.py`` serves this with a second gunicorn (same workers, same
load) as the honest floor for the article page: a bare Django view, ``MIDDLEWARE = []``,
returning the page's bytes (issue 15).
"""

from reviewsite.settings import *  # noqa: F403

MIDDLEWARE = []
ROOT_URLCONF = "benchmarks.bare_urls"
