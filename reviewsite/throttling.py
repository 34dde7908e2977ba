"""Rate limits: failed logins (django-axes), the API (DRF throttles), password-reset mail.

Every limit is a setting read from the environment in ``reviewsite/settings.py``:

* ``AXES_FAILURE_LIMIT`` failed logins per username and, separately, per address
  lock that username / address out for ``AXES_COOLOFF_TIME`` on every login door
  (``/accounts/login/``, ``/admin/login/``, ``POST /api/v1/auth/token/``);
* ``REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]``: ``anon`` (per address) and
  ``user`` (per account) for the API, ``auth-token`` for token requests per
  address, ``password-reset`` for reset POSTs per address and per e-mail address.

Refusals are 429 with ``Retry-After``. The throttles read their rates when they
run (DRF's read them once, at import), so a test or a settings change applies at once.
"""

from __future__ import annotations

import hashlib
import math

from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from rest_framework.settings import api_settings
from rest_framework.throttling import (
    AnonRateThrottle,
    ScopedRateThrottle,
    SimpleRateThrottle,
    UserRateThrottle,
)


class _CurrentRates:
    """Read the rate from the current settings, not from a copy taken at import."""

    def get_rate(self):
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)


class AnonThrottle(_CurrentRates, AnonRateThrottle):
    """Anonymous API requests, per client address (``anon``)."""


class UserThrottle(_CurrentRates, UserRateThrottle):
    """Authenticated API requests, per account (``user``)."""


class ScopedThrottle(_CurrentRates, ScopedRateThrottle):
    """Per-view scopes (``throttle_scope``), per account or address."""

    def allow_request(self, request, view):
        # ScopedRateThrottle sets its rate in allow_request from the class-level copy.
        self.scope = getattr(view, self.scope_attr, None)
        if not self.scope:
            return True
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return SimpleRateThrottle.allow_request(self, request, view)


class PasswordResetAddressThrottle(_CurrentRates, SimpleRateThrottle):
    """Password-reset POSTs per client address (``password-reset``)."""

    scope = "password-reset"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class PasswordResetEmailThrottle(PasswordResetAddressThrottle):
    """Password-reset POSTs per e-mail address asked for (``password-reset``)."""

    def get_cache_key(self, request, view):
        email = (request.POST.get("email") or "").strip().lower()
        digest = hashlib.sha256(email.encode()).hexdigest()
        return self.cache_format % {"scope": f"{self.scope}-email", "ident": digest}


def too_many(request: HttpRequest, message: str, retry_after: float | None) -> HttpResponse:
    """A 429: JSON for the API, the site's page otherwise, with Retry-After."""
    if request.path.startswith("/api/"):
        response = JsonResponse({"detail": message}, status=429)
    else:
        response = render(
            request, "registration/too_many_attempts.html", {"message": message}, status=429
        )
    if retry_after:
        response["Retry-After"] = str(max(1, math.ceil(retry_after)))
    return response


class ThrottledPasswordResetView(auth_views.PasswordResetView):
    """Django's password reset; POSTs past the rate (per address or e-mail) are a 429."""

    def post(self, request, *args, **kwargs):
        for throttle in (PasswordResetAddressThrottle(), PasswordResetEmailThrottle()):
            if not throttle.allow_request(request, self):
                return too_many(
                    request,
                    "Too many password-reset requests; try again later.",
                    throttle.wait(),
                )
        return super().post(request, *args, **kwargs)


def lockout_response(request, original_response=None, credentials=None) -> HttpResponse:
    """django-axes' answer to a locked-out login (AXES_LOCKOUT_CALLABLE)."""
    from axes.helpers import get_cool_off

    cool_off = get_cool_off(request)
    seconds = cool_off.total_seconds() if cool_off else None
    wait = f"try again in {math.ceil(seconds / 60)} minutes" if seconds else "try again later"
    return too_many(request, f"Too many failed sign-in attempts; {wait}.", seconds)
