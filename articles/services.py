"""Writes on articles and revisions: creating content, resolving and rendering citations.

State changes (submit, approve, ...) live in ``workflows.services``; these functions
only make content and are called from there.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Max, Q
from django.utils.text import slugify

from citations.formatting import format_entries
from citations.identifiers import InvalidIdentifier, normalize_doi, normalize_pmid
from citations.markers import bound_problems, check_markers, find_markers_lenient, limit_problems
from citations.models import Source
from citations.rendering import FigureImage, figure_refs, outside_images, render_article
from citations.services import source_to_record
from reviewsite.errors import Forbidden, NotFound
from reviewsite.roles import is_editor

from .images import FORMATS, ProcessedImage, process_image
from .models import Article, ArticleRevision, Figure, ReviewerProfile, RevisionCitation
from .readability import readability


@dataclass(frozen=True)
class Content:
    """The reviewable content of a revision."""

    title: str
    summary: str
    body: str
    intentional: dict  # {citation key: reason} for retracted/withdrawn sources cited on purpose
    audience: str = Article.Audience.GENERAL
    topic: str = ""
    variant_group: str = ""

    @property
    def metadata(self) -> dict:
        """The metadata a revision carries (``ArticleRevision.METADATA_FIELDS``)."""
        return {name: getattr(self, name) for name in ArticleRevision.METADATA_FIELDS}

    def normalized(self) -> Content:
        """The same content with line endings and trailing whitespace normalised."""
        return dataclasses.replace(
            self,
            title=normalize_text(self.title),
            summary=normalize_text(self.summary),
            body=normalize_text(self.body),
        )


_RESOLVE_BATCH = 500


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
    # In batches: SQLite allows a bounded number of query parameters.
    terms = (
        [("key", k) for k in plain]
        + [("doi", d) for d in set(dois.values())]
        + [("pmid", p) for p in set(pmids.values())]
    )
    sources = []
    for start in range(0, len(terms), _RESOLVE_BATCH):
        batch = terms[start : start + _RESOLVE_BATCH]
        condition = Q()
        for field in ("key", "doi", "pmid"):
            values = [value for name, value in batch if name == field]
            if values:
                condition |= Q(**{f"{field}__in": values})
        sources.extend(Source.objects.filter(condition))
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
    """Every key cited by the well-formed markers, in order.

    A malformed marker is its own problem (``syntax_problems``); it never stops the
    others from resolving.
    """
    return [item.key for marker in find_markers_lenient(body) for item in marker.items]


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
    figures: list[dict] = ()


def _figure_ids(refs) -> list[int]:
    return [int(ref) for ref in refs if ref.isascii() and ref.isdigit() and len(ref) < 19]


def figure_images(refs: list[str]) -> dict[str, FigureImage]:
    """The figures named by ``refs`` (ids as written after ``figure:``), in one query."""
    # Only the canonical spelling resolves ("figure:012" does not), so ids hash alike.
    by_ref = {str(f.pk): f for f in Figure.objects.filter(pk__in=_figure_ids(refs))}
    return {ref: figure_image(by_ref[ref]) for ref in refs if ref in by_ref}


def figure_image(figure: Figure) -> FigureImage:
    """What the renderer needs of ``figure``: its served files' URLs and its words."""
    storage = figure.file.storage
    candidates = [(size["width"], storage.url(size["name"])) for size in figure.sizes]
    candidates.append((figure.width, figure.file.url))
    # The src for browsers without srcset: the first size at least 960 px wide, or the full one.
    src = next((url for width, url in candidates if width >= 960), candidates[-1][1])
    return FigureImage(
        src=src,
        srcset=", ".join(f"{url} {width}w" for width, url in candidates),
        width=figure.width,
        height=figure.height,
        alt="" if figure.decorative else figure.alt_text,
        caption=figure.caption,
        credit=figure.credit,
        file_hash=figure.file_hash,
    )


def figure_fingerprint(body: str) -> dict[str, str]:
    """{figure id: file hash} of the figures ``body`` shows: part of the content hash."""
    refs = figure_refs(body)
    ids = _figure_ids(refs)
    if not ids:
        return {}
    hashes = {
        str(pk): digest
        for pk, digest in Figure.objects.filter(pk__in=ids).values_list("pk", "file_hash")
    }
    return {ref: hashes[ref] for ref in refs if ref in hashes}


def content_hash(content: Content) -> str:
    """The hash of ``content`` as a revision would carry it (figures' files included)."""
    return ArticleRevision.hash_content(
        title=content.title,
        summary=content.summary,
        body=content.body,
        intentional=content.intentional,
        figures=figure_fingerprint(content.body),
    )


def render_body(body: str) -> Rendering:
    """Resolve the markers of ``body``, number them, render it and format its references."""
    sources = resolve_keys(marker_keys(body))
    rendered = render_article(
        body, lambda key: sources[key].pk if key in sources else None, figure_images
    )
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
        problems=bound_problems(rendered.unresolved + syntax_problems(body)),
        style=style,
        figures=rendered.figures,
    )


def _render(revision: ArticleRevision) -> list[RevisionCitation]:
    """Render ``revision`` once and build its numbered citations (unsaved)."""
    rendering = render_body(revision.body)
    revision.body_html = rendering.html
    revision.headings = rendering.headings
    revision.unresolved_markers = rendering.problems
    revision.citation_style = rendering.style
    revision.figures = list(rendering.figures)
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
    digest = content_hash(content)
    current = article.latest_revision
    if (
        current is not None
        and current.content_hash == digest
        and current.metadata == content.metadata
    ):
        return None
    number = (article.revisions.aggregate(n=Max("number"))["n"] or 0) + 1
    revision = ArticleRevision(
        article=article,
        number=number,
        title=content.title,
        summary=content.summary,
        body=content.body,
        intentional_citations=content.intentional,
        content_hash=digest,
        author=author,
        **content.metadata,
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

    The content does not change; only what the markers resolve to. A figure uploaded
    since joins the hash, as it would have had it existed when the revision was made.
    """
    citations = _render(revision)
    revision.content_hash = ArticleRevision.hash_content(
        title=revision.title,
        summary=revision.summary,
        body=revision.body,
        intentional=revision.intentional_citations or {},
        figures={str(f["ref"]): f["file_hash"] for f in revision.figures},
    )
    revision.save(
        _allow_update=True,
        update_fields=[
            "body_html",
            "headings",
            "unresolved_markers",
            "citation_style",
            "figures",
            "content_hash",
        ],
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
    if too_many := limit_problems(content.body):
        errors["body"] = too_many
    elif outside := outside_images(content.body):
        errors["body"] = [_outside_image_message(problem) for problem in outside]
    if not isinstance(content.intentional, dict) or not all(
        isinstance(k, str) and isinstance(v, str) and v.strip()
        for k, v in content.intentional.items()
    ):
        errors["intentional_citations"] = [
            "Give an object mapping each citation key to a non-empty reason."
        ]
    if errors:
        raise ValidationError(errors)


def _outside_image_message(problem: dict) -> str:
    return (
        f"Line {problem['line']}: the image {problem['image']!r} is not on this site, and "
        "pages show only images uploaded here. Upload it under Figures in the workspace "
        "(or POST /api/v1/figures/) and write ![description](figure:<id>) instead."
    )


# --- figures ---------------------------------------------------------------------------

#: The longest caption, credit and alt text accepted, in characters.
FIGURE_TEXT_LIMITS = {"alt_text": 1000, "caption": 2000, "credit": 300}


def _read_upload(file) -> bytes:
    """At most one byte over the limit, so an oversized upload is refused without reading it all."""
    from .images import MAX_UPLOAD_BYTES

    if file is None:
        raise ValidationError({"file": ["Choose an image file to upload."]})
    if getattr(file, "size", None) and file.size > MAX_UPLOAD_BYTES:
        raise ValidationError(
            {
                "file": [
                    f"The file is {file.size / 1024 / 1024:.1f} MB; figures may be at most "
                    f"{MAX_UPLOAD_BYTES // 1024 // 1024} MB. Export a smaller image."
                ]
            }
        )
    if hasattr(file, "seek"):
        file.seek(0)
    return file.read(MAX_UPLOAD_BYTES + 1)


def _validate_words(*, alt_text: str, decorative: bool, caption: str, credit: str) -> None:
    errors = {}
    if not decorative and not alt_text.strip():
        errors["alt_text"] = [
            "Describe the image for readers who cannot see it, or mark it decorative "
            "if it adds nothing they need."
        ]
    for name, value in (("alt_text", alt_text), ("caption", caption), ("credit", credit)):
        limit = FIGURE_TEXT_LIMITS[name]
        if len(value) > limit:
            errors.setdefault(name, []).append(
                f"Ensure this field has no more than {limit} characters."
            )
    if errors:
        raise ValidationError(errors)


def _store_files(figure: Figure, processed: ProcessedImage, stored: list[str]) -> list[str]:
    """Save the full-size copy and the sizes beside it, adding each name to ``stored``."""
    ext = processed.extension
    figure.file_hash = processed.sha256
    figure.file.save(f"full.{ext}", ContentFile(processed.full.data), save=False)
    stored.append(figure.file.name)
    folder = figure.file.name.rsplit("/", 1)[0]
    storage = figure.file.storage
    sizes = []
    for size in processed.sizes:
        name = storage.save(f"{folder}/w{size.width}.{ext}", ContentFile(size.data))
        stored.append(name)
        sizes.append({"width": size.width, "height": size.height, "name": name})
    figure.sizes = sizes
    figure.media_type = FORMATS[processed.format][1]
    figure.width, figure.height = processed.width, processed.height
    return stored


def _stored(figure: Figure, processed: ProcessedImage) -> None:
    """Store the files, then the row; if either fails, the files go too (nothing half-stored)."""
    names: list[str] = []
    try:
        names = _store_files(figure, processed, names)
        with transaction.atomic():
            figure.save()
    except Exception:
        for name in names:
            figure.file.storage.delete(name)
        raise


def figure_upload(
    *,
    actor,
    file,
    alt_text: str = "",
    decorative: bool = False,
    caption: str = "",
    credit: str = "",
) -> Figure:
    """Check an uploaded image, make its served sizes once, and add it to the media library."""
    if not is_editor(actor):
        raise Forbidden("Only Editors or Managing editors may upload figures.")
    alt_text, caption, credit = alt_text.strip(), caption.strip(), credit.strip()
    _validate_words(alt_text=alt_text, decorative=decorative, caption=caption, credit=credit)
    processed = process_image(_read_upload(file))
    figure = Figure(
        alt_text=alt_text,
        decorative=decorative,
        caption=caption,
        credit=credit,
        uploaded_by=actor,
    )
    _stored(figure, processed)
    return figure


def figure_replace(*, actor, figure_id: int, file) -> Figure:
    """Put a new image in place of a figure's; revisions showing it need a new review.

    The old files stay: revisions rendered before keep showing the image that was
    reviewed, and the next save of an article showing the figure hashes the new file.
    """
    if not is_editor(actor):
        raise Forbidden("Only Editors or Managing editors may replace figures.")
    processed = process_image(_read_upload(file))
    with transaction.atomic():
        figure = Figure.objects.select_for_update().filter(pk=figure_id).first()
        if figure is None:
            raise NotFound(f"No figure {figure_id}.")
        _stored(figure, processed)
    return figure


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
