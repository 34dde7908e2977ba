"""Article-side API views: which articles cite a source, the figures (media library),
and reviewer profiles."""

from django.db.models import Exists, OuterRef, Q
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, status, viewsets
from rest_framework.exceptions import NotAuthenticated, ValidationError
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import AllowAny, BasePermission, IsAuthenticated
from rest_framework.response import Response

from articles import selectors
from articles.models import Article, ReviewerProfile, RevisionCitation, sees_working_copies
from articles.services import figure_upload, reviewer_profile_update
from citations.models import Source
from reviewsite.roles import is_editor, is_staff_member

from .serializers import (
    CitingArticleSerializer,
    FigureInputSerializer,
    FigureSerializer,
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


# --- figures ---------------------------------------------------------------------------


class ReadsFigures(BasePermission):
    """Editorial staff see the media library; readers see figures only on live pages."""

    message = "Only editorial staff (Editors, Reviewers, Managing editors) may use the figures."

    def has_permission(self, request, view) -> bool:
        if not request.user.is_authenticated:
            return False  # 401, with the token scheme's WWW-Authenticate
        if request.method == "POST" and not is_editor(request.user):
            self.message = "Only Editors or Managing editors may upload figures."
            return False
        return is_staff_member(request.user)


_FIGURE_ERRORS = {
    400: OpenApiResponse(description="Invalid input: field messages (file, alt_text, ...)"),
    401: OpenApiResponse(description="Not authenticated"),
    403: OpenApiResponse(description="Not allowed for the caller's role"),
}


class _FigureView(generics.GenericAPIView):
    serializer_class = FigureSerializer
    permission_classes = [ReadsFigures]

    def get_queryset(self):
        return selectors.figure_library(query=self.request.query_params.get("q", "").strip())

    def get_authenticate_header(self, request):
        for authenticator in request.authenticators:
            header = authenticator.authenticate_header(request)
            if header:
                return header
        return None


class FigureListCreateView(_FigureView, generics.ListAPIView):
    """``GET`` the media library (the picker); ``POST`` an image (Editors)."""

    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        summary="List figures",
        description="Editorial staff only, newest first.",
        parameters=[OpenApiParameter("q", str, description="Search alt text, caption and credit.")],
    )
    def get(self, request, *args, **kwargs):
        return self.list(request, *args, **kwargs)

    @extend_schema(
        summary="Upload a figure",
        description="PNG, JPEG or WebP, at most 5 MB; SVG is refused. Sizes 480, 960 and "
        "1600 px wide (never upscaled) are made once; EXIF/GPS metadata is stripped. Show it "
        "in an article as `![alt](figure:<id>)`.",
        request={"multipart/form-data": FigureInputSerializer},
        responses={201: FigureSerializer, **_FIGURE_ERRORS},
    )
    def post(self, request, *args, **kwargs):
        data = FigureInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        figure = figure_upload(actor=request.user, **data.validated_data)
        return Response(FigureSerializer(figure).data, status=status.HTTP_201_CREATED)


@extend_schema(summary="A figure's metadata", responses={200: FigureSerializer, **_FIGURE_ERRORS})
class FigureDetailView(_FigureView, generics.RetrieveAPIView):
    """``GET /figures/{id}/``: metadata and file URLs (editorial staff)."""


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

    @extend_schema(
        responses=PublicReviewerProfileSerializer(many=True),
        description="Public fields for everyone; editorial staff also get the registration "
        "and verification fields (credentials_verified_at/by, credentials_expire_on, "
        "credentials_valid, credentials_problem).",
    )
    def list(self, request):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @extend_schema(
        responses=PublicReviewerProfileSerializer,
        description="As the list: staff also get the verification fields.",
    )
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
