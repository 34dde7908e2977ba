"""Article-side API views that concern sources: which articles cite a source."""

from django.db.models import Exists, OuterRef, Q
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import generics
from rest_framework.permissions import IsAuthenticated

from articles.models import Article, RevisionCitation, sees_working_copies
from citations.models import Source

from .serializers import CitingArticleSerializer, ReaderCitingArticleSerializer


@extend_schema(
    summary="Articles whose live or working revision cites the source",
    description="Editorial staff get every article whose live or working revision cites "
    "the source; other accounts get live articles whose live revision cites it.",
)
class CitingArticlesView(generics.ListAPIView):
    """GET /api/v1/sources/{id}/citing-articles/."""

    serializer_class = CitingArticleSerializer
    permission_classes = [IsAuthenticated]

    def get_serializer_class(self):
        if sees_working_copies(self.request.user):
            return CitingArticleSerializer
        return ReaderCitingArticleSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return Article.objects.none()
        source = get_object_or_404(Source, pk=self.kwargs["pk"])
        if not sees_working_copies(self.request.user):
            cites = RevisionCitation.objects.filter(
                revision=OuterRef("live_revision"), source=source
            )
            return (
                Article.objects.live()
                .filter(Exists(cites))
                .select_related("live_revision")
                .order_by("id")
            )
        self.citing_revisions = set(
            RevisionCitation.objects.current()
            .filter(source=source)
            .values_list("revision_id", flat=True)
        )
        return (
            Article.objects.filter(
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
