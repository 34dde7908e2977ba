"""API routes owned by articles."""

from django.urls import path

from .views import (
    CitingArticlesView,
    FigureDetailView,
    FigureListCreateView,
    ReviewerProfileViewSet,
)

urlpatterns = [
    path(
        "sources/<int:pk>/citing-articles/",
        CitingArticlesView.as_view(),
        name="source-citing-articles",
    ),
    path("figures/", FigureListCreateView.as_view(), name="figure-list"),
    path("figures/<int:pk>/", FigureDetailView.as_view(), name="figure-detail"),
    path("reviewers/", ReviewerProfileViewSet.as_view({"get": "list"}), name="reviewer-list"),
    path(
        "reviewers/<int:user_id>/",
        ReviewerProfileViewSet.as_view({"get": "retrieve", "patch": "partial_update"}),
        name="reviewer-detail",
    ),
]
