"""API routes owned by workflows: articles and their actions, the review queue, tokens."""

from django.urls import path

from reviewsite.tokens import token_view

from .governance import ApprovalListView, ChecklistView, EvidencePackView
from .views import ArticleViewSet, ReviewQueueView

article_list = ArticleViewSet.as_view({"get": "list", "post": "create"})
article_detail = ArticleViewSet.as_view({"get": "retrieve", "patch": "partial_update"})

urlpatterns = [
    path("auth/token/", token_view, name="api-token"),
    path("articles/", article_list, name="article-list"),
    path("articles/<int:pk>/", article_detail, name="article-detail"),
    path(
        "articles/<int:pk>/revisions/",
        ArticleViewSet.as_view({"get": "revisions"}),
        name="article-revisions",
    ),
    path(
        "articles/<int:pk>/history/",
        ArticleViewSet.as_view({"get": "history"}),
        name="article-history",
    ),
    path("articles/<int:pk>/approvals/", ApprovalListView.as_view(), name="article-approvals"),
    path(
        "articles/<int:pk>/evidence-pack/",
        EvidencePackView.as_view(),
        name="article-evidence-pack",
    ),
    path("checklist/", ChecklistView.as_view(), name="checklist"),
    path(
        "articles/<int:pk>/reviewers/",
        ArticleViewSet.as_view({"post": "reviewers"}),
        name="article-reviewers",
    ),
    path(
        "articles/<int:pk>/<slug:action_name>/",
        ArticleViewSet.as_view({"post": "transition"}),
        name="article-action",
    ),
    path("review-queue/", ReviewQueueView.as_view(), name="review-queue"),
]
