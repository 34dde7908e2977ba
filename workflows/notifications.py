"""Who is told what, by email (queued and sent by ``workflows.mail``)."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Q
from django.urls import reverse

from articles.models import Article, ArticleRevision
from reviewsite.roles import REVIEWERS

from .mail import queue


def _people_on(article: Article, revision: ArticleRevision | None = None) -> list:
    """The owner and the authors of the working revisions."""
    users = get_user_model().objects.filter(
        Q(pk=article.owner_id) | Q(authored_revisions__article=article)
    )
    return list(users.distinct())


def reviewers_of(article: Article) -> list:
    """Assigned reviewers, or every reviewer if none is assigned."""
    users = get_user_model().objects.filter(review_assignments__article=article)
    if not users.exists():
        users = get_user_model().objects.filter(groups__name=REVIEWERS)
    return list(users.distinct())


def review_link(article_id: int) -> str:
    """The absolute address of an article's review page, as every mail prints it."""
    return settings.SITE_URL + reverse("workflows:article-review", args=[article_id])


def _link(article: Article) -> str:
    return review_link(article.pk)


def _key(action: str, article: Article) -> str:
    # The version before the transition is unique per transition of the article.
    return f"{action}:a{article.pk}:v{article.version}"


def on_submit(*, article: Article, revision: ArticleRevision, actor) -> None:
    """Tell the reviewers that an article awaits review."""
    queue(
        recipients=[u for u in reviewers_of(article) if u.pk != actor.pk],
        subject=f"Awaiting review: {revision.title}",
        body=f"{actor.get_username()} submitted “{revision.title}” for medical review.\n\n"
        f"Review it at {_link(article)}\n",
        dedupe_key=_key("submit", article),
    )


def on_request_changes(*, article: Article, revision: ArticleRevision, actor, comment: str) -> None:
    """Tell the owner and authors what the reviewer asked for."""
    queue(
        recipients=[u for u in _people_on(article, revision) if u.pk != actor.pk],
        subject=f"Changes requested: {revision.title}",
        body=f"{actor.get_username()} requested changes to “{revision.title}”:\n\n{comment}\n\n"
        f"{_link(article)}\n",
        dedupe_key=_key("request-changes", article),
    )


def on_approve(*, article: Article, revision: ArticleRevision, actor) -> None:
    """Tell the owner and authors that the revision is live."""
    queue(
        recipients=[u for u in _people_on(article, revision) if u.pk != actor.pk],
        subject=f"Approved and live: {revision.title}",
        body=f"{actor.get_username()} approved “{revision.title}”. Readers now see this "
        f"revision at {settings.SITE_URL}{article.get_absolute_url()}\n",
        dedupe_key=_key("approve", article),
    )


def on_assign(*, article: Article, reviewers: list, actor) -> None:
    """Tell newly assigned reviewers."""
    title = article.latest_revision.title if article.latest_revision_id else article.slug
    queue(
        recipients=[u for u in reviewers if u.pk != actor.pk],
        subject=f"You are assigned to review: {title}",
        body=f"{actor.get_username()} assigned you to review “{title}”.\n\n{_link(article)}\n",
        dedupe_key=_key("assign", article),
    )
