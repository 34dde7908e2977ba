"""Reader site views (server-rendered)."""

from django.http import Http404, HttpResponse

from .models import Article


def article_list(request):
    """Approved articles."""
    titles = [a.live_revision.title for a in Article.objects.filter(live_revision__isnull=False)
              .exclude(status=Article.Status.ARCHIVED).select_related("live_revision")]
    return HttpResponse("<h1>Reviewsite</h1>" + "".join(f"<p>{t}</p>" for t in titles))


def article_detail(request, slug):
    """The live revision of one article."""
    article = Article.objects.filter(slug=slug, live_revision__isnull=False).exclude(
        status=Article.Status.ARCHIVED).select_related("live_revision").first()
    if article is None:
        raise Http404
    return HttpResponse(article.live_revision.body_html)
