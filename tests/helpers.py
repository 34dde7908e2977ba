"""Helpers shared by the test packages (imported explicitly, never through conftest)."""

from pathlib import Path

from rest_framework.test import APIClient

from articles.models import Article
from workflows import services
from workflows.models import AuditEvent, ChecklistItem

from . import factories

#: Real exported and registry-returned citation files, copied into the repository
#: with their provenance (see PROVENANCE.md in the folder).
REAL_WORLD = Path(__file__).resolve().parent / "citations" / "fixtures" / "real-world"


def real_world_files() -> list[Path]:
    """Every real-world fixture file, without its provenance notes."""
    return sorted(p for p in REAL_WORLD.iterdir() if p.is_file() and p.suffix != ".md")


def client_for(user) -> APIClient:
    """An API client logged in as ``user`` (force-authenticated)."""
    client = APIClient()
    client.force_authenticate(user)
    return client


def approval_kwargs(
    *, comment: str = "", declared: bool = False, statement: str = "", audience: str = "general"
) -> dict:
    """What a reviewer signs: every checklist item for ``audience`` confirmed, and a
    conflict-of-interest declaration (none, unless ``declared``).

    For ``article_approve`` / ``article_recertify`` / ``article_act`` and, as JSON, for
    the API's approve and recertify bodies.
    """
    items = factories.default_checklist() and ChecklistItem.objects.active()
    coi = {"declared": declared, **({"statement": statement} if declared else {})}
    return {
        "comment": comment,
        "checklist": {item.key: True for item in items if item.applies_to(audience)},
        "conflict_of_interest": coi,
    }


def approval_form_data(*, comment: str = "", declared: bool = False, statement: str = "") -> dict:
    """The workspace approve/re-certify form's POST data, every checklist item ticked."""
    signed = approval_kwargs(comment=comment, declared=declared, statement=statement)
    return {
        **{f"check_{key}": "on" for key in signed["checklist"]},
        "conflict_of_interest": "yes" if declared else "no",
        "conflict_statement": statement,
        "comment": comment,
    }


def make_article(
    *,
    editor,
    reviewer=None,
    state="draft",
    body="Text.",
    title="Relapsing MS",
    archiver=None,
    **kwargs,
) -> Article:
    """An article driven through the real services into ``state``.

    ``archived`` is reached by ``archiver``, or by a managing editor made for it.
    """
    article = services.article_create(actor=editor, title=title, body=body, **kwargs)
    if state == "draft":
        return article
    if state == "archived":
        archiver = archiver or factories.managing_editor()
        return services.article_archive(article_id=article.pk, actor=archiver)
    services.article_submit(article_id=article.pk, actor=editor)
    if state == "submitted":
        return Article.objects.get(pk=article.pk)
    services.article_start_review(article_id=article.pk, actor=reviewer)
    if state == "under_review":
        return Article.objects.get(pk=article.pk)
    if state == "changes_requested":
        return services.article_request_changes(
            article_id=article.pk, actor=reviewer, comment="Please cite the trial."
        )
    services.article_approve(article_id=article.pk, actor=reviewer, **approval_kwargs())
    if state == "approved":
        return Article.objects.get(pk=article.pk)
    raise ValueError(state)


def clone_approved(template: Article, count: int, *, prefix: str = "clone") -> list[Article]:
    """``count`` approved articles sharing ``template``'s live revision, in one INSERT.

    Cheap rows for query-count and volume tests: the jobs read only article columns
    and the live revision's citations, which the clones share.
    """
    fields = [
        f.attname
        for f in Article._meta.concrete_fields
        if f.name not in ("id", "slug", "created_at", "updated_at")
    ]
    rows = [
        Article(slug=f"{prefix}-{template.pk}-{n}", **{f: getattr(template, f) for f in fields})
        for n in range(count)
    ]
    return Article.objects.bulk_create(rows, batch_size=500)


def flag_events(article, kind: str = "flag:") -> list[str]:
    """The article's flag/unflag audit actions containing ``kind``, oldest first."""
    return list(
        AuditEvent.objects.filter(article=article, action__contains=kind)
        .order_by("id")
        .values_list("action", flat=True)
    )


def image_bytes(fmt: str = "PNG", size=(1200, 800), *, mode: str = "RGB", **save) -> bytes:
    """A tiny generated image in ``fmt`` (Pillow), for figure uploads."""
    import io

    from PIL import Image

    image = Image.new(mode, size, color=(30, 120, 200) if mode == "RGB" else 0)
    out = io.BytesIO()
    image.save(out, format=fmt, **save)
    return out.getvalue()


def upload(data: bytes, name: str = "figure.png", content_type: str = "image/png"):
    """``data`` as Django's uploaded file, as a form or the API would hand it over."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, data, content_type=content_type)
