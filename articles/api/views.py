"""Article-side API views: which articles cite a source, and the figures (media library)."""

from django.db.models import Exists, OuterRef, Q
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.response import Response

from articles import selectors
from articles.models import Article, RevisionCitation, sees_working_copies
from articles.services import figure_upload
from citations.models import Source
from reviewsite.roles import is_editor, is_staff_member

from .serializers import (
    CitingArticleSerializer,
    FigureInputSerializer,
    FigureSerializer,
    ReaderCitingArticleSerializer,
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
