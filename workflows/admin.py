"""Admin for the review record; audit events are read-only."""

from django.contrib import admin

from articles.admin import ReadOnlyAdmin

from . import outbox
from .models import (
    Approval,
    AuditEvent,
    ChecklistItem,
    Notification,
    OutboxMessage,
    ReviewAssignment,
)


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ["at", "article", "action", "actor", "from_status", "to_status", "refused"]
    list_filter = ["action", "refused"]
    list_select_related = ["article", "actor"]
    search_fields = ["article__slug", "comment"]


@admin.register(ChecklistItem)
class ChecklistItemAdmin(admin.ModelAdmin):
    list_display = ["key", "text", "required", "audiences", "active", "position"]
    list_editable = ["required", "active", "position"]
    list_filter = ["active", "required"]


@admin.register(Approval)
class ApprovalAdmin(ReadOnlyAdmin):
    list_display = ["at", "article", "kind", "revision", "reviewer"]
    list_select_related = ["article", "revision", "reviewer"]


@admin.register(ReviewAssignment)
class ReviewAssignmentAdmin(admin.ModelAdmin):
    list_display = ["article", "reviewer", "assigned_by", "assigned_at"]
    list_select_related = ["article", "reviewer", "assigned_by"]


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "recipient", "subject", "state", "attempts"]
    list_filter = ["state"]


@admin.register(OutboxMessage)
class OutboxMessageAdmin(ReadOnlyAdmin):
    """What waits for the relay after an outage (state ``pending``), and what ran."""

    list_display = [
        "created_at",
        "kind",
        "key",
        "state",
        "attempts",
        "failures",
        "updated_at",
        "done_at",
    ]
    list_filter = ["state", "kind"]
    actions = ["retry"]

    @admin.action(description="Retry the selected failed rows")
    def retry(self, request, queryset):
        count = outbox.retry_failed(queryset)
        self.message_user(request, f"{count} failed row(s) put back for the relay.")
