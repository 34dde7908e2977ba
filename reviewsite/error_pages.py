"""Error responses for URLs no view matched: JSON under /api/, the site's page elsewhere."""

from django.http import JsonResponse
from django.views import defaults


def page_not_found(request, exception):
    """404: ``{"detail": ...}`` for the API (its schema promises JSON), else Django's page."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Not found."}, status=404)
    return defaults.page_not_found(request, exception)
