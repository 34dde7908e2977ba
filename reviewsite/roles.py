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


def is_editor(user) -> bool:
    """Editors and managing editors may write articles and sources."""
    return bool(group_names(user) & {EDITORS, MANAGING_EDITORS})


def is_reviewer(user) -> bool:
    """Medical reviewers."""
    return REVIEWERS in group_names(user)


def is_managing_editor(user) -> bool:
    """Managing editors."""
    return MANAGING_EDITORS in group_names(user)


def is_staff_member(user) -> bool:
    """Anyone with an editorial role (or a superuser) sees working copies."""
    if user is None or not user.is_authenticated:
        return False
    return bool(user.is_superuser or group_names(user))
