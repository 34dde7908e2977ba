"""Workspace routes, mounted at /workspace/."""

from django.urls import path

from . import views

app_name = "workflows"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("articles/", views.article_list, name="article-list"),
    path("articles/new/", views.article_create, name="article-create"),
    path("articles/<int:pk>/edit/", views.article_edit, name="article-edit"),
    path("articles/<int:pk>/review/", views.article_review, name="article-review"),
    path("articles/<int:pk>/evidence-pack/", views.article_evidence_pack, name="evidence-pack"),
    path("articles/<int:pk>/actions/<slug:action>/", views.article_action, name="article-action"),
    path("reviewers/", views.reviewer_list, name="reviewer-list"),
    path("checklist/", views.checklist, name="checklist"),
    path("reviewers/<int:pk>/", views.reviewer_edit, name="reviewer-edit"),
    path("sources/", views.source_library, name="source-library"),
    path("sources/import/", views.source_import_view, name="source-import"),
    path("sources/<int:pk>/", views.source_detail, name="source-detail"),
    path("sources/<int:pk>/status/", views.source_status, name="source-status"),
]
