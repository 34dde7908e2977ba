"""Reader-site routes: list, article pages, staff preview, editorial policy, sitemap, feed."""

from django.contrib.sitemaps.views import sitemap
from django.urls import path

from . import views
from .feeds import LatestApprovalsFeed
from .sitemaps import SITEMAPS

app_name = "articles"
urlpatterns = [
    path("", views.article_list, name="list"),
    path("articles/<slug:slug>/", views.article_detail, name="detail"),
    path("preview/articles/<int:pk>/", views.article_preview, name="preview"),
    path("editorial-policy/", views.editorial_policy, name="editorial-policy"),
    path("editorial-policy/edit/", views.editorial_policy_edit, name="editorial-policy-edit"),
    path("sitemap.xml", sitemap, {"sitemaps": SITEMAPS}, name="sitemap"),
    path("feed/", LatestApprovalsFeed(), name="feed"),
    path("media/<path:path>", views.media_file, name="media"),
]
