"""API-wide pieces: the exception handler (through reviewsite.http_errors) and pagination."""

from rest_framework import pagination
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from .http_errors import error_data, status_for


def exception_handler(exc, context):
    """Domain, validation and permission errors through the one status table; then DRF's."""
    code = status_for(exc)
    if code is not None:
        return Response(error_data(exc), status=code)
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
