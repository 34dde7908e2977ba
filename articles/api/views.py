"""Article-side API views that concern sources: which articles cite a source."""

from django.db.models import Q
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import generics
from rest_framework.permissions import IsAuthenticated

from articles.models import Article, RevisionCitation
from citations.models import Source

from .serializers import CitingArticleSerializer


@extend_schema(summary="Articles whose live or working revision cites the source")
class CitingArticlesView(generics.ListAPIView):
    """GET /api/v1/sources/{id}/citing-articles/ (editorial staff)."""

    serializer_class = CitingArticleSerializer
    permission_classes = [IsAuthenticated]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return Article.objects.none()
        source = get_object_or_404(Source, pk=self.kwargs["pk"])
        self.citing_revisions = set(
            RevisionCitation.objects.filter(source=source).values_list("revision_id", flat=True)
        )
        return (
            Article.objects.visible_to(self.request.user)
            .filter(
                Q(live_revision__in=self.citing_revisions)
                | Q(latest_revision__in=self.citing_revisions)
            )
            .select_related("latest_revision")
            .order_by("id")
        )

    def get_serializer_context(self):
        context = super().get_serializer_context()
        context["citing_revisions"] = getattr(self, "citing_revisions", set())
        return context
