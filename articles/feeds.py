"""Atom feed of recently approved articles."""

from django.contrib.syndication.views import Feed
from django.urls import reverse_lazy
from django.utils.feedgenerator import Atom1Feed

from . import selectors


class PlainTextSummaryAtomFeed(Atom1Feed):
    """Atom whose summaries are ``type="text"``.

    Django writes ``type="html"``, which tells feed readers to decode the summary and
    render it as HTML: a summary such as ``<img src=x onerror=...>`` would run there.
    Our summaries are plain text, so they are declared as text (and XML-escaped).
    """

    def add_item_elements(self, handler, item):
        summary = item["description"]
        super().add_item_elements(handler, {**item, "description": None})
        if summary is not None:
            handler.addQuickElement("summary", summary, {"type": "text"})


class LatestApprovalsFeed(Feed):
    """The 20 articles whose content most recently went live after medical review."""

    feed_type = PlainTextSummaryAtomFeed
    title = "Reviewsite: recently reviewed articles"
    subtitle = "Medical articles newly approved by a named medical reviewer."
    link = reverse_lazy("articles:list")
    feed_url = reverse_lazy("articles:feed")

    def items(self):
        return selectors.feed_articles()

    def item_title(self, article):
        return article.live_revision.title

    def item_description(self, article):
        return article.live_revision.summary

    def item_link(self, article):
        return article.get_absolute_url()

    def item_guid(self, article):
        # One entry per approved revision: a new approval is news, a re-render is not.
        return f"urn:reviewsite:article:{article.pk}:revision:{article.live_revision_id}"

    def item_guid_is_permalink(self, article):
        return False

    def item_pubdate(self, article):
        return article.last_updated

    def item_updateddate(self, article):
        return article.last_updated

    def item_author_name(self, article):
        profile = getattr(article.last_reviewed_by, "reviewer_profile", None)
        return f"Reviewed by {profile.byline}" if profile else None

    def item_categories(self, article):
        return [article.topic] if article.topic else []
