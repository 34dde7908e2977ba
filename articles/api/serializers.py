"""Output shapes of articles, revisions and their citations."""

from django.utils import timezone
from rest_framework import serializers

from articles.models import Article, ArticleRevision, ReviewerProfile, RevisionCitation


class CitationSerializer(serializers.ModelSerializer):
    """One numbered citation of a revision: ``{"number", "source", "key"}``."""

    class Meta:
        model = RevisionCitation
        fields = ["number", "source", "key"]


class RevisionSerializer(serializers.ModelSerializer):
    """A revision with its content and resolved citations."""

    author = serializers.CharField(source="author.username", read_only=True)
    citations = CitationSerializer(many=True, read_only=True)

    class Meta:
        model = ArticleRevision
        fields = [
            "id",
            "number",
            "title",
            "summary",
            "body",
            "content_hash",
            "author",
            "created_at",
            "citations",
            "unresolved_markers",
            "intentional_citations",
        ]


class ReaderCitingArticleSerializer(serializers.ModelSerializer):
    """A live article whose live revision cites the source, as readers see it."""

    title = serializers.CharField(source="live_revision.title", read_only=True)

    class Meta:
        model = Article
        fields = ["id", "slug", "title", "flags"]


class CitingArticleSerializer(serializers.ModelSerializer):
    """An article citing a source, and in which of its revisions (editorial staff)."""

    title = serializers.SerializerMethodField()
    cited_in_live = serializers.SerializerMethodField()
    cited_in_working = serializers.SerializerMethodField()

    class Meta:
        model = Article
        fields = ["id", "slug", "title", "status", "flags", "cited_in_live", "cited_in_working"]

    def get_title(self, article) -> str:
        return article.title

    def get_cited_in_live(self, article) -> bool:
        return article.live_revision_id in self.context["citing_revisions"]

    def get_cited_in_working(self, article) -> bool:
        return article.latest_revision_id in self.context["citing_revisions"]


class PublicReviewerProfileSerializer(serializers.ModelSerializer):
    """A reviewer profile as everyone sees it."""

    class Meta:
        model = ReviewerProfile
        fields = ["user", "display_name", "credentials", "specialty", "bio"]
        read_only_fields = fields


class ReviewerProfileSerializer(PublicReviewerProfileSerializer):
    """A reviewer profile as editorial staff see it: with the verification."""

    credentials_verified_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    credentials_valid = serializers.SerializerMethodField(
        help_text="Whether these credentials may sign an approval today."
    )
    credentials_problem = serializers.SerializerMethodField()

    class Meta(PublicReviewerProfileSerializer.Meta):
        fields = [
            *PublicReviewerProfileSerializer.Meta.fields,
            "registration_body",
            "registration_number",
            "credentials_verified_at",
            "credentials_verified_by",
            "credentials_expire_on",
            "credentials_valid",
            "credentials_problem",
        ]
        read_only_fields = fields

    def get_credentials_valid(self, profile) -> bool:
        return not self.get_credentials_problem(profile)

    def get_credentials_problem(self, profile) -> str:
        return profile.credential_problem(timezone.localdate())


class ReviewerProfileInput(serializers.Serializer):
    """PATCH /api/v1/reviewers/{user_id}/ (Managing editors)."""

    display_name = serializers.CharField(max_length=200, required=False)
    credentials = serializers.CharField(max_length=100, required=False, allow_blank=True)
    specialty = serializers.CharField(max_length=200, required=False, allow_blank=True)
    bio = serializers.CharField(required=False, allow_blank=True, max_length=5000)
    registration_body = serializers.CharField(max_length=100, required=False, allow_blank=True)
    registration_number = serializers.CharField(max_length=100, required=False, allow_blank=True)
    credentials_expire_on = serializers.DateField(required=False, allow_null=True)
    verify = serializers.BooleanField(
        required=False,
        help_text="true stamps credentials_verified_at/by with now and you; false revokes.",
    )
