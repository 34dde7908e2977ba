"""Article-side API views: which articles cite a source; reviewer profiles."""

from django.db.models import Exists, OuterRef, Q
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import generics, viewsets
from rest_framework.exceptions import NotAuthenticated, ValidationError
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response

from articles.models import Article, ReviewerProfile, RevisionCitation, sees_working_copies
from articles.services import reviewer_profile_update
from citations.models import Source
from reviewsite.roles import is_staff_member

from .serializers import (
    CitingArticleSerializer,
    PublicReviewerProfileSerializer,
    ReaderCitingArticleSerializer,
    ReviewerProfileInput,
    ReviewerProfileSerializer,
)


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


class ReviewerProfileViewSet(viewsets.GenericViewSet):
    """GET /api/v1/reviewers/ and /reviewers/{user_id}/; PATCH by Managing editors."""

    permission_classes = [AllowAny]
    lookup_field = "user"
    lookup_url_kwarg = "user_id"

    def get_queryset(self):
        return ReviewerProfile.objects.select_related("credentials_verified_by").order_by(
            "display_name", "user_id"
        )

    def get_serializer_class(self):
        if is_staff_member(self.request.user):
            return ReviewerProfileSerializer
        return PublicReviewerProfileSerializer

    @extend_schema(responses=ReviewerProfileSerializer(many=True))
    def list(self, request):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @extend_schema(responses=ReviewerProfileSerializer)
    def retrieve(self, request, user_id=None):
        return Response(self.get_serializer(self.get_object()).data)

    @extend_schema(request=ReviewerProfileInput, responses=ReviewerProfileSerializer)
    def partial_update(self, request, user_id=None):
        if not request.user.is_authenticated:
            raise NotAuthenticated()
        if not hasattr(request.data, "keys"):
            raise ValidationError({"non_field_errors": ["Send a JSON object."]})
        unknown = sorted(set(request.data.keys()) - set(ReviewerProfileInput().fields))
        if unknown:
            raise ValidationError({name: ["Unknown or read-only field."] for name in unknown})
        data = ReviewerProfileInput(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        changes = dict(data.validated_data)
        verify = changes.pop("verify", None)
        profile = reviewer_profile_update(
            user_id=user_id, actor=request.user, changes=changes, verify=verify
        )
        return Response(ReviewerProfileSerializer(self.get_queryset().get(pk=profile.pk)).data)
