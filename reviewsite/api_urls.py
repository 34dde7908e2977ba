"""The /api/v1/ routes, gathered from each app."""

from django.urls import include, path

urlpatterns = [
    path("", include("citations.api.urls")),
    path("", include("articles.api.urls")),
    path("", include("workflows.api.urls")),
]
