"""Security headers Django does not set by itself."""

from django.conf import settings


class ContentSecurityPolicyMiddleware:
    """Send a Content-Security-Policy without inline script on every HTML response."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        policy = getattr(settings, "CONTENT_SECURITY_POLICY", "")
        # The API docs page loads its own assets; everything else gets the strict policy.
        if policy and not request.path.startswith("/api/docs"):
            response.headers.setdefault("Content-Security-Policy", policy)
        return response
