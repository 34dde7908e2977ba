"""Filters of the source list: status, evidence type, identifiers and a free-text search."""

import contextlib

import django_filters
from django import forms
from django.db.models import Q

from citations.identifiers import InvalidIdentifier, normalize_doi, normalize_pmid
from citations.models import Source


class _IdentifierField(forms.CharField):
    """A form field that normalises an identifier, naming the bad value when it cannot."""

    normalizer = staticmethod(normalize_doi)

    def clean(self, value):
        value = super().clean(value)
        if not value:
            return value
        try:
            return self.normalizer(value)
        except InvalidIdentifier as exc:
            # As a parameter: the message quotes the value, which may contain '%'.
            raise forms.ValidationError("%(error)s", params={"error": str(exc)})


class _DoiField(_IdentifierField):
    normalizer = staticmethod(normalize_doi)


class _PmidField(_IdentifierField):
    normalizer = staticmethod(normalize_pmid)


class DoiFilter(django_filters.CharFilter):
    """Exact DOI, given in any form (``doi:``, ``https://doi.org/...``, any case)."""

    field_class = _DoiField


class PmidFilter(django_filters.CharFilter):
    """Exact PMID (leading zeros and ``pmid:`` ignored)."""

    field_class = _PmidField


class SourceFilter(django_filters.FilterSet):
    """``?status=&evidence_type=&doi=&pmid=&q=`` on the source list."""

    status = django_filters.ChoiceFilter(choices=Source.Status.choices)
    evidence_type = django_filters.ChoiceFilter(choices=Source.EvidenceType.choices)
    doi = DoiFilter(field_name="doi")
    pmid = PmidFilter(field_name="pmid")
    q = django_filters.CharFilter(
        method="search", label="Search title, key, DOI and PMID (case-insensitive)"
    )

    class Meta:
        model = Source
        fields = ["status", "evidence_type", "doi", "pmid", "q"]

    def search(self, queryset, name, value):
        """Substring match on title and key; identifiers match in any of their written forms."""
        value = value.strip()
        if not value:
            return queryset
        condition = Q(title__icontains=value) | Q(key__icontains=value)
        try:
            condition |= Q(doi=normalize_doi(value))
        except InvalidIdentifier:
            condition |= Q(doi__icontains=value.lower())
        with contextlib.suppress(InvalidIdentifier):
            condition |= Q(pmid=normalize_pmid(value))
        return queryset.filter(condition)
