"""sitemap.xml: the live articles (lastmod = last_updated) and the reader site's fixed pages."""

from django.contrib.sitemaps import Sitemap
from django.urls import reverse

from . import selectors


class ArticleSitemap(Sitemap):
    """Every live article, newest first."""

    changefreq = "monthly"
    priority = 0.8
    limit = 5000

    def items(self):
        return (
            selectors.live_articles()
            .only("id", "slug", "last_updated")
            .order_by("-last_updated", "-id")
        )

    def lastmod(self, article):
        return article.last_updated


class ReaderPagesSitemap(Sitemap):
    """The home page and the editorial policy."""

    changefreq = "weekly"
    priority = 0.5

    def items(self):
        return ["articles:list", "articles:editorial-policy"]

    def location(self, item):
        return reverse(item)


SITEMAPS = {"articles": ArticleSitemap, "pages": ReaderPagesSitemap}
