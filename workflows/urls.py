"""Workspace routes."""

app_name = "workflows"
urlpatterns = []
