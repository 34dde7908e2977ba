"""Reader-site routes."""

app_name = "articles"
urlpatterns = []
