"""Writes on articles and revisions: creating content, resolving and rendering citations.

State changes (submit, approve, ...) live in ``workflows.services``; these functions
only make content and are called from there.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max, Q
from django.utils.text import slugify

from citations.formatting import format_entries
from citations.identifiers import InvalidIdentifier, normalize_doi, normalize_pmid
from citations.markers import MarkerSyntaxError, check_markers, find_markers
from citations.models import Source
from citations.rendering import render_article
from citations.services import source_to_record

from .models import Article, ArticleRevision, ReviewerProfile, RevisionCitation
from .readability import readability


@dataclass(frozen=True)
class Content:
    """The reviewable content of a revision."""

    title: str
    summary: str
    body: str
    intentional: dict  # {citation key: reason} for retracted/withdrawn sources cited on purpose

    def normalized(self) -> Content:
        """The same content with line endings and trailing whitespace normalised."""
        return Content(
            title=normalize_text(self.title),
            summary=normalize_text(self.summary),
            body=normalize_text(self.body),
            intentional=self.intentional,
        )


def normalize_text(text: str) -> str:
    """CRLF and CR to LF, no trailing whitespace on any line or at the end.

    Content is compared and stored in this form, so a browser form that sends the
    same text (with CRLF, or a trailing newline) creates no revision.
    """
    if not isinstance(text, str):
        return text
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return "\n".join(line.rstrip() for line in lines).rstrip()


def resolve_keys(keys) -> dict[str, Source]:
    """Map each marker key (citation key, ``doi:…`` or ``pmid:…``) to its source, in one query."""
    plain, dois, pmids = set(), {}, {}
    for key in keys:
        lowered = key.lower()
        try:
            if lowered.startswith("doi:"):
                dois[key] = normalize_doi(key[4:])
            elif lowered.startswith("pmid:"):
                pmids[key] = normalize_pmid(key[5:])
            else:
                plain.add(key)
        except InvalidIdentifier:
            continue
    if not (plain or dois or pmids):
        return {}
    condition = Q(key__in=plain) | Q(doi__in=set(dois.values())) | Q(pmid__in=set(pmids.values()))
    sources = list(Source.objects.filter(condition))
    by_key = {s.key: s for s in sources}
    by_doi = {s.doi: s for s in sources if s.doi}
    by_pmid = {s.pmid: s for s in sources if s.pmid}
    resolved: dict[str, Source] = {}
    for key in keys:
        if key in dois and dois[key] in by_doi:
            resolved[key] = by_doi[dois[key]]
        elif key in pmids and pmids[key] in by_pmid:
            resolved[key] = by_pmid[pmids[key]]
        elif key in by_key:
            resolved[key] = by_key[key]
    return resolved


def marker_keys(body: str) -> list[str]:
    """Every key cited in the body, in order (syntax errors are reported elsewhere)."""
    try:
        markers = find_markers(body)
    except MarkerSyntaxError:
        return []
    return [item.key for marker in markers for item in marker.items]


@dataclass(frozen=True)
class RenderedCitation:
    """One numbered reference of a rendered body."""

    number: int
    key: str
    source: Source
    entry_html: str
    backlinks: list[str]


@dataclass(frozen=True)
class Rendering:
    """A body rendered once: safe HTML, headings, numbered references, marker problems."""

    html: str
    headings: list[dict]
    citations: list[RenderedCitation]
    problems: list[dict]
    style: str


def render_body(body: str) -> Rendering:
    """Resolve the markers of ``body``, number them, render it and format its references."""
    sources = resolve_keys(marker_keys(body))
    rendered = render_article(body, lambda key: sources[key].pk if key in sources else None)
    by_id = {source.pk: source for source in sources.values()}
    style = settings.REVIEWSITE_CITATION_STYLE
    ordered = [by_id[c["source_id"]] for c in rendered.citations]
    entries = format_entries([source_to_record(s) for s in ordered], style=style)
    return Rendering(
        html=rendered.html,
        headings=rendered.headings,
        citations=[
            RenderedCitation(
                number=c["number"],
                key=c["key"],
                source=source,
                entry_html=entry,
                backlinks=rendered.backlinks.get(c["number"], []),
            )
            for c, source, entry in zip(rendered.citations, ordered, entries, strict=True)
        ],
        problems=rendered.unresolved + syntax_problems(body),
        style=style,
    )


def _render(revision: ArticleRevision) -> list[RevisionCitation]:
    """Render ``revision`` once and build its numbered citations (unsaved)."""
    rendering = render_body(revision.body)
    revision.body_html = rendering.html
    revision.headings = rendering.headings
    revision.unresolved_markers = rendering.problems
    revision.citation_style = rendering.style
    intentional = revision.intentional_citations or {}
    return [
        RevisionCitation(
            number=c.number,
            source=c.source,
            key=c.key,
            entry_html=c.entry_html,
            backlinks=c.backlinks,
            intentional_reason=intentional.get(c.key) or intentional.get(c.source.key) or "",
        )
        for c in rendering.citations
    ]


def syntax_problems(body: str) -> list[dict]:
    """Malformed markers, in the same shape as unresolved ones."""
    return [{**problem, "key": ""} for problem in check_markers(body) if problem.get("error")]


@transaction.atomic
def revision_create(*, article: Article, content: Content, author) -> ArticleRevision | None:
    """Store a new working revision, or return None if nothing changed."""
    content_hash = ArticleRevision.hash_content(
        title=content.title,
        summary=content.summary,
        body=content.body,
        intentional=content.intentional,
    )
    current = article.latest_revision
    if current is not None and current.content_hash == content_hash:
        return None
    number = (article.revisions.aggregate(n=Max("number"))["n"] or 0) + 1
    revision = ArticleRevision(
        article=article,
        number=number,
        title=content.title,
        summary=content.summary,
        body=content.body,
        intentional_citations=content.intentional,
        content_hash=content_hash,
        author=author,
        readability=readability(content.body),
    )
    citations = _render(revision)
    revision.save()
    for citation in citations:
        citation.revision = revision
    RevisionCitation.objects.bulk_create(citations)
    article.latest_revision = revision
    return revision


@transaction.atomic
def revision_refresh_citations(*, revision: ArticleRevision) -> ArticleRevision:
    """Re-resolve the citations of a revision that was never live (sources added since).

    The content and its hash do not change; only what the markers resolve to.
    """
    citations = _render(revision)
    revision.save(
        _allow_update=True,
        update_fields=["body_html", "headings", "unresolved_markers", "citation_style"],
    )
    RevisionCitation.objects.filter(revision=revision).delete()
    for citation in citations:
        citation.revision = revision
    RevisionCitation.objects.bulk_create(citations)
    return revision


def unique_slug(title: str) -> str:
    """A slug from the title that no article uses yet."""
    base = slugify(title)[:180] or "article"
    taken = set(Article.objects.filter(slug__startswith=base).values_list("slug", flat=True))
    slug, n = base, 2
    while slug in taken:
        slug, n = f"{base}-{n}", n + 1
    return slug


def validate_content(content: Content) -> None:
    """Field rules shared by create and edit."""
    errors = {}
    if not content.title.strip():
        errors["title"] = ["This field may not be blank."]
    elif len(content.title) > 300:
        errors["title"] = ["Ensure this field has no more than 300 characters."]
    if not isinstance(content.intentional, dict) or not all(
        isinstance(k, str) and isinstance(v, str) and v.strip()
        for k, v in content.intentional.items()
    ):
        errors["intentional_citations"] = [
            "Give an object mapping each citation key to a non-empty reason."
        ]
    if errors:
        raise ValidationError(errors)


#: Profile fields a managing editor may change through the API and the workspace.
PROFILE_FIELDS = (
    "display_name",
    "credentials",
    "specialty",
    "bio",
    "registration_body",
    "registration_number",
    "credentials_expire_on",
)
#: Changing one of these voids an earlier verification (it vouched for other details).
_VERIFIED_FIELDS = ("credentials", "registration_body", "registration_number")


@transaction.atomic
def reviewer_profile_update(
    *, user_id: int, actor, changes: dict, verify: bool | None = None
) -> ReviewerProfile:
    """Managing editors edit a reviewer's profile and verify (or revoke) credentials.

    ``verify=True`` stamps ``credentials_verified_at`` / ``_by`` with now and the actor;
    ``verify=False`` revokes. Changing the credentials or registration without
    verifying again voids the earlier verification.
    """
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from reviewsite.errors import ActionForbidden, NotFound
    from reviewsite.roles import REVIEWERS, is_managing_editor

    if not is_managing_editor(actor):
        raise ActionForbidden("Only Managing editors may edit or verify reviewer profiles.")
    unknown = sorted(set(changes) - set(PROFILE_FIELDS))
    if unknown:
        raise ValidationError({name: ["Not a profile field."] for name in unknown})
    profile = ReviewerProfile.objects.select_for_update().filter(user_id=user_id).first()
    if profile is None:
        user = get_user_model().objects.filter(pk=user_id, groups__name=REVIEWERS).first()
        if user is None:
            raise NotFound(f"No reviewer with user id {user_id}.")
        profile = ReviewerProfile(user=user, display_name=user.get_full_name() or user.username)
    details_changed = any(
        f in changes and changes[f] != getattr(profile, f) for f in _VERIFIED_FIELDS
    )
    for field, value in changes.items():
        setattr(profile, field, value)
    if not profile.display_name.strip():
        raise ValidationError({"display_name": ["This field may not be blank."]})
    expire_on = profile.credentials_expire_on
    if verify and expire_on is not None and expire_on < timezone.localdate():
        raise ValidationError(
            {"credentials_expire_on": ["These credentials have expired; give the renewal date."]}
        )
    if verify:
        profile.credentials_verified_at = timezone.now()
        profile.credentials_verified_by = actor
    elif verify is False or details_changed:
        profile.credentials_verified_at = None
        profile.credentials_verified_by = None
    profile.full_clean(exclude=["user"])
    profile.save()
    return profile
