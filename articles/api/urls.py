"""API routes owned by articles."""

from django.urls import path

from .views import CitingArticlesView

urlpatterns = [
    path(
        "sources/<int:pk>/citing-articles/",
        CitingArticlesView.as_view(),
        name="source-citing-articles",
    ),
]
