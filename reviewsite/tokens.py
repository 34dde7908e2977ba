"""API tokens: issued for a username and password, revoked on request or password change.

``POST /api/v1/auth/token/`` returns the account's token (creating it);
``DELETE /api/v1/auth/token/`` with that token revokes it (204). Changing a
password deletes the account's token, so a leaked token dies with the old
password and the next ``POST`` issues a new one.
"""

from django.contrib.auth import get_user_model
from django.db.models.signals import post_save
from django.dispatch import receiver
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import permissions, serializers, status
from rest_framework.authtoken.models import Token
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.response import Response
from rest_framework.settings import api_settings


class TokenView(ObtainAuthToken):
    """Issue (POST) and revoke (DELETE) the caller's API token."""

    # The project's parsers (depth-bounded JSON) and throttles, not ObtainAuthToken's none.
    parser_classes = api_settings.DEFAULT_PARSER_CLASSES
    throttle_classes = api_settings.DEFAULT_THROTTLE_CLASSES
    throttle_scope = "auth-token"

    def get_serializer_context(self):
        # django-axes marks a lockout on the request it is given: give it Django's
        # request, which its middleware sees, so a locked-out login answers 429.
        return {**super().get_serializer_context(), "request": self.request._request}

    def get_permissions(self):
        if self.request.method == "DELETE":
            return [permissions.IsAuthenticated()]
        return []

    @extend_schema(
        request=inline_serializer(
            "TokenRequest",
            {"username": serializers.CharField(), "password": serializers.CharField()},
        ),
        responses={200: inline_serializer("TokenResponse", {"token": serializers.CharField()})},
    )
    def post(self, request, *args, **kwargs):
        return super().post(request, *args, **kwargs)

    @extend_schema(request=None, responses={204: None})
    def delete(self, request, *args, **kwargs):
        Token.objects.filter(user=request.user).delete()
        return Response(status=status.HTTP_204_NO_CONTENT)


token_view = TokenView.as_view()


@receiver(post_save, sender=get_user_model(), dispatch_uid="reviewsite.tokens.rotate")
def revoke_token_on_password_change(sender, instance, **kwargs) -> None:
    """Delete the token of a user whose password was just set (``set_password`` + save)."""
    # AbstractBaseUser keeps the new raw password in ``_password`` until save() ends.
    if getattr(instance, "_password", None) is not None:
        Token.objects.filter(user=instance).delete()
