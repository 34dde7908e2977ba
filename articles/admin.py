"""Admin for articles (read-mostly: state changes go through the workflow services)."""

from django.contrib import admin

from .models import (
    Article,
    ArticleRevision,
    EditorialPolicy,
    Figure,
    ReviewerProfile,
    RevisionCitation,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows that are never edited by hand."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class RevisionCitationInline(admin.TabularInline):
    model = RevisionCitation
    fields = ["number", "key", "source", "intentional_reason"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Article)
class ArticleAdmin(admin.ModelAdmin):
    list_display = ["slug", "status", "audience", "topic", "last_updated", "next_review_due"]
    list_filter = [
        "status",
        "audience",
        "flag_review_overdue",
        "flag_review_due_soon",
        "flag_citation_retracted",
        "flag_citation_concern",
    ]
    search_fields = ["slug", "topic", "latest_revision__title"]
    list_select_related = ["latest_revision"]
    # Status, revisions and review dates change only through the workflow (and its audit).
    readonly_fields = [
        "status",
        "latest_revision",
        "live_revision",
        "version",
        "last_updated",
        "last_reviewed",
        "last_reviewed_by",
        "next_review_due",
        "submitted_at",
        "review_started_at",
        "live_submitted_at",
        "live_review_started_at",
        "flag_review_overdue",
        "flag_review_due_soon",
        "flag_citation_retracted",
        "flag_citation_concern",
    ]
    fields = [
        "slug",
        "audience",
        "topic",
        "variant_group",
        "owner",
        "review_interval_days",
        "required_approvals",
        *readonly_fields,
    ]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ArticleRevision)
class ArticleRevisionAdmin(ReadOnlyAdmin):
    list_display = ["article", "number", "title", "author", "created_at"]
    list_select_related = ["article", "author"]
    search_fields = ["title"]
    inlines = [RevisionCitationInline]


@admin.register(ReviewerProfile)
class ReviewerProfileAdmin(admin.ModelAdmin):
    list_display = [
        "display_name",
        "credentials",
        "specialty",
        "registration_body",
        "registration_number",
        "credentials_verified_at",
        "credentials_expire_on",
        "on_advisory_board",
    ]
    search_fields = ["display_name", "specialty", "registration_number"]
    readonly_fields = ["credentials_verified_at", "credentials_verified_by"]
    actions = ["verify_credentials"]

    @admin.action(description="Mark the selected reviewers' credentials verified")
    def verify_credentials(self, request, queryset):
        from .services import reviewer_profile_update

        for profile in queryset:
            reviewer_profile_update(
                user_id=profile.user_id, actor=request.user, changes={}, verify=True
            )


@admin.register(EditorialPolicy)
class EditorialPolicyAdmin(admin.ModelAdmin):
    list_display = ["__str__", "updated_by", "updated_at"]


@admin.register(Figure)
class FigureAdmin(ReadOnlyAdmin):
    """Uploads and replacements go through the workspace or the API (the image checks)."""

    list_display = ["id", "alt_text", "decorative", "width", "height", "uploaded_by", "created_at"]
    list_select_related = ["uploaded_by"]
    search_fields = ["alt_text", "caption", "credit"]
