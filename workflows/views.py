"""Workspace pages for editors, reviewers and managing editors (server-rendered).

Every write goes through the same services as the API; a view only shapes the
input, calls one service and shows what it said (including its refusals).
"""

from __future__ import annotations

import re
from functools import wraps

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from articles.claims import claims_by_revision, claims_for
from articles.models import Article, ReviewerProfile
from articles.readability import readability, readability_warning
from articles.services import PROFILE_FIELDS, render_body, reviewer_profile_update
from articles.textmerge import merge_texts
from citations import services as citation_services
from citations.importers import UnsupportedFormat
from citations.integrity import can_check_sources, source_check_now
from citations.models import ImportJob, Source
from citations.services import source_import, source_set_status
from reviewsite import errors
from reviewsite.errors import DomainError
from reviewsite.http_errors import status_for
from reviewsite.roles import is_editor, is_managing_editor, is_reviewer, is_staff_member

from . import selectors, services
from .evidence_pack import evidence_pack
from .forms import (
    ApprovalForm,
    ArchiveForm,
    ArticleForm,
    ChecklistItemForm,
    CommentForm,
    ReviewerProfileForm,
    SearchForm,
    SourceImportForm,
    SourceLookupForm,
    SourceStatusForm,
)
from .models import ChecklistItem, Notification
from .review_record import checklist_for, checklist_item_save, submit_warning
from .transitions import ACTION_LABELS, API_ACTIONS, TRANSITIONS, allowed_api_actions


def staff_required(view):
    """Login required (redirect to the login page), then an editorial role (else 403)."""

    @login_required
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not is_staff_member(request.user):
            raise PermissionDenied("The workspace is for editors and reviewers.")
        return view(request, *args, **kwargs)

    return wrapped


def _roles(user) -> dict:
    return {
        "is_editor": is_editor(user),
        "is_reviewer": is_reviewer(user),
        "is_managing": is_managing_editor(user),
        # Offer the editor only where the table allows an edit.
        "editable_statuses": sorted(TRANSITIONS["edit"].sources),
    }


def _error_summary(error, article: Article | None = None) -> list[dict]:
    """The refusal as the page's error summary: ``{"text", "href"}`` items, where ``href``
    leads to the place to fix (a marker's line in the editor) when there is one."""
    editor = reverse("workflows:article-edit", args=[article.pk]) if article else None
    if not isinstance(error, DomainError):
        return [{"text": text, "href": None} for text in _error_messages(error)]
    items = [{"text": error.detail, "href": None}]
    for problem in error.extra.get("markers", []):
        line, column = problem.get("line"), problem.get("column")
        where = f"line {line}, column {column}" if line and column else "the body"
        marker = problem.get("marker") or problem.get("key")
        href = f"{editor}?line={line}#id_body" if editor and line else editor
        items.append(
            {"text": f"{marker} ({where}): {problem['error']}", "href": href, "line": line}
        )
    for problem in error.extra.get("citations", []):
        items.append(
            {
                "text": (
                    f"Source {problem['key']!r} is {problem['status'].replace('_', ' ')}: "
                    "remove the citation, or keep it on purpose with a reason under "
                    "“Cited on purpose” in the editor."
                ),
                "href": f"{editor}#id_intentional_citations" if editor else None,
            }
        )
    return items


def _error_messages(error: DomainError | ValidationError | PermissionDenied) -> list[str]:
    """Readable messages for a service's refusal, with each citation problem listed."""
    if isinstance(error, DomainError):
        return [item["text"] for item in _error_summary(error)]
    if isinstance(error, ValidationError):
        if hasattr(error, "error_dict"):
            return [
                f"{field.replace('_', ' ').capitalize()}: {message}"
                for field, field_messages in error.message_dict.items()
                for message in field_messages
            ]
        return list(error.messages)
    return [str(error) or "You may not do this."]


_LINE_MESSAGE = re.compile(r"^Line (\d+)\b", re.IGNORECASE)


def _save_refusal(form, error) -> list[dict]:
    """A refused save: each message on its field (a body problem with its line), and the
    summary for the top of the page with links to the field and line."""
    if isinstance(error, ValidationError) and hasattr(error, "error_dict"):
        for field, field_messages in error.message_dict.items():
            for message in field_messages:
                form.add_error(field if field in form.fields else None, message)
        return _field_error_summary(form)
    for message in _error_messages(error):
        form.add_error(None, message)
    return []


def _field_error_summary(form) -> list[dict]:
    """The form's field errors as summary items linking to the field (and to the body's
    line when a message names one)."""
    items = []
    for name, field_errors in form.errors.items():
        if name == "__all__" or name not in form.fields:
            continue
        label = form.fields[name].label or name.replace("_", " ").capitalize()
        for message in field_errors:
            line = _LINE_MESSAGE.match(message)
            href = f"?line={line.group(1)}#id_{name}" if line else f"#id_{name}"
            items.append(
                {
                    "text": f"{label}: {message}",
                    "href": href,
                    "line": int(line.group(1)) if line else None,
                }
            )
    return items


# --- dashboard and lists ----------------------------------------------------------------


@staff_required
def dashboard(request):
    """The user's lists: drafts, changes requested, reviews awaiting, overdue, alerts."""
    sections = selectors.dashboard_sections(user=request.user)
    alerts = sections["retraction_alerts"]
    claims = claims_by_revision(
        (a.live_revision_id for a in alerts if a.live_revision_id), with_key=True
    )
    alert_claims = [
        {"article": a, "claims": claims[a.live_revision_id]}
        for a in alerts
        if claims.get(a.live_revision_id)
    ]
    roles = _roles(request.user)
    expiring = selectors.credentials_expiring() if roles["is_managing"] else []
    return render(
        request,
        "workflows/dashboard.html",
        {
            "sections": sections,
            "alert_claims": alert_claims,
            "credentials_expiring": expiring,
            **roles,
        },
    )


@staff_required
def article_list(request):
    """Every article's working copy, filtered by status and searched by title."""
    status = request.GET.get("status", "")
    if status not in Article.Status.values:
        status = ""
    search = SearchForm(request.GET)
    query = search.query()
    page = Paginator(selectors.workspace_articles(status=status, query=query), 50).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "workflows/article_list.html",
        {
            "page": page,
            "status": status,
            "query": query,
            "search_problems": search.problems(),
            "statuses": Article.Status.choices,
            **_roles(request.user),
        },
        status=400 if search.problems() else 200,
    )


# --- notifications ---------------------------------------------------------------------


@staff_required
@require_http_methods(["GET", "POST"])
def notification_list(request):
    """The emails this user was sent, in the workspace, newest first; marks them read."""
    mine = Notification.objects.filter(recipient=request.user)
    if request.method == "POST":
        count = mine.filter(read_at__isnull=True).update(read_at=timezone.now())
        messages.success(request, f"{count} notification{'s' if count != 1 else ''} marked read.")
        return redirect("workflows:notifications")
    page = Paginator(mine.order_by("-created_at", "-id"), 30).get_page(request.GET.get("page"))
    return render(
        request,
        "workflows/notifications.html",
        {"page": page, "unread": mine.filter(read_at__isnull=True).count(), **_roles(request.user)},
    )


# --- the pipeline (managing editors) -------------------------------------------------------


@staff_required
def pipeline(request):
    """Every stage at once, who reviews what, and the assignment forms."""
    roles = _roles(request.user)
    if not roles["is_managing"]:
        raise PermissionDenied("The pipeline is for Managing editors.")
    stages = selectors.pipeline()
    now = timezone.now()
    for article in stages["submitted"] + stages["in_review"]:
        article.waiting_days = (now - article.submitted_at).days if article.submitted_at else None
        article.assigned_ids = {a.reviewer_id for a in article.review_assignments.all()}
    return render(
        request,
        "workflows/pipeline.html",
        {
            "stages": stages,
            "credentials_expiring": selectors.credentials_expiring(),
            **roles,
        },
    )


@staff_required
@require_POST
def article_assign(request, pk: int):
    """Replace an article's assigned reviewers through ``article_assign_reviewers``."""
    try:
        ids = [int(value) for value in request.POST.getlist("reviewers")]
        article = services.article_assign_reviewers(
            article_id=pk, reviewer_ids=ids, actor=request.user
        )
    except ValueError:
        messages.error(request, "Choose reviewers from the list.")
    except (DomainError, ValidationError, PermissionDenied) as error:
        for message in _error_messages(error):
            messages.error(request, message)
    else:
        names = ", ".join(
            a.reviewer.get_username() for a in article.review_assignments.select_related("reviewer")
        )
        messages.success(request, f"Reviewers of “{article.title}”: {names or 'none assigned'}.")
    return redirect("workflows:pipeline")


# --- the editor ---------------------------------------------------------------------------


def _preview(body: str, audience: str, intentional: dict | None = None) -> dict:
    """Render the body as readers would see it, with its numbered references and its
    readability; stores nothing. Citations submit would refuse (a retracted or withdrawn
    source not kept on purpose with a reason) are listed, so the editor learns now."""
    rendering = render_body(body)
    scores = readability(body)
    kept = intentional or {}
    refused = [
        c
        for c in rendering.citations
        if c.source.status in Source.REFUSED_STATUSES
        and not (kept.get(c.source.key) or kept.get(c.key))
    ]
    return {
        "refused": refused,
        "readability": scores,
        "readability_warning": readability_warning(scores, audience),
        "html": rendering.html,
        "references": [
            {"number": c.number, "entry": c.entry_html, "source": c.source}
            for c in rendering.citations
        ],
        "problems": rendering.problems,
    }


#: The workflow buttons an editor gets beside the form (the rest are on the review page).
_EDITOR_ACTIONS = ("submit", "withdraw")


def _editor_actions(request, article: Article | None) -> list[dict]:
    if article is None:
        return []
    allowed = allowed_api_actions(article.status, request.user, article)
    return [{"name": a, "label": ACTION_LABELS[a]} for a in _EDITOR_ACTIONS if a in allowed]


def _editor_context(request, form, article=None, preview=None) -> dict:
    return {
        "editor_actions": _editor_actions(request, article),
        "form": form,
        "article": article,
        "preview": preview,
        **selectors.picker_page(),
        "requested_changes": selectors.requested_changes(article=article) if article else None,
        **_roles(request.user),
    }


def _preview_response(request, form, article=None):
    """The editor's "Preview": the preview pane alone for htmx (the text stays as typed,
    unsaved), else the whole editor with the pane filled in."""
    if not form.is_valid():
        if not request.htmx:
            return render(
                request, "workflows/article_form.html", _editor_context(request, form, article)
            )
        # The fields' own messages are beside the fields, which htmx does not redraw.
        problems = [
            {
                "text": f"{form[name].label}: {message}" if name in form.fields else message,
                "href": f"#{form[name].id_for_label}" if name in form.fields else "#id_title",
            }
            for name, messages_ in form.errors.items()
            for message in messages_
        ]
        return render(request, "workflows/_preview.html", {"preview_errors": problems}, status=400)
    data = form.cleaned_data
    preview = _preview(data["body"], data["audience"], data.get("intentional_citations"))
    if request.htmx:
        return render(request, "workflows/_preview.html", {"preview": preview})
    context = _editor_context(request, form, article, preview)
    return render(request, "workflows/article_form.html", context)


@staff_required
@require_http_methods(["GET", "POST"])
@vary_on_headers("HX-Request")
def article_create(request):
    """A new article: preview, or create it as a draft through ``article_create``."""
    roles = _roles(request.user)
    form = ArticleForm(request.POST or None, can_manage=roles["is_managing"])
    if request.method == "POST" and "preview" in request.POST:
        return _preview_response(request, form)
    summary = []
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            article = services.article_create(
                actor=request.user,
                title=data["title"],
                summary=data["summary"],
                body=data["body"],
                intentional=data["intentional_citations"],
                audience=data["audience"],
                topic=data["topic"],
                variant_group=data["variant_group"],
                review_interval_days=data.get("review_interval_days"),
                required_approvals=data.get("required_approvals") or 1,
            )
        except (DomainError, ValidationError, PermissionDenied) as error:
            summary = _save_refusal(form, error)
        else:
            messages.success(request, f"Draft “{article.title}” created.")
            return redirect("workflows:article-edit", pk=article.pk)
    context = _editor_context(request, form)
    if form.is_bound:
        context["error_summary"] = summary or _field_error_summary(form)
    return render(request, "workflows/article_form.html", context)


@staff_required
@require_http_methods(["GET", "POST"])
@vary_on_headers("HX-Request")
def article_edit(request, pk: int):
    """Edit the working copy: preview, or save a new revision through ``article_edit``."""
    article = _get_article(pk)
    roles = _roles(request.user)
    if not (roles["is_editor"] and article.status in TRANSITIONS["edit"].sources):
        # Offer no form that saving would refuse: say why, and what can be done instead.
        if request.htmx:
            return render(request, "workflows/_htmx_refusal.html", {"article": article}, status=409)
        return render(
            request,
            "workflows/article_locked.html",
            {"article": article, "editor_actions": _editor_actions(request, article), **roles},
            status=409 if request.method == "POST" else 200,
        )
    if request.method == "POST":
        form = ArticleForm(request.POST, can_manage=roles["is_managing"])
        if "preview" in request.POST:
            return _preview_response(request, form, article)
        if form.is_valid():
            changes = {
                name: form.cleaned_data[name]
                for name in (
                    "title",
                    "summary",
                    "body",
                    "intentional_citations",
                    "audience",
                    "topic",
                    "variant_group",
                    "review_interval_days",
                    "required_approvals",
                )  # fmt: skip
                if name in form.cleaned_data
            }
            try:
                saved = services.article_edit(
                    article_id=article.pk,
                    actor=request.user,
                    changes=changes,
                    expected_version=article.versions_matching(form.cleaned_data["etag"] or None),
                )
            except errors.PreconditionFailed:
                return _edit_conflict(request, article, form)
            except (DomainError, ValidationError, PermissionDenied) as error:
                summary = _save_refusal(form, error)
                status = status_for(error)
                context = _editor_context(request, form, article)
                context["error_summary"] = summary
                return render(request, "workflows/article_form.html", context, status=status)
            if saved.version == article.version:
                messages.info(request, "Nothing changed, so no new revision was made.")
            else:
                messages.success(request, "Saved. The working copy is a draft.")
            return redirect("workflows:article-edit", pk=article.pk)
    else:
        revision = article.latest_revision
        initial = {
            "title": revision.title,
            "summary": revision.summary,
            "body": revision.body,
            "intentional_citations": ArticleForm.intentional_as_text(
                revision.intentional_citations
            ),
            **revision.metadata,
            "review_interval_days": article.review_interval_days,
            "required_approvals": article.required_approvals,
            "etag": article.etag,
            "base_revision": revision.number,
        }
        form = ArticleForm(initial=initial, can_manage=roles["is_managing"])
    context = _editor_context(request, form, article)
    if form.is_bound:  # an invalid form: summarised at the top, as a refused save is
        context["error_summary"] = _field_error_summary(form)
    return render(request, "workflows/article_form.html", context)


#: The fields of a revision besides the body, as the conflict screen names them.
_REVISION_FIELDS = {
    "title": "title",
    "summary": "summary",
    "intentional_citations": "sources cited on purpose",
    "audience": "audience",
    "topic": "topic",
    "variant_group": "variant group",
}


def _revision_value(revision, name: str):
    if name == "intentional_citations":
        return revision.intentional_citations or {}
    return getattr(revision, name) or ""


def _edit_conflict(request, article: Article, form: ArticleForm):
    """Someone saved since this editor loaded the page: keep their work, show the change.

    With the revision the editor loaded (the form's ``base_revision``), the two edits are
    merged three ways: the form comes back with their changes to other lines merged into
    the editor's text, and the editor's text wherever both changed the same lines
    (nothing is saved yet). It shows what each side changed since that revision.
    Without it (a form from before this field), their body is compared with the
    editor's. The form carries the current version, so the next save is deliberate.
    """
    current = article.latest_revision
    data = request.POST.copy()
    data["etag"] = article.etag
    data["base_revision"] = str(current.number)
    mine = form.cleaned_data
    base = None
    if mine.get("base_revision") and mine["base_revision"] < current.number:
        base = article.revisions.filter(number=mine["base_revision"]).first()
    conflict = {"revision": current, "author": current.author, "base": base}
    if base is None:
        conflict["rows"] = selectors.text_diff(mine["body"], current.body)
        conflict["title_changed"] = mine["title"] != current.title
    else:
        merge = merge_texts(base.body, mine["body"], current.body)
        conflict.update(
            their_rows=selectors.text_diff(base.body, current.body),
            my_rows=selectors.text_diff(base.body, mine["body"]),
            conflicts=merge.conflicts,
            merged=merge.took_theirs,
        )
        # Their changes to other lines come in; where both changed the same lines, mine.
        data["body"] = merge.text
        # A field only they changed is taken; one both changed differently stays mine.
        taken = []
        for name, label in _REVISION_FIELDS.items():
            if name not in mine:
                continue
            was, theirs = _revision_value(base, name), _revision_value(current, name)
            if mine[name] == was and theirs != was:
                data[name] = (
                    ArticleForm.intentional_as_text(theirs)
                    if name == "intentional_citations"
                    else theirs
                )
                taken.append(label)
        conflict["taken"] = taken
        conflict["title_changed"] = mine["title"] not in (current.title, base.title)
    kept = ArticleForm(data, can_manage=is_managing_editor(request.user))
    kept.is_valid()
    context = _editor_context(request, kept, article)
    # Submit and withdraw act on the saved copy (theirs), not on the text in this form.
    context["editor_actions"] = []
    context["conflict"] = conflict
    return render(request, "workflows/article_form.html", context, status=412)


def _get_article(pk: int) -> Article:
    try:
        return selectors.workspace_article(pk=pk)
    except Article.DoesNotExist:
        raise Http404("No such article.")


# --- the review page ----------------------------------------------------------------------


def _approval_form(article: Article, data=None) -> ApprovalForm:
    return ApprovalForm(data, items=checklist_for(article.audience))


def _review_context(request, article: Article, forms: dict | None = None) -> dict:
    forms = forms or {}
    # Four-eyes too: an author is not offered a review action on their own revision.
    actions = [
        a
        for a in allowed_api_actions(article.status, request.user, article)
        if not services.blocked_by_four_eyes(a, article, request.user)
    ]
    # After a resubmission a reviewer sees what changed since their own last decision;
    # ?against=live compares with what readers see now.
    mine = selectors.last_reviewed_revision(article=article, user=request.user)
    against = "live" if request.GET.get("against") == "live" or mine is None else "mine"
    base = mine if against == "mine" else article.live_revision
    comparison = selectors.revision_comparison(article=article, base=base)
    signed = [a for a in ("approve", "recertify") if a in actions]
    return {
        "article": article,
        "comparison": comparison,
        "against": against,
        "my_last_revision": mine,
        "affected_claims": _affected_claims(comparison),
        "history": selectors.article_history(article=article),
        "actions": [
            {"name": a, "label": ACTION_LABELS[a]}
            for a in ACTION_LABELS
            if a in actions and a not in ("approve", "recertify", "request-changes")
        ],
        # Approve and re-certify are signed with the same form (checklist and COI).
        "readability": article.latest_revision.readability,
        "readability_warning": submit_warning(article),
        "signed_action": signed[0] if signed else "",
        "signed_label": ACTION_LABELS[signed[0]] if signed else "",
        "can_approve": bool(signed),
        "can_request_changes": "request-changes" in actions,
        "approval_form": forms.get("signed") or _approval_form(article),
        "changes_form": forms.get("request-changes") or CommentForm(),
        "action_form": forms.get("other") or CommentForm(),
        "archive_form": forms.get("archive") or ArchiveForm(),
        **_roles(request.user),
    }


def _affected_claims(comparison: dict) -> list[dict]:
    """The proposed revision's sentences citing a non-active source, with the reference."""
    citations = comparison["proposed_citations"]
    by_source = {c.source_id: c for c in citations}
    claims = claims_for(comparison["proposed"].body, citations)
    return [{**claim, "citation": by_source[claim["source"]]} for claim in claims]


@staff_required
def article_review(request, pk: int):
    """Live against proposed revision, the checklist, and the transition forms."""
    article = _get_article(pk)
    return render(request, "workflows/review.html", _review_context(request, article))


@staff_required
def article_evidence_pack(request, pk: int):
    """The accreditation evidence pack, printable (the API serves the same as JSON)."""
    try:
        pack = evidence_pack(article_id=pk)
    except Article.DoesNotExist:
        raise Http404("No such article.")
    return render(request, "workflows/evidence_pack.html", {"pack": pack})


@staff_required
@require_POST
def article_action(request, pk: int, action: str):
    """Run one transition through ``article_act``; refusals are shown on the review page."""
    if action not in API_ACTIONS:
        raise Http404("No such action.")
    article = _get_article(pk)
    signed = action in services.SIGNED_ACTIONS
    if signed:
        form = _approval_form(article, request.POST)
    else:
        form = (ArchiveForm if action == "archive" else CommentForm)(request.POST)
    form_key = (
        "signed" if signed else action if action in ("request-changes", "archive") else "other"
    )
    if not form.is_valid():
        context = _review_context(request, article, {form_key: form})
        context["error_summary"] = [
            {"text": f"{form[name].label}: {message}", "href": f"#{form[name].id_for_label}"}
            for name, field_errors in form.errors.items()
            if name != "__all__"
            for message in field_errors
        ]
        return render(request, "workflows/review.html", context, status=400)
    record = (
        {"checklist": form.checklist(), "conflict_of_interest": form.conflict()} if signed else {}
    )
    try:
        article = services.article_act(
            article_id=article.pk,
            action=action,
            actor=request.user,
            comment=form.cleaned_data["comment"],
            **record,
        )
    except (DomainError, ValidationError, PermissionDenied) as error:
        # Re-read: the refusal was audited and the state may have moved meanwhile.
        article = _get_article(pk)
        context = _review_context(request, article, {form_key: form})
        context["error_summary"] = _error_summary(error, article)
        return render(request, "workflows/review.html", context, status=status_for(error))
    messages.success(
        request,
        f"{ACTION_LABELS[action]}: done. The article is now {article.get_status_display()}.",
    )
    if action == "submit":
        warning = submit_warning(article)
        if warning:
            messages.warning(request, warning)
    return redirect("workflows:article-review", pk=pk)


# --- the source library -------------------------------------------------------------------


def _library_context(request, import_form=None, report=None) -> dict:
    search = SearchForm(request.GET)
    query = search.query()
    status = request.GET.get("status", "")
    if status not in Source.Status.values:
        status = ""
    page = Paginator(selectors.source_library(query=query, status=status), 50).get_page(
        request.GET.get("page")
    )
    cited = selectors.where_cited(source_ids=[s.pk for s in page])
    return {
        "page": page,
        "rows": [{"source": s, "cited_in": cited.get(s.pk, [])} for s in page],
        "query": query,
        "search_problems": search.problems(),
        "status": status,
        "statuses": Source.Status.choices,
        "import_form": import_form or SourceImportForm(),
        "lookup_form": SourceLookupForm(),
        "report": report,
        **_roles(request.user),
    }


@staff_required
def source_library(request):
    """Search the sources, see where each is cited, import a file."""
    context = _library_context(request)
    status = 400 if context["search_problems"] else 200
    return render(request, "workflows/source_library.html", context, status=status)


@staff_required
@require_POST
def source_import_view(request):
    """Import an uploaded file through ``source_import`` and show the per-entry report."""
    form = SourceImportForm(request.POST, request.FILES)
    report = None
    status = 200
    if form.is_valid():
        upload = form.cleaned_data["file"]
        background = upload.size > citation_services.IMPORT_BACKGROUND_BYTES
        run = citation_services.import_job_create if background else source_import
        try:
            result = run(actor=request.user, data=upload.read(), filename=upload.name)
            if background:
                return redirect("workflows:import-job", pk=result.pk)
            report = result
        except UnsupportedFormat as error:
            form.add_error("file", str(error) or "This file is not in a format we can read.")
            status = 400
        except ValidationError as error:
            for messages_ in error.message_dict.values():
                form.add_error("file", messages_[0])
            status = 400
        except PermissionDenied as error:
            form.add_error(None, str(error))
            status = 403
    else:
        status = 400
    context = _library_context(request, import_form=form, report=report)
    return render(request, "workflows/source_library.html", context, status=status)


@staff_required
def import_job_view(request, pk: int):
    """A background import's progress bar; the page reloads itself until the job ends."""
    job = citation_services.import_jobs_for(request.user).filter(pk=pk).first()
    if job is None:
        raise Http404("No such import.")
    context = {
        "job": job,
        "finished": job.state in (ImportJob.State.DONE, ImportJob.State.FAILED),
        "report": job.report if job.state == ImportJob.State.DONE else None,
        **_roles(request.user),
    }
    return render(request, "workflows/import_job.html", context)


def _get_source(pk: int) -> Source:
    try:
        return Source.objects.get(pk=pk)
    except Source.DoesNotExist:
        raise Http404("No such source.")


def _source_context(request, source: Source, form=None) -> dict:
    return {
        "source": source,
        "cited_in": selectors.where_cited(source_ids=[source.pk]).get(source.pk, []),
        "events": source.status_events.select_related("actor")[:20],
        "checks": source.checks.all()[:20],
        "can_check": can_check_sources(request.user) and bool(source.doi or source.pmid),
        "checks_enabled": settings.REVIEWSITE_SOURCE_CHECK_ENABLED,
        "status_form": form
        or SourceStatusForm(
            initial={
                "status": source.status,
                "notice_doi": source.notice_doi,
                "notice_pmid": source.notice_pmid,
                "notice_date": source.notice_date.isoformat() if source.notice_date else "",
                "reason": source.notice_reason,
            }
        ),
        **_roles(request.user),
    }


@staff_required
def source_detail(request, pk: int):
    """One source: its record, where it is cited, its status history and status form."""
    source = _get_source(pk)
    return render(request, "workflows/source_detail.html", _source_context(request, source))


@staff_required
@require_POST
def source_status(request, pk: int):
    """Mark a source retracted, corrected, ... through ``source_set_status``."""
    source = _get_source(pk)
    form = SourceStatusForm(request.POST)
    if form.is_valid():
        try:
            source_set_status(source_id=source.pk, actor=request.user, **form.cleaned_data)
        except (ValidationError, PermissionDenied) as error:
            for message in _error_messages(error):
                form.add_error(None, message)
            context = _source_context(request, source, form)
            status = status_for(error)
            return render(request, "workflows/source_detail.html", context, status=status)
        messages.success(request, f"{source.key} is now marked {form.cleaned_data['status']}.")
        return redirect(reverse("workflows:source-detail", kwargs={"pk": pk}))
    context = _source_context(request, source, form)
    return render(request, "workflows/source_detail.html", context, status=400)


@staff_required
@require_POST
def source_check(request, pk: int):
    """ "Check now": ask Crossref and PubMed about this source through the integrity watch."""
    source = _get_source(pk)
    try:
        checks = source_check_now(actor=request.user, source_id=source.pk)
    except (DomainError, ValidationError, PermissionDenied) as error:
        for message in _error_messages(error):
            messages.error(request, message)
    else:
        source.refresh_from_db(fields=["status"])
        outcomes = ", ".join(
            f"{c.get_registry_display()}: {c.get_outcome_display().lower()}" for c in checks
        )
        messages.success(
            request, f"Checked {source.key} ({outcomes}). Status: {source.get_status_display()}."
        )
    return redirect(reverse("workflows:source-detail", kwargs={"pk": pk}))


# --- reviewers and their credentials ------------------------------------------------------


@staff_required
def reviewer_list(request):
    """Reviewers with their credentials and verification; managing editors verify."""
    return render(
        request,
        "workflows/reviewer_list.html",
        {"rows": selectors.reviewer_rows(), **_roles(request.user)},
    )


@staff_required
@require_http_methods(["GET", "POST"])
def reviewer_edit(request, pk: int):
    """A managing editor edits a profile (``pk``: the reviewer's user id) and verifies it."""
    user_id = pk
    if not is_managing_editor(request.user):
        raise PermissionDenied("Only Managing editors may edit or verify reviewer profiles.")
    profile = ReviewerProfile.objects.filter(user_id=user_id).first()
    if profile is None:
        raise Http404("No such reviewer profile.")
    form = ReviewerProfileForm(
        request.POST or None, initial={f: getattr(profile, f) for f in PROFILE_FIELDS}
    )
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = dict(form.cleaned_data)
            verify = data.pop("verify") or None
            try:
                reviewer_profile_update(
                    user_id=user_id, actor=request.user, changes=data, verify=verify
                )
            except (DomainError, ValidationError, PermissionDenied) as error:
                for message in _error_messages(error):
                    form.add_error(None, message)
                status = status_for(error)
            else:
                messages.success(
                    request,
                    f"{data['display_name']}: saved"
                    + (", credentials verified." if verify else "."),
                )
                return redirect("workflows:reviewer-list")
        else:
            status = 400
    context = {"profile": profile, "form": form, **_roles(request.user)}
    return render(request, "workflows/reviewer_form.html", context, status=status)


@staff_required
@require_http_methods(["GET", "POST"])
def checklist(request):
    """The reviewer's checklist; managing editors add, change and deactivate items."""
    roles = _roles(request.user)
    form = ChecklistItemForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if not roles["is_managing"]:
            raise PermissionDenied("Only Managing editors may change the checklist.")
        if form.is_valid():
            try:
                item = checklist_item_save(actor=request.user, **form.cleaned_data)
            except (DomainError, ValidationError, PermissionDenied) as error:
                for message in _error_messages(error):
                    form.add_error(None, message)
                status = status_for(error)
            else:
                messages.success(request, f"Checklist item {item.key} saved.")
                return redirect("workflows:checklist")
        else:
            status = 400
    context = {"items": ChecklistItem.objects.all(), "form": form, **roles}
    return render(request, "workflows/checklist.html", context, status=status)
