"""The API's filter backend: django-filter, refusing an empty value for a choice filter.

``?status=`` (empty) used to mean "no filter" while the schema lists the allowed
values; an empty choice is now a 400 naming the choices, like any other value
that is not one of them. Leave the parameter out to not filter.
"""

from django_filters import ChoiceFilter
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework.exceptions import ValidationError


class StrictFilterBackend(DjangoFilterBackend):
    """DjangoFilterBackend; an empty value for a choice filter is a 400."""

    def get_filterset(self, request, queryset, view):
        filterset = super().get_filterset(request, queryset, view)
        if filterset is None:
            return None
        errors = {}
        for name, filter_ in filterset.filters.items():
            if isinstance(filter_, ChoiceFilter) and name in request.query_params:
                if not request.query_params.get(name, "").strip():
                    choices = ", ".join(str(value) for value, _ in filter_.extra["choices"])
                    errors[name] = [
                        f"Give one of {choices}, or leave {name} out to not filter by it."
                    ]
        if errors:
            raise ValidationError(errors)
        return filterset
