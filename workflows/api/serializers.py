"""Article API shapes: the representation readers and staff get, and write inputs."""

from django.conf import settings
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from articles.api.serializers import CitationSerializer
from articles.models import Article
from reviewsite.roles import is_staff_member
from reviewsite.schema import NonBlankCharField, OptionalSlugField, TextField
from workflows.models import AuditEvent
from workflows.transitions import API_ACTIONS, allowed_actions


class ReviewerSerializer(serializers.Serializer):
    """A reviewer as the API shows them."""

    id = serializers.IntegerField()
    username = serializers.CharField()
    display_name = serializers.SerializerMethodField()
    credentials = serializers.SerializerMethodField()

    def _profile(self, user):
        return getattr(user, "reviewer_profile", None)

    def get_display_name(self, user) -> str:
        profile = self._profile(user)
        return profile.display_name if profile else user.get_full_name() or user.username

    def get_credentials(self, user) -> str:
        profile = self._profile(user)
        return profile.credentials if profile else ""


class ArticleSerializer(serializers.ModelSerializer):
    """An article: staff see the working copy, readers the live revision."""

    title = serializers.SerializerMethodField()
    summary = serializers.SerializerMethodField()
    body = serializers.SerializerMethodField()
    status = serializers.SerializerMethodField()
    review_interval_days = serializers.IntegerField(source="effective_review_interval_days")
    flags = serializers.ListField(child=serializers.CharField(), read_only=True)
    reviewers = serializers.SerializerMethodField()
    citations = serializers.SerializerMethodField()
    allowed_actions = serializers.SerializerMethodField()
    url = serializers.SerializerMethodField()
    variant_group = OptionalSlugField(read_only=True)

    class Meta:
        model = Article
        fields = [
            "id",
            "slug",
            "title",
            "summary",
            "body",
            "audience",
            "topic",
            "variant_group",
            "status",
            "version",
            "live_revision",
            "latest_revision",
            "last_updated",
            "last_reviewed",
            "next_review_due",
            "review_interval_days",
            "required_approvals",
            "flags",
            "reviewers",
            "citations",
            "allowed_actions",
            "url",
        ]
        read_only_fields = fields

    def _staff(self) -> bool:
        request = self.context.get("request")
        return bool(request and is_staff_member(request.user))

    def _revision(self, article):
        return article.latest_revision if self._staff() else article.live_revision

    def get_title(self, article) -> str:
        revision = self._revision(article)
        return revision.title if revision else ""

    def get_summary(self, article) -> str:
        revision = self._revision(article)
        return revision.summary if revision else ""

    def get_body(self, article) -> str:
        revision = self._revision(article)
        return revision.body if revision else ""

    def get_status(self, article) -> str:
        # Readers only ever see approved content.
        return article.status if self._staff() else Article.Status.APPROVED

    @extend_schema_field(ReviewerSerializer(many=True))
    def get_reviewers(self, article) -> list[dict]:
        # Plain dicts: a nested serializer per article costs more than the query.
        reviewers = []
        for assignment in article.review_assignments.all():
            user = assignment.reviewer
            profile = getattr(user, "reviewer_profile", None)
            reviewers.append(
                {
                    "id": user.pk,
                    "username": user.username,
                    "display_name": profile.display_name if profile else user.username,
                    "credentials": profile.credentials if profile else "",
                }
            )
        return reviewers

    @extend_schema_field(CitationSerializer(many=True))
    def get_citations(self, article) -> list[dict]:
        revision = self._revision(article)
        if revision is None:
            return []
        return [
            {"number": c.number, "source": c.source_id, "key": c.key}
            for c in revision.citations.all()
        ]

    def get_allowed_actions(self, article) -> list[str]:
        request = self.context.get("request")
        if not self._staff():
            return []
        return [a for a in allowed_actions(article.status, request.user) if a in API_ACTIONS]

    def get_url(self, article) -> str:
        return f"{settings.SITE_URL}{article.get_absolute_url()}"


_AUDIENCES = Article.Audience.choices


class ArticleCreateInput(serializers.Serializer):
    """POST /api/v1/articles/."""

    title = NonBlankCharField(max_length=300)
    summary = TextField(required=False, allow_blank=True, default="")
    body = TextField(required=False, allow_blank=True, default="", trim_whitespace=False)
    audience = serializers.ChoiceField(choices=_AUDIENCES, required=False, default="general")
    topic = TextField(required=False, allow_blank=True, default="", max_length=100)
    variant_group = OptionalSlugField(required=False, allow_blank=True, default="")
    slug = OptionalSlugField(required=False, allow_blank=True, default="", max_length=200)
    intentional_citations = serializers.DictField(
        child=NonBlankCharField(), required=False, default=dict
    )
    review_interval_days = serializers.IntegerField(
        required=False, allow_null=True, default=None, min_value=1, max_value=3650
    )
    required_approvals = serializers.IntegerField(
        required=False, default=1, min_value=1, max_value=2
    )


class ArticleEditInput(serializers.Serializer):
    """PATCH /api/v1/articles/{id}/: any subset of these fields."""

    title = NonBlankCharField(max_length=300, required=False)
    summary = TextField(required=False, allow_blank=True)
    body = TextField(required=False, allow_blank=True, trim_whitespace=False)
    audience = serializers.ChoiceField(choices=_AUDIENCES, required=False)
    topic = TextField(required=False, allow_blank=True, max_length=100)
    variant_group = OptionalSlugField(required=False, allow_blank=True)
    intentional_citations = serializers.DictField(child=NonBlankCharField(), required=False)
    review_interval_days = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, max_value=3650
    )
    required_approvals = serializers.IntegerField(required=False, min_value=1, max_value=2)


def reject_unknown_fields(serializer_class, data) -> None:
    """A client that sends a field we ignore would believe it was saved: refuse it."""
    if not hasattr(data, "keys"):
        raise serializers.ValidationError({"non_field_errors": ["Send a JSON object."]})
    unknown = sorted(set(data.keys()) - set(serializer_class().fields))
    if unknown:
        raise serializers.ValidationError(
            {
                name: ["Unknown or read-only field; state changes go through actions."]
                for name in unknown
            }
        )


class ActionInput(serializers.Serializer):
    """POST /api/v1/articles/{id}/{action}/."""

    comment = TextField(required=False, allow_blank=True, default="", max_length=5000)


class AssignReviewersInput(serializers.Serializer):
    """POST /api/v1/articles/{id}/reviewers/."""

    reviewers = serializers.ListField(
        # Bounded: an id past the database's integer range is a 400, not a query error.
        child=serializers.IntegerField(min_value=1, max_value=2**63 - 1),
        allow_empty=True,
        max_length=50,
    )


class AuditEventSerializer(serializers.ModelSerializer):
    """One audit event of an article's history."""

    actor = serializers.SerializerMethodField()

    class Meta:
        model = AuditEvent
        fields = [
            "id",
            "action",
            "actor",
            "from_status",
            "to_status",
            "revision",
            "comment",
            "refused",
            "reason",
            "at",
        ]

    def get_actor(self, event) -> str | None:
        return event.actor.username if event.actor else None


class TransitionErrorSerializer(serializers.Serializer):
    """409 body."""

    detail = serializers.CharField()
    status = serializers.CharField()
    allowed_actions = serializers.ListField(child=serializers.CharField())
