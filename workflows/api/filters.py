"""Filters of the article list: status, flag, q, topic, audience.

Every filter reads what the caller is shown (``articles.models.revision_shown_to``):
staff filter working copies by their workflow status; readers filter live
articles by their live revision, whose status is always ``approved``.
"""

import django_filters
from django.db.models import Q

from articles.models import Article, revision_shown_to, sees_working_copies


class ArticleFilter(django_filters.FilterSet):
    """``?status=``, ``?flag=``, ``?q=``, ``?topic=``, ``?audience=``."""

    status = django_filters.ChoiceFilter(choices=Article.Status.choices, method="filter_status")
    flag = django_filters.ChoiceFilter(
        choices=[(name, name) for name in Article.FLAG_FIELDS], method="filter_flag"
    )
    q = django_filters.CharFilter(method="filter_q")
    topic = django_filters.CharFilter()
    audience = django_filters.ChoiceFilter(choices=Article.Audience.choices)

    class Meta:
        model = Article
        fields = ["status", "flag", "q", "topic", "audience"]

    def _user(self):
        return getattr(self.request, "user", None)

    def filter_status(self, queryset, name, value):
        if sees_working_copies(self._user()):
            return queryset.filter(status=value)
        # A reader's article is its live revision, which is approved whatever the
        # working copy is doing: no status but approved says anything about drafts.
        return queryset if value == Article.Status.APPROVED else queryset.none()

    def filter_flag(self, queryset, name, value):
        return queryset.filter(**{Article.FLAG_FIELDS[value]: True})

    def filter_q(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        shown = revision_shown_to(self._user())
        return queryset.filter(
            Q(**{f"{shown}__title__icontains": value})
            | Q(**{f"{shown}__summary__icontains": value})
            | Q(slug__icontains=value)
        )
