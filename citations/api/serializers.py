"""Source library serializers: separate input (validated, then passed to services) and output."""

import re

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from citations import services
from citations.identifiers import URL_MAX_LENGTH, URL_PATTERN, URL_RE
from citations.importers import FORMATS
from citations.models import Source, SourceCheck
from citations.services import IMPORT_MAX_BYTES

_ISSUED_RE = re.compile(r"^\d{4}(-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01]))?)?$")


@extend_schema_field({"type": "string", "pattern": URL_PATTERN, "maxLength": URL_MAX_LENGTH})
class WebURLField(serializers.CharField):
    """An http(s) URL or "" (``citations.identifiers.URL_RE``, the rule imports follow too)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", URL_MAX_LENGTH)
        super().__init__(trim_whitespace=False, **kwargs)

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if value and not URL_RE.match(value):
            raise serializers.ValidationError(
                f"{value[:80]!r} is not an http(s) URL with a host (and no spaces or control "
                "characters)."
            )
        return value


class AuthorSerializer(serializers.Serializer):
    """A person (``family``, ``given``) or a group (``literal``)."""

    family = serializers.CharField(required=False, allow_blank=True, max_length=300)
    given = serializers.CharField(required=False, allow_blank=True, max_length=300)
    literal = serializers.CharField(required=False, allow_blank=True, max_length=500)

    def validate(self, attrs):
        if not (attrs.get("family") or attrs.get("given") or attrs.get("literal")):
            raise serializers.ValidationError(
                'An author needs "family" (and "given") or "literal".'
            )
        if attrs.get("literal") and (attrs.get("family") or attrs.get("given")):
            raise serializers.ValidationError(
                'An author is either a person ("family", "given") or a group ("literal"), not both.'
            )
        return attrs


class StatusNoticeSerializer(serializers.Serializer):
    """The notice behind a non-active status."""

    doi = serializers.CharField()
    pmid = serializers.CharField()
    date = serializers.DateField(allow_null=True)
    reason = serializers.CharField()


class SourceOutputSerializer(serializers.ModelSerializer):
    """A source as the API shows it (``citing_count`` comes from the list annotation)."""

    authors = AuthorSerializer(many=True, read_only=True)
    status_notice = StatusNoticeSerializer(read_only=True, allow_null=True)
    citing_count = serializers.IntegerField(read_only=True)
    url = WebURLField(read_only=True)

    class Meta:
        model = Source
        fields = [
            "id", "key", "type", "title", "authors", "container_title", "container_title_short",
            "issued", "volume",
            "issue", "pages", "doi", "pmid", "pmcid", "url", "publisher", "evidence_type",
            "status", "status_notice", "citing_count", "last_checked",
        ]  # fmt: skip
        read_only_fields = fields


class SourceCheckSerializer(serializers.ModelSerializer):
    """One registry's answer about a source (the integrity watch's history)."""

    class Meta:
        model = SourceCheck
        fields = [
            "id", "source", "registry", "checked_at", "outcome", "found_status",
            "notice_doi", "notice_pmid", "detail",
        ]  # fmt: skip
        read_only_fields = fields


class SourceInputSerializer(serializers.Serializer):
    """Fields an editor may set on create or PATCH; identifiers are normalised by the service."""

    #: What a client might send but may not set here, and where to go instead.
    NOT_WRITABLE = {
        "status": "change a source's status with POST /api/v1/sources/{id}/status/",
        "status_notice": "change a source's notice with POST /api/v1/sources/{id}/status/",
        "id": "read-only",
        "citing_count": "read-only",
    }

    key = serializers.CharField(required=False, allow_blank=True, max_length=200)
    type = serializers.CharField(required=False, max_length=40)
    title = serializers.CharField(required=False, allow_blank=True)
    authors = AuthorSerializer(many=True, required=False)
    container_title = serializers.CharField(required=False, allow_blank=True, max_length=500)
    container_title_short = serializers.CharField(required=False, allow_blank=True, max_length=200)
    issued = serializers.CharField(required=False, allow_blank=True, max_length=10)
    volume = serializers.CharField(required=False, allow_blank=True, max_length=50)
    issue = serializers.CharField(required=False, allow_blank=True, max_length=50)
    pages = serializers.CharField(required=False, allow_blank=True, max_length=50)
    doi = serializers.CharField(required=False, allow_blank=True, max_length=255)
    pmid = serializers.CharField(required=False, allow_blank=True, max_length=20)
    pmcid = serializers.CharField(required=False, allow_blank=True, max_length=20)
    url = WebURLField(required=False, allow_blank=True)
    publisher = serializers.CharField(required=False, allow_blank=True, max_length=300)
    evidence_type = serializers.ChoiceField(choices=Source.EvidenceType.choices, required=False)

    def validate_issued(self, value: str) -> str:
        if value and not _ISSUED_RE.match(value):
            raise serializers.ValidationError(
                f"{value!r} is not an ISO date: use 1998, 1998-01 or 1998-01-29."
            )
        return value

    def validate(self, attrs):
        initial = self.initial_data if isinstance(self.initial_data, dict) else {}
        errors = {
            name: [f"{name} cannot be set here: {why}."]
            for name, why in self.NOT_WRITABLE.items()
            if name in initial
        }
        if errors:
            raise serializers.ValidationError(errors)
        if not self.partial and not (attrs.get("title") or attrs.get("doi") or attrs.get("pmid")):
            raise serializers.ValidationError(
                {"title": ["A source needs a title, a DOI or a PMID."]}
            )
        return attrs


class SourceStatusInputSerializer(serializers.Serializer):
    """Body of ``POST /sources/{id}/status/``; notice fields are checked by the service."""

    status = serializers.ChoiceField(choices=Source.Status.choices)
    notice_doi = serializers.CharField(required=False, allow_blank=True, max_length=255)
    notice_pmid = serializers.CharField(required=False, allow_blank=True, max_length=20)
    notice_date = serializers.CharField(
        required=False, allow_blank=True, max_length=10, help_text="YYYY-MM-DD (or YYYY-MM, YYYY)"
    )
    reason = serializers.CharField(required=False, allow_blank=True, max_length=2000)


class SourceImportInputSerializer(serializers.Serializer):
    """Multipart body of ``POST /sources/import/``."""

    file = serializers.FileField(help_text=f"At most {IMPORT_MAX_BYTES // (1024 * 1024)} MB.")
    format = serializers.ChoiceField(
        choices=FORMATS,
        required=False,
        allow_blank=True,
        help_text="Detected from the file name and content when omitted.",
    )

    def validate_file(self, value):
        problem = services.import_size_problem(value.size, value.name)
        if problem:
            raise serializers.ValidationError(problem)
        if value.size == 0:
            raise serializers.ValidationError(f"{value.name!r} is empty.")
        return value


class ImportEntrySerializer(serializers.Serializer):
    """One line of the import report."""

    index = serializers.IntegerField()
    key = serializers.CharField()
    outcome = serializers.ChoiceField(choices=["created", "merged", "refused"])
    source = serializers.IntegerField(allow_null=True)
    reason = serializers.CharField(allow_null=True)


class ImportReportSerializer(serializers.Serializer):
    """What an import did, per entry and in total."""

    created = serializers.IntegerField()
    merged = serializers.IntegerField()
    refused = serializers.IntegerField()
    entries = ImportEntrySerializer(many=True)


class ImportJobSerializer(serializers.Serializer):
    """A background import: its state and progress; the report once it is done."""

    id = serializers.IntegerField()
    url = serializers.SerializerMethodField()
    filename = serializers.CharField()
    format = serializers.CharField()
    state = serializers.ChoiceField(choices=["queued", "running", "done", "failed"])
    processed = serializers.IntegerField(help_text="Entries stored so far.")
    total = serializers.IntegerField(help_text="Entries in the file (0 until known).")
    report = serializers.SerializerMethodField()
    error = serializers.CharField(help_text="Why the job failed; empty otherwise.")
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)

    def get_url(self, job) -> str:
        return f"/api/v1/imports/{job.pk}/"

    @extend_schema_field(ImportReportSerializer(allow_null=True))
    def get_report(self, job):
        return job.report if job.state == "done" else None


class SourceLookupInputSerializer(serializers.Serializer):
    """Body of ``POST /sources/lookup/``: exactly one of ``doi`` and ``pmid``."""

    doi = serializers.CharField(required=False, allow_blank=True, max_length=255)
    pmid = serializers.CharField(required=False, allow_blank=True, max_length=20)

    def validate(self, attrs):
        if bool(attrs.get("doi")) == bool(attrs.get("pmid")):
            raise serializers.ValidationError(
                {"non_field_errors": ['Send exactly one of "doi" and "pmid".']}
            )
        return attrs


class SourceLookupOutputSerializer(serializers.Serializer):
    """The looked-up source and whether the lookup created it (else it merged)."""

    created = serializers.BooleanField()
    source = SourceOutputSerializer()
