"""Article API shapes: the representation readers and staff get, and write inputs."""

from django.conf import settings
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from articles.api.serializers import AffectedClaimSerializer, CitationSerializer
from articles.claims import claims_for
from articles.models import Article, revision_shown_to
from reviewsite.schema import NonBlankCharField, OptionalSlugField, TextField
from workflows.models import AuditEvent
from workflows.transitions import allowed_api_actions


class PublicReviewerSerializer(serializers.Serializer):
    """A reviewer as readers see them (schema only; rows are built as dicts)."""

    display_name = serializers.CharField()
    credentials = serializers.CharField()


class ReviewerSerializer(PublicReviewerSerializer):
    """A reviewer as editorial staff see them (schema only)."""

    id = serializers.IntegerField()
    username = serializers.CharField()


class ReadabilitySerializer(serializers.Serializer):
    """Readability of the revision's prose (schema only)."""

    words = serializers.IntegerField()
    sentences = serializers.IntegerField()
    flesch_kincaid_grade = serializers.FloatField(allow_null=True)
    smog = serializers.FloatField(allow_null=True)


class ReaderArticleSerializer(serializers.ModelSerializer):
    """An article as readers get it: the live revision, nothing of the working copy."""

    title = serializers.SerializerMethodField()
    summary = serializers.SerializerMethodField()
    body = serializers.SerializerMethodField()
    audience = serializers.SerializerMethodField()
    topic = serializers.SerializerMethodField()
    variant_group = serializers.SerializerMethodField()
    status = serializers.SerializerMethodField()
    review_interval_days = serializers.IntegerField(source="effective_review_interval_days")
    flags = serializers.ListField(child=serializers.CharField(), read_only=True)
    reviewers = serializers.SerializerMethodField()
    citations = serializers.SerializerMethodField()
    readability = serializers.SerializerMethodField()
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
            "live_revision",
            "last_updated",
            "last_reviewed",
            "next_review_due",
            "review_interval_days",
            "flags",
            "reviewers",
            "citations",
            "readability",
            "url",
        ]
        read_only_fields = fields

    def _user(self):
        request = self.context.get("request")
        return request.user if request else None

    def _revision(self, article):
        return getattr(article, revision_shown_to(self._user()))

    def get_title(self, article) -> str:
        revision = self._revision(article)
        return revision.title if revision else ""

    def get_summary(self, article) -> str:
        revision = self._revision(article)
        return revision.summary if revision else ""

    def get_body(self, article) -> str:
        revision = self._revision(article)
        return revision.body if revision else ""

    @extend_schema_field(serializers.ChoiceField(choices=Article.Audience.choices))
    def get_audience(self, article) -> str:
        return self._metadata(article, "audience")

    def get_topic(self, article) -> str:
        return self._metadata(article, "topic")

    def get_variant_group(self, article) -> str:
        return self._metadata(article, "variant_group")

    def _metadata(self, article, name: str) -> str:
        # The revision shown carries what was reviewed; readers' equals the article's.
        revision = self._revision(article)
        return getattr(revision if revision else article, name)

    def get_status(self, article) -> str:
        # A reader's article is its live revision, which is approved.
        return Article.Status.APPROVED

    def _reviewer(self, user) -> dict:
        profile = getattr(user, "reviewer_profile", None)
        return {
            "display_name": (
                profile.display_name if profile else user.get_full_name() or "Medical reviewer"
            ),
            "credentials": profile.credentials if profile else "",
        }

    @extend_schema_field(PublicReviewerSerializer(many=True))
    def get_reviewers(self, article) -> list[dict]:
        # Plain dicts: a nested serializer per article costs more than the query.
        return [self._reviewer(a.reviewer) for a in article.review_assignments.all()]

    @extend_schema_field(CitationSerializer(many=True))
    def get_citations(self, article) -> list[dict]:
        revision = self._revision(article)
        if revision is None:
            return []
        return [
            {"number": c.number, "source": c.source_id, "key": c.key}
            for c in revision.citations.all()
        ]

    @extend_schema_field(ReadabilitySerializer(allow_null=True))
    def get_readability(self, article) -> dict | None:
        revision = self._revision(article)
        return (revision.readability or None) if revision else None

    def get_url(self, article) -> str:
        return f"{settings.SITE_URL}{article.get_absolute_url()}"


class ArticleSerializer(ReaderArticleSerializer):
    """An article as editorial staff get it: the working copy and its workflow state."""

    allowed_actions = serializers.SerializerMethodField()

    class Meta(ReaderArticleSerializer.Meta):
        fields = [
            *ReaderArticleSerializer.Meta.fields[:9],
            "version",
            "live_revision",
            "latest_revision",
            *ReaderArticleSerializer.Meta.fields[10:-1],
            "required_approvals",
            "allowed_actions",
            "url",
        ]
        read_only_fields = fields

    def get_status(self, article) -> str:
        return article.status

    def _reviewer(self, user) -> dict:
        return {"id": user.pk, "username": user.username, **super()._reviewer(user)}

    @extend_schema_field(ReviewerSerializer(many=True))
    def get_reviewers(self, article) -> list[dict]:
        return super().get_reviewers(article)

    def get_allowed_actions(self, article) -> list[str]:
        return allowed_api_actions(article.status, self._user(), article)


class AffectedClaimsMixin(serializers.Serializer):
    """One article (detail, and the answer to a write): ``affected_claims`` of the revision
    shown."""

    affected_claims = serializers.SerializerMethodField()

    @extend_schema_field(AffectedClaimSerializer(many=True))
    def get_affected_claims(self, article) -> list[dict]:
        revision = self._revision(article)
        if revision is None:
            return []
        return claims_for(revision.body, revision.citations.all())


class ReaderArticleDetailSerializer(AffectedClaimsMixin, ReaderArticleSerializer):
    """One live article as readers get it, with its affected claims."""

    class Meta(ReaderArticleSerializer.Meta):
        fields = [*ReaderArticleSerializer.Meta.fields, "affected_claims"]
        read_only_fields = fields


class ArticleDetailSerializer(AffectedClaimsMixin, ArticleSerializer):
    """One article as staff get it, with its affected claims."""

    class Meta(ArticleSerializer.Meta):
        fields = [*ArticleSerializer.Meta.fields, "affected_claims"]
        read_only_fields = fields


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
    """POST /api/v1/articles/{id}/{action}/.

    ``approve`` and ``recertify`` also need ``checklist`` and ``conflict_of_interest``;
    the service checks them (and names every missing item), for the workspace alike.
    """

    comment = TextField(required=False, allow_blank=True, default="", max_length=5000)
    checklist = serializers.JSONField(
        required=False,
        default=None,
        help_text='approve/recertify: {"item key": true} for every required item '
        "(GET /api/v1/checklist/).",
    )
    conflict_of_interest = serializers.JSONField(
        required=False,
        default=None,
        help_text='approve/recertify: {"declared": false} or '
        '{"declared": true, "statement": "..."}',
    )


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
