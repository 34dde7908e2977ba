"""Domain errors: what a service refuses, and why, with no HTTP in it.

Services raise these (or Django's ``ValidationError`` / ``PermissionDenied``);
``reviewsite.http_errors`` maps each kind to a status code for the API and the
workspace alike. Nothing here imports DRF.
"""

from __future__ import annotations


class DomainError(Exception):
    """Base of every refusal a service explains to its caller."""

    def __init__(self, detail: str, **extra):
        super().__init__(detail)
        self.detail = detail
        self.extra = extra

    def as_data(self) -> dict:
        """The refusal as plain data: ``detail`` plus anything the service added."""
        return {"detail": self.detail, **self.extra}


class InvalidInput(DomainError):
    """The request's content is wrong (e.g. citation markers that resolve to nothing)."""


class Forbidden(DomainError):
    """The actor's role, or relation to the content, forbids the action."""


class NotFound(DomainError):
    """The thing asked about does not exist (or the caller may not know it does)."""


class Conflict(DomainError):
    """The action is not legal in the current state."""


class PreconditionFailed(DomainError):
    """The caller acted on a version of the object that is no longer current."""


class Unavailable(DomainError):
    """A service we depend on (a registry, the broker) did not answer."""


class TransitionNotAllowed(Conflict):
    """The workflow action is not legal from the article's current state."""


class ActionForbidden(Forbidden):
    """The actor may not take this workflow action on this article."""
