"""Filters of the article list: status, flag, q, topic, audience."""

import django_filters
from django.db.models import Q

from articles.models import Article


class ArticleFilter(django_filters.FilterSet):
    """``?status=``, ``?flag=``, ``?q=``, ``?topic=``, ``?audience=``."""

    status = django_filters.ChoiceFilter(choices=Article.Status.choices)
    flag = django_filters.ChoiceFilter(
        choices=[(name, name) for name in Article.FLAG_FIELDS], method="filter_flag"
    )
    q = django_filters.CharFilter(method="filter_q")
    topic = django_filters.CharFilter()
    audience = django_filters.ChoiceFilter(choices=Article.Audience.choices)

    class Meta:
        model = Article
        fields = ["status", "flag", "q", "topic", "audience"]

    def filter_flag(self, queryset, name, value):
        return queryset.filter(**{Article.FLAG_FIELDS[value]: True})

    def filter_q(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        # Staff search the working copy, readers the live one (their queryset is live-only).
        return queryset.filter(
            Q(latest_revision__title__icontains=value)
            | Q(latest_revision__summary__icontains=value)
            | Q(live_revision__title__icontains=value)
            | Q(live_revision__summary__icontains=value)
            | Q(slug__icontains=value)
        )
