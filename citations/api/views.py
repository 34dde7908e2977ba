"""Source library API: list/create, detail/edit, import, status, metadata lookup.

Each view checks permission, validates input with an input serializer, calls one
service and answers with :class:`SourceOutputSerializer`. Services raise Django's
ValidationError / PermissionDenied and domain errors; ``reviewsite.api`` maps them
to 400 / 403 / their own status.
"""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from citations import integrity, services
from citations.importers import UnsupportedEncoding, UnsupportedFormat
from citations.models import Source, SourceCheck

from .filters import SourceFilter
from .permissions import ChecksSources, EditsLibraryOrReadOnly, ReadsLibrary, SetsSourceStatus
from .serializers import (
    ImportJobSerializer,
    ImportReportSerializer,
    SourceCheckSerializer,
    SourceImportInputSerializer,
    SourceInputSerializer,
    SourceLookupInputSerializer,
    SourceLookupOutputSerializer,
    SourceOutputSerializer,
    SourceStatusInputSerializer,
)

_ERRORS = {
    400: OpenApiResponse(description="Invalid input: field messages naming field and value"),
    401: OpenApiResponse(description="Not authenticated"),
    403: OpenApiResponse(description="Not allowed for the caller's role"),
}


class _SourceView(generics.GenericAPIView):
    """Shared pieces: the annotated queryset and 401 (not 403) for anonymous callers."""

    serializer_class = SourceOutputSerializer
    permission_classes = [EditsLibraryOrReadOnly]

    def get_queryset(self):
        return services.sources_with_citing_count()

    def get_authenticate_header(self, request):
        # DRF asks only the first authenticator (session, which has no header) and so
        # turns "not authenticated" into 403; token auth has one, so anonymous gets 401.
        for authenticator in request.authenticators:
            header = authenticator.authenticate_header(request)
            if header:
                return header
        return None

    def source_response(self, pk: int, code: int = status.HTTP_200_OK) -> Response:
        """The stored source, re-read with its citing count."""
        source = self.get_queryset().get(pk=pk)
        return Response(SourceOutputSerializer(source).data, status=code)


class SourceListCreateView(_SourceView, generics.ListAPIView):
    """``GET`` the library (paginated, filterable); ``POST`` a new source (Editors)."""

    filterset_class = SourceFilter

    @extend_schema(
        summary="List sources",
        description="Editorial staff only. `citing_count`: distinct articles whose live or "
        "working revision cites the source.",
    )
    def get(self, request, *args, **kwargs):
        return self.list(request, *args, **kwargs)

    @extend_schema(
        summary="Create a source",
        request=SourceInputSerializer,
        responses={201: SourceOutputSerializer, **_ERRORS},
    )
    def post(self, request, *args, **kwargs):
        data = SourceInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        source = services.source_create(actor=request.user, data=data.validated_data)
        return self.source_response(source.pk, status.HTTP_201_CREATED)


class SourceDetailView(_SourceView):
    """``GET`` one source; ``PATCH`` its bibliographic fields (Editors)."""

    @extend_schema(summary="Get a source", responses={200: SourceOutputSerializer, **_ERRORS})
    def get(self, request, pk: int):
        return Response(self.get_serializer(self.get_object()).data)

    @extend_schema(
        summary="Edit a source",
        description="Bibliographic fields only; the status has its own endpoint.",
        request=SourceInputSerializer,
        responses={200: SourceOutputSerializer, **_ERRORS},
    )
    def patch(self, request, pk: int):
        source = self.get_object()
        data = SourceInputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        services.source_update(source_id=source.pk, actor=request.user, data=data.validated_data)
        return self.source_response(source.pk)


class SourceStatusView(_SourceView):
    """``POST`` a new status with its notice (Reviewers); other apps react after commit."""

    permission_classes = [SetsSourceStatus]

    @extend_schema(
        summary="Change a source's status",
        request=SourceStatusInputSerializer,
        responses={200: SourceOutputSerializer, **_ERRORS},
    )
    def post(self, request, pk: int):
        source = self.get_object()
        data = SourceStatusInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.source_set_status(source_id=source.pk, actor=request.user, **data.validated_data)
        return self.source_response(source.pk)


class SourceImportView(_SourceView):
    """``POST`` a citation file (multipart ``file``, optional ``format``).

    A file up to 1 MB is imported at once: 201 with the report, whatever happened
    to its entries (a file with only refused entries is not a bad request). A
    larger one is queued: 202 with the job, to follow at ``GET /imports/{id}/``.
    A file that cannot be read at all (size, encoding, format) is a 400 either way.
    """

    parser_classes = [MultiPartParser, FormParser]
    serializer_class = ImportReportSerializer

    @extend_schema(
        summary="Import a citation file",
        description="BibTeX, RIS, Web of Science, CSL-JSON, PubMed MEDLINE or Retraction "
        "Watch CSV, at most 10 MB. Duplicates (same DOI, PMID, or title+year+first author) "
        "merge into the existing source.",
        request={"multipart/form-data": SourceImportInputSerializer},
        responses={201: ImportReportSerializer, 202: ImportJobSerializer, **_ERRORS},
    )
    def post(self, request):
        data = SourceImportInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        upload = data.validated_data["file"]
        fmt = data.validated_data.get("format") or None
        background = upload.size > services.IMPORT_BACKGROUND_BYTES
        run = services.import_job_create if background else services.source_import
        try:
            result = run(actor=request.user, data=upload.read(), filename=upload.name, fmt=fmt)
        except UnsupportedEncoding as exc:
            return Response({"file": [str(exc)]}, status=400)
        except UnsupportedFormat as exc:
            return Response({"format" if fmt else "file": [str(exc)]}, status=400)
        if background:
            body = ImportJobSerializer(result).data
            return Response(
                body, status=status.HTTP_202_ACCEPTED, headers={"Location": body["url"]}
            )
        return Response(ImportReportSerializer(result).data, status=status.HTTP_201_CREATED)


class ImportJobView(_SourceView):
    """``GET`` a background import: ``state``, ``processed``, ``total``; the report when done."""

    serializer_class = ImportJobSerializer
    permission_classes = [EditsLibraryOrReadOnly]

    def get_queryset(self):
        return services.import_jobs_for(self.request.user)

    @extend_schema(
        summary="Follow a background import",
        responses={
            200: ImportJobSerializer,
            404: OpenApiResponse(description="No such job"),
            **_ERRORS,
        },
    )
    def get(self, request, pk: int):
        job = generics.get_object_or_404(self.get_queryset(), pk=pk)
        return Response(ImportJobSerializer(job).data)


class SourceLookupView(_SourceView):
    """``POST {"doi"}`` or ``{"pmid"}``: fetch metadata (Crossref / PubMed), create or merge.

    201 when the source was created, 200 when the metadata merged into an existing
    source; 400 when lookup is disabled, 404 when the registry has no such record,
    503 when the registry cannot be reached.
    """

    serializer_class = SourceLookupOutputSerializer
    permission_classes = [EditsLibraryOrReadOnly]

    @extend_schema(
        summary="Look a source up by DOI or PMID",
        request=SourceLookupInputSerializer,
        responses={
            200: SourceLookupOutputSerializer,
            201: SourceLookupOutputSerializer,
            **_ERRORS,
            404: OpenApiResponse(description="The registry has no record for the identifier"),
            503: OpenApiResponse(description="The registry cannot be reached"),
        },
    )
    def post(self, request):
        data = SourceLookupInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        source, created = services.source_lookup(
            actor=request.user,
            doi=data.validated_data.get("doi", ""),
            pmid=data.validated_data.get("pmid", ""),
        )
        source = self.get_queryset().get(pk=source.pk)
        body = SourceLookupOutputSerializer({"created": created, "source": source}).data
        return Response(body, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class SourceChecksView(_SourceView, generics.ListAPIView):
    """``GET`` a source's integrity-check history, newest first (editorial staff)."""

    serializer_class = SourceCheckSerializer
    permission_classes = [ReadsLibrary]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return SourceCheck.objects.none()
        source = get_object_or_404(Source, pk=self.kwargs["pk"])
        return SourceCheck.objects.filter(source=source).order_by("-checked_at", "-id")

    @extend_schema(summary="A source's integrity-check history, newest first")
    def get(self, request, *args, **kwargs):
        return self.list(request, *args, **kwargs)


class SourceCheckNowView(_SourceView):
    """``POST``: ask Crossref (DOI) and PubMed (PMID) about one source now (Editors, Reviewers).

    Answers 200 with the new checks, one per registry asked; a registry that cannot
    be reached is an ``error`` check, not a failed request. 400 when the watch is
    switched off or the source has neither DOI nor PMID.
    """

    serializer_class = SourceCheckSerializer
    permission_classes = [ChecksSources]

    @extend_schema(
        summary="Check a source against Crossref and PubMed now",
        request=None,
        responses={200: SourceCheckSerializer(many=True), **_ERRORS},
    )
    def post(self, request, pk: int):
        source = self.get_object()
        checks = integrity.source_check_now(actor=request.user, source_id=source.pk)
        return Response(SourceCheckSerializer(checks, many=True).data)
