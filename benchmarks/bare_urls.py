"""Benchmark-only URLconf for ``bare_settings``: one view returning the article page's bytes."""

from django.urls import path

from .minimal_urls import minimal_page

urlpatterns = [path("__bench__/bare/", minimal_page, name="bench-bare")]
