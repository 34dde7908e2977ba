"""API authentication: DRF's token scheme, refusing malformed keys up front."""

import re

from rest_framework import authentication, exceptions

# What Token.generate_key makes: anything else (a NUL byte, say) matches no token, and
# PostgreSQL would refuse to even look a NUL up.
_TOKEN_KEY = re.compile(r"[0-9a-f]{40}")


class TokenAuthentication(authentication.TokenAuthentication):
    """DRF's token authentication; a malformed key is a 401 without touching the database."""

    def authenticate_credentials(self, key):
        if not _TOKEN_KEY.fullmatch(key):
            raise exceptions.AuthenticationFailed("Invalid token.")
        return super().authenticate_credentials(key)
