"""API-wide pieces: the exception handler that maps domain errors to HTTP."""

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import pagination, status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


class DomainError(Exception):
    """Base for errors raised by services that the API maps to a status code."""

    status_code = status.HTTP_400_BAD_REQUEST

    def __init__(self, detail: str, **extra):
        super().__init__(detail)
        self.detail = detail
        self.extra = extra

    def as_data(self) -> dict:
        """The response body."""
        return {"detail": self.detail, **self.extra}


def exception_handler(exc, context):
    """DRF's handler, plus domain errors, Django validation and permission errors."""
    if isinstance(exc, DomainError):
        return Response(exc.as_data(), status=exc.status_code)
    if isinstance(exc, DjangoValidationError):
        if hasattr(exc, "error_dict"):
            data = {field: [str(m) for m in msgs] for field, msgs in exc.message_dict.items()}
        else:
            data = {"detail": exc.messages}
        return Response(data, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, DjangoPermissionDenied):
        return Response(
            {"detail": str(exc) or "You do not have permission to perform this action."},
            status=status.HTTP_403_FORBIDDEN,
        )
    return drf_exception_handler(exc, context)


class PageNumberPagination(pagination.PageNumberPagination):
    """DRF page-number pagination; clients may ask for 1 to 100 items a page.

    DRF silently serves the default size for ``page_size=0``, ``=500`` or ``=x``;
    here they are a 400 naming the range, as the schema says.
    """

    page_size_query_param = "page_size"
    max_page_size = 100

    def get_page_size(self, request):
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        try:
            size = int(raw)
        except ValueError:
            size = 0
        if not 1 <= size <= self.max_page_size or str(size) != raw.strip():
            raise ValidationError(
                {
                    self.page_size_query_param: [
                        f"Give a whole number from 1 to {self.max_page_size}, not {raw[:20]!r}."
                    ]
                }
            )
        return size

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_query_param:
                parameter["schema"]["minimum"] = 1
            elif parameter["name"] == self.page_size_query_param:
                parameter["schema"].update(minimum=1, maximum=self.max_page_size)
        return parameters
