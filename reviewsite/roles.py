"""The three editorial roles (Django groups) and the checks every app shares."""

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

EDITORS = "Editors"
REVIEWERS = "Reviewers"
MANAGING_EDITORS = "Managing editors"
ALL_GROUPS = (EDITORS, REVIEWERS, MANAGING_EDITORS)


def group_names(user: AbstractBaseUser | AnonymousUser | None) -> frozenset[str]:
    """The user's group names, cached on the user object for the request."""
    if user is None or not user.is_authenticated:
        return frozenset()
    cached = getattr(user, "_reviewsite_groups", None)
    if cached is None:
        cached = frozenset(user.groups.values_list("name", flat=True))
        user._reviewsite_groups = cached
    return cached


def is_superuser(user) -> bool:
    """An active, logged-in superuser, who holds every role."""
    return bool(user is not None and user.is_authenticated and user.is_superuser)


def holds_any(user, roles) -> bool:
    """Whether the user holds one of ``roles`` (group names); superusers hold them all."""
    return is_superuser(user) or bool(group_names(user) & frozenset(roles))


def is_editor(user) -> bool:
    """Editors and managing editors may write articles and sources."""
    return holds_any(user, (EDITORS, MANAGING_EDITORS))


def is_reviewer(user) -> bool:
    """Medical reviewers."""
    return holds_any(user, (REVIEWERS,))


def is_managing_editor(user) -> bool:
    """Managing editors."""
    return holds_any(user, (MANAGING_EDITORS,))


def is_staff_member(user) -> bool:
    """Anyone with an editorial role (or a superuser) sees working copies."""
    return holds_any(user, ALL_GROUPS)
