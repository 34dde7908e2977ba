"""Output shapes of articles, revisions and their citations."""

from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from articles.models import Article, ArticleRevision, Figure, ReviewerProfile, RevisionCitation
from reviewsite.schema import NonBlankCharField


class CitationSerializer(serializers.ModelSerializer):
    """One numbered citation of a revision: ``{"number", "source", "key"}``."""

    class Meta:
        model = RevisionCitation
        fields = ["number", "source", "key"]


class AffectedClaimSerializer(serializers.Serializer):
    """A sentence that cites a source that is not active, and where it is."""

    source = serializers.IntegerField()
    status = serializers.CharField()
    section = serializers.CharField(help_text="The heading above the sentence ('' if none)")
    sentence = serializers.CharField(help_text="Plain text, markers left out")
    line = serializers.IntegerField(help_text="1-based line of the marker in the Markdown")
    column = serializers.IntegerField(help_text="1-based column of the marker")


class RevisionSerializer(serializers.ModelSerializer):
    """A revision with its content and resolved citations."""

    author = serializers.CharField(source="author.username", read_only=True)
    citations = CitationSerializer(many=True, read_only=True)
    figures = serializers.SerializerMethodField(
        help_text="The figures the body shows, as rendered: id, file hash, src, alt, caption."
    )

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
            "figures",
        ]

    @extend_schema_field(serializers.ListField(child=serializers.DictField()))
    def get_figures(self, revision) -> list[dict]:
        return [
            {"id": int(f["ref"]), **{k: v for k, v in f.items() if k != "ref"}}
            for f in revision.figures
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


class FigureInputSerializer(serializers.Serializer):
    """Multipart body of ``POST /figures/``; the service checks the image itself."""

    file = serializers.FileField(
        help_text="PNG, JPEG or WebP (judged by decoding), at most 5 MB and 40 million "
        "pixels. SVG is refused."
    )
    alt_text = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        trim_whitespace=True,
        help_text="What the image shows, for readers who cannot see it. Required unless "
        "`decorative`.",
    )
    decorative = serializers.BooleanField(
        required=False, default=False, help_text="The image adds nothing a reader needs."
    )
    caption = serializers.CharField(required=False, allow_blank=True, default="")
    credit = serializers.CharField(required=False, allow_blank=True, default="")


class FigureSizeSerializer(serializers.Serializer):
    """One stored responsive size."""

    width = serializers.IntegerField()
    height = serializers.IntegerField()
    url = serializers.CharField()


class FigureSerializer(serializers.ModelSerializer):
    """A figure's metadata and the URLs of its served files."""

    url = serializers.SerializerMethodField(help_text="The full-size copy (metadata stripped).")
    sizes = serializers.SerializerMethodField()
    marker = serializers.CharField(read_only=True, help_text="What to write in the Markdown.")
    uploaded_by = serializers.CharField(source="uploaded_by.username", read_only=True)

    class Meta:
        model = Figure
        fields = [
            "id",
            "url",
            "media_type",
            "width",
            "height",
            "file_hash",
            "sizes",
            "alt_text",
            "decorative",
            "caption",
            "credit",
            "marker",
            "uploaded_by",
            "created_at",
        ]

    def get_url(self, figure) -> str:
        return figure.file.url

    @extend_schema_field(FigureSizeSerializer(many=True))
    def get_sizes(self, figure) -> list[dict]:
        storage = figure.file.storage
        return [
            {"width": s["width"], "height": s["height"], "url": storage.url(s["name"])}
            for s in figure.sizes
        ]


class PublicReviewerProfileSerializer(serializers.ModelSerializer):
    """A reviewer profile as everyone sees it."""

    class Meta:
        model = ReviewerProfile
        fields = ["user", "display_name", "credentials", "specialty", "bio"]
        read_only_fields = fields


class ReviewerProfileSerializer(PublicReviewerProfileSerializer):
    """A reviewer profile as editorial staff see it: with the verification."""

    credentials_verified_by = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
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

    display_name = NonBlankCharField(max_length=200, required=False)
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
