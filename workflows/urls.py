"""Workspace routes, mounted at /workspace/."""

from django.urls import path

from . import figure_views, partial_views, source_views, views

app_name = "workflows"

#: Routes that answer only POST (forms' targets, then a redirect or an htmx fragment).
#: Whatever walks the workspace's pages (the page walk, the query pins, the benchmark)
#: skips these; a route added here must refuse GET (tests/reviewsite/test_roles_and_errors).
POST_ONLY = frozenset(
    {
        "article-action",
        "article-assign",
        "source-import",
        "source-status",
        "source-check",
        "source-lookup",
        "figure-replace",
        "notification-read",
    }
)

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("pipeline/", views.pipeline, name="pipeline"),
    path("notifications/", views.notification_list, name="notifications"),
    path(
        "notifications/<int:pk>/read/",
        partial_views.notification_read,
        name="notification-read",
    ),
    path("picker/sources/", partial_views.source_picker, name="source-picker"),
    path("picker/figures/", partial_views.figure_picker, name="figure-picker"),
    path("articles/<int:pk>/reviewers/", views.article_assign, name="article-assign"),
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
    path("sources/lookup/", source_views.source_lookup_view, name="source-lookup"),
    path("sources/<int:pk>/edit/", source_views.source_edit, name="source-edit"),
    path("sources/imports/<int:pk>/", views.import_job_view, name="import-job"),
    path("sources/<int:pk>/", views.source_detail, name="source-detail"),
    path("sources/<int:pk>/status/", views.source_status, name="source-status"),
    path("sources/<int:pk>/check/", views.source_check, name="source-check"),
    path("figures/", figure_views.figure_list, name="figure-list"),
    path("figures/new/", figure_views.figure_create, name="figure-create"),
    path("figures/<int:pk>/", figure_views.figure_detail, name="figure-detail"),
    path("figures/<int:pk>/replace/", figure_views.figure_replace_view, name="figure-replace"),
]
