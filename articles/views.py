"""Reader site (server-rendered): article list, live article pages, staff preview, policy.

Article pages are rendered once per state and cached. A cached page costs no query: it
is kept under its slug with the cache generation it was rendered at (``page_cache``,
bumped by every change). When the generation moved, one query reads the page's state
(``selectors.reader_page_state``), whose key (``selectors.reader_page_cache_key``)
finds the HTML again if nothing the page shows changed; a handful more render it,
whatever the number of citations. Bodies and reference entries were rendered and
sanitised when the revision was saved; nothing here renders Markdown per request.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from html import escape
from urllib.parse import quote

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.core.serializers.json import DjangoJSONEncoder
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.cache import get_conditional_response, patch_cache_control, patch_vary_headers
from django.utils.http import http_date
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.http import require_safe
from django.views.static import serve
from markdown_it import MarkdownIt

from citations.formatting import reference_links
from citations.identifiers import InvalidIdentifier, normalize_url
from citations.models import Source
from citations.rendering import sanitize_html
from reviewsite.roles import is_managing_editor, is_staff_member

from . import page_cache, selectors
from .forms import ArticleFilterForm, EditorialPolicyForm
from .models import Article, ArticleRevision, EditorialPolicy, RevisionCitation

#: Cookie remembering which audience version of an article the reader prefers.
AUDIENCE_COOKIE = "reviewsite_audience"
AUDIENCE_COOKIE_AGE = 365 * 24 * 3600
PAGE_SIZE = 20
DEFAULT_DISCLAIMER = (
    "This article is for general information only. It is not a substitute for "
    "professional medical advice, diagnosis or treatment. Always ask your doctor or "
    "another qualified health professional about a medical condition, and never ignore "
    "professional advice or delay seeking it because of something you read here."
)

_SCHEMA_AUDIENCE = {Article.Audience.PATIENTS: "Patient", Article.Audience.CLINICIANS: "Clinician"}
_HEADING_TAG = re.compile(r"<(/?)h([1-6])\b")
# A citation link as citations.rendering writes it: one number or a collapsed range.
_CITATION_LINK = re.compile(r'<a href="#ref-(\d+)" id="(cite-[\w-]+)">(\d+)(?:\u2013(\d+))?</a>')
#: Statuses whose citations are marked in the text, and what the mark says.
_MARKED_STATUSES = {
    Source.Status.RETRACTED: "cites a retracted source",
    Source.Status.WITHDRAWN: "cites a withdrawn source",
    Source.Status.EXPRESSION_OF_CONCERN: "cites a source under an expression of concern",
}
# What json_script escapes, so the JSON-LD block cannot close its <script> element.
_JSON_SCRIPT_ESCAPES = {ord(">"): "\\u003E", ord("<"): "\\u003C", ord("&"): "\\u0026"}
_POLICY_MARKDOWN = MarkdownIt("commonmark", {"html": False}).enable(["table", "strikethrough"])


# --- list ---------------------------------------------------------------------------------


@require_safe
def article_list(request: HttpRequest) -> HttpResponse:
    """Approved articles, newest update first, with search, topic and audience filters."""
    form = ArticleFilterForm(request.GET or None, topics=selectors.reader_topics())
    filters = form.filters()
    paginator = Paginator(selectors.reader_article_list(**filters), PAGE_SIZE)
    page = paginator.get_page(request.GET.get("page"))
    return render(
        request,
        "articles/article_list.html",
        {
            "form": form,
            "page": page,
            "searching": any(filters.values()),
            "query": filters.get("q", ""),
        },
    )


# --- article pages ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _PageEntry:
    """A rendered article page as the page cache keeps it under its slug."""

    generation: str
    slug: str
    audience: str
    variants: list
    etag: str
    last_modified: int | None
    html: bytes


# Precomputed once: the cached page's response headers never vary otherwise.
_CACHE_CONTROL = {
    False: "max-age=0, must-revalidate, public",
    True: "max-age=0, must-revalidate, private",
}


#: Request headers ``get_conditional_response`` reads; without any, it answers ``None``.
_CONDITIONAL_HEADERS = frozenset(
    {"HTTP_IF_MATCH", "HTTP_IF_NONE_MATCH", "HTTP_IF_MODIFIED_SINCE", "HTTP_IF_UNMODIFIED_SINCE"}
)


def _signed_in(request: HttpRequest) -> bool:
    """Whether a staff member is signed in; no session is read for a reader without one."""
    if settings.SESSION_COOKIE_NAME not in request.COOKIES:
        return False
    return request.user.is_authenticated


@require_safe
def article_detail(request: HttpRequest, slug: str) -> HttpResponse:
    """The live revision of an article; 404 unless approved and not archived.

    A cached page costs one cache round trip and no query (see ``articles.page_cache``).
    """
    authenticated = _signed_in(request)
    entry_key = page_cache.entry_key(slug, authenticated=authenticated)
    cached = cache.get_many([page_cache.GENERATION_KEY, entry_key])
    generation = page_cache.current_generation(cached)
    entry = cached.get(entry_key)
    if entry is None or entry.generation != generation:
        try:
            entry = _page_entry(request, slug, authenticated=authenticated, generation=generation)
        except _Withdrawn:
            # Archived, or restored to draft: say why instead of a bare "not found".
            return render(request, "articles/unavailable.html", status=404)
        cache.set(entry_key, entry, settings.REVIEWSITE_PAGE_CACHE_SECONDS)
    switch = _audience_switch(request, entry, entry.variants)
    if switch is not None:
        return switch
    return _page_response(request, entry, authenticated=authenticated)


#: Per process: slug -> (monotonic expiry, entry), anonymous entries read from the page
#: cache. One is served only while the shared generation still equals its own, which
#: every request reads from the cache, so a change shows at once in every process; this
#: spares unpickling the page on each hit. Bounded, and no longer-lived than the cache.
_LOCAL_ENTRIES: dict[str, tuple[float, _PageEntry]] = {}
_LOCAL_MAX_ENTRIES = 256


def cached_reader_page(request: HttpRequest, slug: str) -> HttpResponse | None:
    """The anonymous page of ``slug`` if the page cache holds it at the current generation.

    For ``reviewsite.middleware.CachedReaderPageMiddleware``, which calls it only for a
    GET without cookies or an ``audience`` choice (so no audience switch applies); the
    response is the one :func:`article_detail` answers from the same entry. ``None``
    (a miss, or the generation moved) sends the request down the normal path.
    """
    local = _LOCAL_ENTRIES.get(slug)
    if local is not None and local[0] > time.monotonic():
        if local[1].generation == cache.get(page_cache.GENERATION_KEY):
            return _page_response(request, local[1], authenticated=False)
    entry_key = page_cache.entry_key(slug, authenticated=False)
    cached = cache.get_many([page_cache.GENERATION_KEY, entry_key])
    entry = cached.get(entry_key)
    if entry is None or entry.generation != cached.get(page_cache.GENERATION_KEY):
        _LOCAL_ENTRIES.pop(slug, None)
        return None
    if len(_LOCAL_ENTRIES) >= _LOCAL_MAX_ENTRIES:
        _LOCAL_ENTRIES.clear()
    expires = time.monotonic() + settings.REVIEWSITE_PAGE_CACHE_SECONDS
    _LOCAL_ENTRIES[slug] = (expires, entry)
    return _page_response(request, entry, authenticated=False)


def _page_response(request: HttpRequest, entry: _PageEntry, *, authenticated: bool) -> HttpResponse:
    """The page (or a 304) from a cache entry, with its validators and cache headers."""
    response = None
    if not _CONDITIONAL_HEADERS.isdisjoint(request.META):
        response = get_conditional_response(
            request, etag=entry.etag, last_modified=entry.last_modified
        )
    if response is None:
        response = HttpResponse(entry.html)
    headers = response.headers
    headers["ETag"] = entry.etag
    if entry.last_modified is not None:
        headers["Last-Modified"] = http_date(entry.last_modified)
    # Browsers revalidate with the ETag; retraction notices must not linger in caches.
    headers["Cache-Control"] = _CACHE_CONTROL[authenticated]
    if "Vary" not in headers:
        headers["Vary"] = "Cookie"
    else:
        patch_vary_headers(response, ["Cookie"])
    return response


class _Withdrawn(Exception):
    """The slug had a reviewed page once, and readers may not see it now."""


def _page_entry(
    request: HttpRequest, slug: str, *, authenticated: bool, generation: str
) -> _PageEntry:
    """Read the page's state and render it (or take its HTML from the state-keyed cache)."""
    state = selectors.reader_page_state(slug=slug)
    if state is None:
        if selectors.was_published(slug=slug):
            raise _Withdrawn(slug)
        raise Http404("No article here.")
    variants = selectors.reader_variants(state.variant_group)
    key = selectors.reader_page_cache_key(state, variants, authenticated=authenticated)
    modified = selectors.reader_page_last_modified(state)
    html = cache.get(key)
    if html is None:
        article = selectors.reader_article(slug=slug)
        if article is None:  # archived between the two reads
            raise Http404("No article here.")
        revision = article.live_revision
        # Cached as bytes: no encoding per request, and cheaper to unpickle.
        html = _render_article_page(
            request,
            article=article,
            revision=revision,
            body_html=selectors.revision_body_html(revision.pk),
            references=selectors.revision_references(revision.pk),
            disclaimer=selectors.policy_disclaimer(),
            variants=variants,
            preview=False,
        ).encode()
        cache.set(key, html, settings.REVIEWSITE_PAGE_CACHE_SECONDS)
    return _PageEntry(
        generation=generation,
        slug=state.slug,
        audience=state.audience,
        variants=variants,
        etag='"' + key.rsplit(":", 1)[-1][:40] + '"',
        last_modified=int(modified.timestamp()) if modified else None,
        html=html,
    )


def _audience_switch(
    request: HttpRequest, state: _PageEntry, variants: list[selectors.Variant]
) -> HttpResponse | None:
    """Redirect to the reader's chosen or remembered audience version, if it is another one."""
    by_audience = {v.audience: v for v in variants}
    chosen = request.GET.get("audience")
    if chosen in Article.Audience.values:
        target = by_audience.get(chosen)
        response = redirect(
            reverse("articles:detail", kwargs={"slug": target.slug if target else state.slug})
        )
        response.set_cookie(
            AUDIENCE_COOKIE,
            chosen,
            max_age=AUDIENCE_COOKIE_AGE,
            samesite="Lax",
            httponly=True,
            secure=request.is_secure(),
        )
        return response
    preferred = request.COOKIES.get(AUDIENCE_COOKIE)
    if preferred and preferred != state.audience and preferred in by_audience:
        response = redirect(
            reverse("articles:detail", kwargs={"slug": by_audience[preferred].slug})
        )
        patch_vary_headers(response, ["Cookie"])
        patch_cache_control(response, private=True, max_age=0)
        return response
    return None


@require_safe
def article_preview(request: HttpRequest, pk: int) -> HttpResponse:
    """The working revision, for editorial staff only, marked as not yet reviewed."""
    if not is_staff_member(request.user):
        raise Http404("No article here.")
    article = selectors.preview_article(article_id=pk)
    if article is None or article.latest_revision is None:
        raise Http404("No article here.")
    revision = article.latest_revision
    policy = selectors.current_policy()
    html = _render_article_page(
        request,
        article=article,
        revision=revision,
        body_html=revision.body_html,
        references=selectors.revision_references(revision.pk),
        disclaimer=policy.disclaimer if policy else "",
        variants=[],
        preview=True,
    )
    response = HttpResponse(html)
    response.headers["Cache-Control"] = "no-store, private"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    return response


def _render_article_page(
    request: HttpRequest,
    *,
    article: Article,
    revision: ArticleRevision,
    body_html: str,
    references: list[RevisionCitation],
    disclaimer: str,
    variants: list[selectors.Variant],
    preview: bool,
) -> str:
    """The full HTML of an article page (live or preview)."""
    # A preview shows content nobody has reviewed yet: no reviewed-by line at all.
    reviewer = None if preview else article.last_reviewed_by
    profile = getattr(reviewer, "reviewer_profile", None) if reviewer else None
    items = [_reference_item(citation) for citation in references]
    canonical = settings.SITE_URL.rstrip("/") + article.get_absolute_url()
    context = {
        "article": article,
        "revision": revision,
        "preview": preview,
        "profile": profile,
        "reviewer_name": _reviewer_name(reviewer, profile),
        "body_html": mark_safe(  # noqa: S308 - nh3 at save; the marks are our own markup
            _mark_flagged_citations(_demote_headings(body_html), items)
        ),
        "contents": _contents(revision.headings or []),
        "references": items,
        "notices": _notices(article, items),
        "trail": _status_trail(article, preview),
        "disclaimer": disclaimer.strip() or DEFAULT_DISCLAIMER,
        "variants": variants,
        "canonical_url": canonical,
        "json_ld": None if preview else _json_ld(article, revision, profile, references, canonical),
    }
    return render_to_string("articles/article_detail.html", context, request=request)


def _reviewer_name(reviewer, profile) -> str:
    if profile is not None:
        return profile.byline
    if reviewer is not None:
        return reviewer.get_full_name() or reviewer.get_username()
    return ""


def _demote_headings(html: str) -> str:
    """Shift body headings down a level when the body has an h1: the page title is the h1."""
    if "<h1" not in html:
        return html
    return _HEADING_TAG.sub(lambda m: f"<{m.group(1)}h{min(int(m.group(2)) + 1, 6)}", html)


def _mark_flagged_citations(html: str, references: list[dict]) -> str:
    """Mark each superscript link citing a retracted, withdrawn or concerned source.

    The mark is visible (a warning sign) and the link's accessible name says why
    ("Reference 2 cites a retracted source"). Statuses change after the body was
    rendered, so this is done when the page is built, on the stored HTML.
    """
    why = {
        r["number"]: _MARKED_STATUSES[r["status"]]
        for r in references
        if r["status"] in _MARKED_STATUSES
    }
    if not why:
        return html

    def mark(match: re.Match) -> str:
        first = int(match.group(3))
        last = int(match.group(4) or first)
        reasons = [f"reference {n} {why[n]}" for n in range(first, last + 1) if n in why]
        if not reasons:
            return match.group(0)
        shown = match.group(3) + (f"\u2013{match.group(4)}" if match.group(4) else "")
        if last > first:
            label = escape(f"References {shown}: " + "; ".join(reasons))
        else:
            label = escape(f"Reference {shown} {why[first]}")
        return (
            f'<a href="#ref-{match.group(1)}" id="{match.group(2)}" class="citation--flagged" '
            f'aria-label="{label}" title="{label}">{shown}'
            '<span class="citation-flag" aria-hidden="true">\u26a0</span></a>'
        )

    return _CITATION_LINK.sub(mark, html)


def _contents(headings: list[dict]) -> list[dict]:
    """'In this article': the top heading level, each with the level below nested in it.

    Nested, not flat: in one flat numbered list a subheading took a number, so the
    sections were numbered 1, 2, 3, 5 when the third had a subheading.
    """
    if not headings:
        return []
    top = min(h["level"] for h in headings)
    contents: list[dict] = []
    for heading in headings:
        if heading["level"] == top:
            contents.append({**heading, "children": []})
        elif heading["level"] == top + 1:
            if not contents:  # a subheading before the first heading stands alone
                contents.append({**heading, "children": []})
            else:
                contents[-1]["children"].append(heading)
    return contents


def _reference_item(citation: RevisionCitation) -> dict:
    source = citation.source
    identifiers = {"doi": source.doi, "pmid": source.pmid, "pmcid": source.pmcid}
    entry = citation.entry_html + reference_links(identifiers, citation.entry_html)
    item = {
        "number": citation.number,
        "entry_html": mark_safe(entry),  # noqa: S308 - nh3 at save; links escaped
        "backlinks": [
            {"id": anchor, "label": _backlink_label(index, len(citation.backlinks))}
            for index, anchor in enumerate(citation.backlinks)
        ],
        "status": source.status,
        "status_label": source.get_status_display(),
        "intentional_reason": citation.intentional_reason,
        "notice": None,
    }
    if source.status != Source.Status.ACTIVE:
        notice_ids = {"doi": source.notice_doi, "pmid": source.notice_pmid}
        item["notice"] = {
            "links": mark_safe(reference_links(notice_ids).strip()),  # noqa: S308 - escaped
            "date": source.notice_date,
            "reason": source.notice_reason,
        }
    return item


def _backlink_label(index: int, total: int) -> str:
    """'^' for a single backlink, else a, b, c, … as in Wikipedia's reference lists."""
    if total == 1:
        return "^"
    letters = "abcdefghijklmnopqrstuvwxyz"
    return letters[index] if index < len(letters) else str(index + 1)


def _notices(article: Article, references: list[dict]) -> list[str]:
    """What the reader must know before trusting the page."""
    notices = []
    if article.flag_review_overdue:
        notices.append(
            "This article is overdue for its scheduled medical review, so some information "
            "may be out of date."
        )
    unintentional = [r for r in references if not r["intentional_reason"]]
    if article.flag_citation_retracted or any(
        r["status"] in Source.REFUSED_STATUSES for r in unintentional
    ):
        notices.append(
            "A source cited in this article has been retracted or withdrawn since the article "
            "was reviewed. Our medical reviewers have been asked to re-check it; the affected "
            "reference is marked below."
        )
    if article.flag_citation_concern or any(
        r["status"] == Source.Status.EXPRESSION_OF_CONCERN for r in unintentional
    ):
        notices.append(
            "The publisher of a source cited in this article has issued an expression of "
            "concern about it. Our medical reviewers have been asked to re-check the article."
        )
    return notices


def _status_trail(article: Article, preview: bool) -> list[dict]:
    """Submitted → Under review → Approved, with the dates of the revision shown."""
    if preview:
        submitted, started, approved = article.submitted_at, article.review_started_at, None
        if article.status == Article.Status.APPROVED:
            approved = article.last_reviewed
    else:
        submitted, started = article.live_submitted_at, article.live_review_started_at
        approved = article.last_updated
        # A re-approval of unchanged content moves last_reviewed, not last_updated.
        if approved is None or (started is not None and approved < started):
            approved = article.last_reviewed
    trail = [
        {"label": "Submitted", "at": submitted},
        {"label": "Under review", "at": started},
        {"label": "Approved", "at": approved},
    ]
    if not preview and article.last_reviewed and approved and article.last_reviewed > approved:
        trail.append({"label": "Re-reviewed", "at": article.last_reviewed})
    return trail


def _json_ld(
    article: Article,
    revision: ArticleRevision,
    profile,
    references: list[RevisionCitation],
    canonical: str,
) -> SafeString:
    """schema.org MedicalWebPage, escaped so it cannot break out of its script element."""
    data: dict = {
        "@context": "https://schema.org",
        "@type": "MedicalWebPage",
        "name": revision.title,
        "headline": revision.title,
        "description": revision.summary,
        "url": canonical,
        "inLanguage": "en",
        "dateModified": article.last_updated,
        "lastReviewed": article.last_reviewed.date() if article.last_reviewed else None,
    }
    if article.audience in _SCHEMA_AUDIENCE:
        data["audience"] = {
            "@type": "MedicalAudience",
            "audienceType": _SCHEMA_AUDIENCE[article.audience],
        }
    if profile is not None:
        data["reviewedBy"] = {
            "@type": "Person",
            "name": profile.display_name,
            "honorificSuffix": profile.credentials,
            "jobTitle": profile.specialty,
            "url": settings.SITE_URL.rstrip("/")
            + reverse("articles:editorial-policy")
            + f"#{profile.anchor}",
        }
    data["citation"] = [_schema_citation(c.source) for c in references]
    text = json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False)
    return mark_safe(text.translate(_JSON_SCRIPT_ESCAPES))  # noqa: S308 - escaped above


def _web_url(url: str) -> bool:
    """True for an http(s) URL (sources stored before the URL rule may hold others)."""
    try:
        return bool(normalize_url(url))
    except InvalidIdentifier:
        return False


def _schema_citation(source: Source) -> dict:
    work: dict = {
        "@type": "ScholarlyArticle" if source.type == "article-journal" else "CreativeWork",
        "name": source.title,
    }
    if source.doi:
        work["url"] = "https://doi.org/" + quote(source.doi, safe="/:;()[]._-~")
        work["identifier"] = f"doi:{source.doi}"
    elif _web_url(source.url):
        work["url"] = source.url
    if source.pmid:
        work["sameAs"] = f"https://pubmed.ncbi.nlm.nih.gov/{quote(source.pmid, safe='')}/"
    if source.issued:
        work["datePublished"] = source.issued
    return work


# --- editorial policy --------------------------------------------------------------------------


@require_safe
def editorial_policy(request: HttpRequest) -> HttpResponse:
    """The editorial policy (Markdown, sanitised) and the medical advisory board."""
    policy = selectors.current_policy()
    body_html = _policy_html(policy) if policy else ""
    return render(
        request,
        "articles/editorial_policy.html",
        {
            "policy": policy,
            "body_html": body_html,
            "disclaimer": (policy.disclaimer.strip() if policy else "") or DEFAULT_DISCLAIMER,
            "board": selectors.advisory_board(),
            "can_edit": is_managing_editor(request.user),
        },
    )


def _policy_html(policy: EditorialPolicy) -> SafeString:
    """The policy body rendered once per policy row (rows are never edited in place)."""
    key = f"reader:policy:{policy.pk}:{policy.updated_at.isoformat()}"
    html = cache.get(key)
    if html is None:
        html = _demote_headings(sanitize_html(_POLICY_MARKDOWN.render(policy.body)))
        cache.set(key, html, settings.REVIEWSITE_PAGE_CACHE_SECONDS)
    return mark_safe(html)  # noqa: S308 - no raw HTML in Markdown, then nh3


@login_required
def editorial_policy_edit(request: HttpRequest) -> HttpResponse:
    """Managing editors write a new version of the policy (the old rows are kept)."""
    if not is_managing_editor(request.user):
        raise PermissionDenied("Only Managing editors may edit the editorial policy.")
    current = selectors.current_policy()
    if request.method == "POST":
        form = EditorialPolicyForm(request.POST)
        if form.is_valid():
            policy = form.save(commit=False)
            policy.updated_by = request.user
            policy.save()
            return redirect("articles:editorial-policy")
    else:
        initial = {"body": current.body, "disclaimer": current.disclaimer} if current else {}
        form = EditorialPolicyForm(initial=initial)
    response = render(
        request, "articles/editorial_policy_form.html", {"form": form, "current": current}
    )
    response.headers["Cache-Control"] = "no-store, private"
    return response


# --- figure files ------------------------------------------------------------------------------


@require_safe
def media_file(request: HttpRequest, path: str) -> HttpResponse:
    """A stored figure file, from the filesystem storage (``REVIEWSITE_MEDIA_STORAGE``).

    Names are content-addressed, so a file never changes: browsers may keep it for a
    year. With S3 storage the bucket serves the files and this is a 404.
    """
    if settings.REVIEWSITE_MEDIA_STORAGE != "filesystem" or not path.startswith("figures/"):
        raise Http404("No such file.")
    response = serve(request, path, document_root=settings.MEDIA_ROOT)
    response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
    return response
