"""Who may read and write the source library through the API.

The services enforce the same rules (they are the authority); these classes only
make the API answer 401/403 before it validates a body, so a caller without the
role learns that first.
"""

from rest_framework.permissions import SAFE_METHODS, BasePermission

from citations.integrity import can_check_sources
from citations.services import can_edit_sources, can_set_source_status
from reviewsite.roles import is_staff_member


class ReadsLibrary(BasePermission):
    """Any editorial user (Editors, Reviewers, Managing editors, superusers) reads the library.

    Plain accounts get 403: the library holds working material (sources of drafts),
    and the sources of live articles are public on the article pages anyway.
    """

    message = "Only editorial staff (Editors, Reviewers, Managing editors) may use the library."

    def has_permission(self, request, view) -> bool:
        return is_staff_member(request.user)


class EditsLibraryOrReadOnly(ReadsLibrary):
    """Reads for editorial staff; writes (POST, PATCH) for Editors and Managing editors."""

    def has_permission(self, request, view) -> bool:
        if request.method in SAFE_METHODS:
            return super().has_permission(request, view)
        self.message = "Only Editors or Managing editors may change the source library."
        return can_edit_sources(request.user)


class SetsSourceStatus(BasePermission):
    """Reviewers mark a source retracted, corrected, ... (PRODUCT.md roles)."""

    message = "Only Reviewers may change a source's status."

    def has_permission(self, request, view) -> bool:
        return can_set_source_status(request.user)


class ChecksSources(BasePermission):
    """Editors and Reviewers ask the registries about a source now."""

    message = "Only Editors or Reviewers may check a source now."

    def has_permission(self, request, view) -> bool:
        return can_check_sources(request.user)
