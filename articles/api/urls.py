"""API routes owned by articles."""

from django.urls import path

from .views import CitingArticlesView, FigureDetailView, FigureListCreateView

urlpatterns = [
    path(
        "sources/<int:pk>/citing-articles/",
        CitingArticlesView.as_view(),
        name="source-citing-articles",
    ),
    path("figures/", FigureListCreateView.as_view(), name="figure-list"),
    path("figures/<int:pk>/", FigureDetailView.as_view(), name="figure-detail"),
]
