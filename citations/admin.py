"""Admin for the source library; status changes are read-only history."""

from django.contrib import admin

from articles.admin import ReadOnlyAdmin

from .models import ImportJob, Source, SourceCheck, SourceStatusEvent


class SourceStatusEventInline(admin.TabularInline):
    """A source's status history, shown read-only under the source."""

    model = SourceStatusEvent
    fields = (
        "at", "from_status", "to_status", "notice_doi", "notice_pmid", "reason", "actor",
        "actor_label",
    )  # fmt: skip
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Source)
class SourceAdmin(admin.ModelAdmin):
    """Bibliographic records. Status changes belong to reviewers (API / workspace), so the
    status and notice are read-only here: editing them would skip the audit event and the
    signal that flags citing articles."""

    list_display = ("key", "title", "status", "evidence_type", "doi", "pmid")
    list_filter = ("status", "evidence_type", "type")
    search_fields = ("key", "title", "doi", "pmid", "pmcid")
    readonly_fields = (
        "status", "notice_doi", "notice_pmid", "notice_date", "notice_reason",
        "status_changed_at", "title_signature", "created_by", "created_at", "updated_at",
        "last_checked",
    )  # fmt: skip
    inlines = [SourceStatusEventInline]
    list_per_page = 50


@admin.register(SourceStatusEvent)
class SourceStatusEventAdmin(ReadOnlyAdmin):
    """Append-only history of source status changes: viewable, never edited."""

    list_display = ("source", "from_status", "to_status", "actor", "at")
    list_filter = ("to_status",)
    search_fields = ("source__key", "source__title", "reason")
    list_select_related = ("source", "actor")


@admin.register(SourceCheck)
class SourceCheckAdmin(ReadOnlyAdmin):
    """What the integrity watch was told by each registry: viewable, never edited."""

    list_display = ("source", "registry", "outcome", "found_status", "checked_at")
    list_filter = ("registry", "outcome", "found_status")
    search_fields = ("source__key", "source__doi", "source__pmid", "notice_doi", "detail")
    list_select_related = ("source",)


@admin.register(ImportJob)
class ImportJobAdmin(ReadOnlyAdmin):
    """Background imports and their progress: who, which file, how far. Read-only: a job
    is changed only by its run (the uploaded bytes and the report are not shown)."""

    list_display = (
        "id", "created_by", "filename", "format", "state", "progress", "created_at",
        "finished_at",
    )  # fmt: skip
    list_filter = ("state", "format")
    search_fields = ("filename", "created_by__username")
    list_select_related = ("created_by",)
    fields = (
        "created_by", "filename", "format", "state", "processed", "total", "error",
        "created_at", "started_at", "finished_at", "lease_until",
    )  # fmt: skip
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).defer("data", "report")

    @admin.display(description="processed / total")
    def progress(self, job: ImportJob) -> str:
        return f"{job.processed:,} / {job.total:,}"
