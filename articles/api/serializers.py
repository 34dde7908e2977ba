"""Output shapes of articles, revisions and their citations."""

from rest_framework import serializers

from articles.models import Article, ArticleRevision, RevisionCitation


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
