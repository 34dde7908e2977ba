"""The one table from domain errors to HTTP status codes (API and workspace alike)."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError

from . import errors

#: Looked up along the error's MRO, so a subclass takes its base's code unless listed.
HTTP_STATUS: dict[type[Exception], int] = {
    errors.InvalidInput: 400,
    ValidationError: 400,
    errors.Forbidden: 403,
    PermissionDenied: 403,
    errors.NotFound: 404,
    errors.Conflict: 409,
    errors.PreconditionFailed: 412,
    errors.Unavailable: 503,
    errors.DomainError: 400,
}


def status_for(error: BaseException) -> int | None:
    """The status code for ``error``, or None when the table does not know it."""
    for cls in type(error).__mro__:
        if cls in HTTP_STATUS:
            return HTTP_STATUS[cls]
    return None


def error_data(error: BaseException) -> dict:
    """The response body for a known error: field messages, or ``detail`` and extras."""
    if isinstance(error, errors.DomainError):
        return error.as_data()
    if isinstance(error, ValidationError):
        if hasattr(error, "error_dict"):
            return {field: [str(m) for m in msgs] for field, msgs in error.message_dict.items()}
        return {"detail": error.messages}
    if isinstance(error, PermissionDenied):
        return {"detail": str(error) or "You do not have permission to perform this action."}
    return {"detail": str(error)}
