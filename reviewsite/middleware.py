"""Security headers Django does not set by itself, and the cached reader page's short cut."""

import re

from django.conf import settings

#: ``articles:detail`` (``articles/<slug:slug>/``); tests pin that it resolves to that view.
_ARTICLE_PATH = re.compile(r"/articles/([-a-zA-Z0-9_]+)/")


def content_security_policy(request):
    """The policy for a response to ``request``, or "" for none."""
    policy = getattr(settings, "CONTENT_SECURITY_POLICY", "")
    # The API docs page loads its own assets; everything else gets the strict policy.
    if policy and not request.path.startswith("/api/docs"):
        return policy
    return ""


class ContentSecurityPolicyMiddleware:
    """Send a Content-Security-Policy without inline script on every HTML response."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        policy = content_security_policy(request)
        if policy:
            response.headers.setdefault("Content-Security-Policy", policy)
        return response


class CachedReaderPageMiddleware:
    """Answer an anonymous reader's GET of a cached article page before the rest of the stack.

    Placed right after ``SecurityMiddleware`` (which still redirects to HTTPS and adds
    its headers). A GET with no ``Cookie`` header and no ``audience`` choice, for an
    article page the page cache holds at the current generation
    (``articles.views.cached_reader_page``), is answered here: no session, user,
    CSRF, messages or URL resolving, none of which such a request uses. The headers the
    skipped middleware would add to that response are added here the same way
    (Content-Length, X-Frame-Options, Content-Security-Policy); the tests compare the
    two paths header for header. Anything else — a cookie (a signed-in member, an
    audience preference), a miss, a moved generation — takes the normal path, which
    renders and stores the entry.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.method == "GET" and not request.META.get("HTTP_COOKIE"):
            match = _ARTICLE_PATH.fullmatch(request.path_info)
            if match is not None and not (
                request.META.get("QUERY_STRING") and "audience" in request.GET
            ):
                from articles.views import cached_reader_page

                response = cached_reader_page(request, match[1])
                if response is not None:
                    return self._finish(request, response)
        return self.get_response(request)

    @staticmethod
    def _finish(request, response):
        headers = response.headers
        # What CommonMiddleware, XFrameOptionsMiddleware and ContentSecurityPolicyMiddleware
        # add to this response on the normal path (the others add nothing to it).
        headers["Content-Length"] = str(len(response.content))
        headers["X-Frame-Options"] = getattr(settings, "X_FRAME_OPTIONS", "DENY").upper()
        policy = content_security_policy(request)
        if policy:
            headers["Content-Security-Policy"] = policy
        return response
