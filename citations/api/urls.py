"""Source library routes under /api/v1/.

Explicit ``path()``s rather than a router: each pattern matches its whole path, so
``sources/<pk>/`` never swallows ``sources/<pk>/citing-articles/``, which the
articles app registers (it needs article models that citations must not import).
"""

from django.urls import path

from . import views

urlpatterns = [
    path("sources/", views.SourceListCreateView.as_view(), name="source-list"),
    path("sources/import/", views.SourceImportView.as_view(), name="source-import"),
    path("sources/lookup/", views.SourceLookupView.as_view(), name="source-lookup"),
    path("sources/<int:pk>/", views.SourceDetailView.as_view(), name="source-detail"),
    path("sources/<int:pk>/status/", views.SourceStatusView.as_view(), name="source-status"),
    path("sources/<int:pk>/checks/", views.SourceChecksView.as_view(), name="source-checks"),
    path("sources/<int:pk>/check/", views.SourceCheckNowView.as_view(), name="source-check"),
    path("imports/<int:pk>/", views.ImportJobView.as_view(), name="import-job"),
]
