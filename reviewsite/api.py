"""API-wide pieces: the exception handler (through reviewsite.http_errors) and pagination."""

from rest_framework import pagination
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
    """DRF page-number pagination; clients may ask for up to 100 items a page."""

    page_size_query_param = "page_size"
    max_page_size = 100
