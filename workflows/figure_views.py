"""Workspace pages of the media library: the figures list, upload and replace.

Kept apart from ``workflows.views`` so the figure pages stand alone; every write
goes through ``articles.services.figure_upload`` / ``figure_replace``.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST

from articles import selectors as article_selectors
from articles.images import MAX_UPLOAD_BYTES
from articles.models import Figure
from articles.services import FIGURE_TEXT_LIMITS, figure_replace, figure_upload
from reviewsite.errors import DomainError
from reviewsite.http_errors import status_for

from .forms import SearchForm
from .views import _roles, staff_required

_FILE_HELP = (
    f"PNG, JPEG or WebP, at most {MAX_UPLOAD_BYTES // 1024 // 1024} MB. SVG is not accepted "
    "(export it as PNG). Location and camera data are removed from what readers get."
)


class FigureUploadForm(forms.Form):
    """An image and the words that go with it; the service checks the image itself."""

    file = forms.FileField(label="Image", help_text=_FILE_HELP)
    alt_text = forms.CharField(
        label="Alt text",
        required=False,
        max_length=FIGURE_TEXT_LIMITS["alt_text"],
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="What the image shows, for readers who cannot see it. Required unless "
        "the image is decorative.",
    )
    decorative = forms.BooleanField(
        label="Decorative: adds nothing a reader needs (shown with empty alt text)",
        required=False,
    )
    caption = forms.CharField(
        required=False,
        max_length=FIGURE_TEXT_LIMITS["caption"],
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    credit = forms.CharField(required=False, max_length=FIGURE_TEXT_LIMITS["credit"])


class FigureReplaceForm(forms.Form):
    """A new image for an existing figure."""

    file = forms.FileField(label="New image", help_text=_FILE_HELP)


def _refused(form: forms.Form, error) -> None:
    """Put a service's refusal on the form: field messages where they belong."""
    if isinstance(error, ValidationError) and hasattr(error, "error_dict"):
        for field, field_messages in error.message_dict.items():
            for message in field_messages:
                form.add_error(field if field in form.fields else None, message)
    elif isinstance(error, DomainError):
        form.add_error(None, error.detail)
    else:
        form.add_error(None, str(error) or "You may not do this.")


def _next_url(request) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    allowed = url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return target if allowed and target.startswith("/workspace/") else ""


@staff_required
def figure_list(request):
    """The media library: every figure, its marker to copy, newest first."""
    search = SearchForm(request.GET)
    query = search.query()
    page = Paginator(article_selectors.figure_library(query=query), 50).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "workflows/figure_list.html",
        {
            "page": page,
            "query": query,
            "search_problems": search.problems(),
            **_roles(request.user),
        },
        status=400 if search.problems() else 200,
    )


@staff_required
@require_http_methods(["GET", "POST"])
def figure_create(request):
    """Upload an image through ``figure_upload``; back to the editor when it sent us."""
    form = FigureUploadForm(request.POST or None, request.FILES or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                figure = figure_upload(actor=request.user, **data)
            except (DomainError, ValidationError, PermissionDenied) as error:
                _refused(form, error)
                status = status_for(error) or 400
            else:
                messages.success(
                    request, f"Figure {figure.pk} uploaded. Show it with {figure.marker}"
                )
                return redirect(_next_url(request) or "workflows:figure-list")
        else:
            status = 400
    return render(
        request,
        "workflows/figure_form.html",
        {"form": form, "next": _next_url(request), **_roles(request.user)},
        status=status,
    )


def _get_figure(pk: int) -> Figure:
    figure = article_selectors.figure_library().filter(pk=pk).first()
    if figure is None:
        raise Http404("No such figure.")
    return figure


@staff_required
def figure_detail(request, pk: int, form=None, status: int = 200):
    """One figure: the image as readers get it, its marker, and a form to replace it."""
    figure = _get_figure(pk)
    return render(
        request,
        "workflows/figure_detail.html",
        {"figure": figure, "form": form or FigureReplaceForm(), **_roles(request.user)},
        status=status,
    )


@staff_required
@require_POST
def figure_replace_view(request, pk: int):
    """Replace the image through ``figure_replace``; articles showing it need a new review."""
    form = FigureReplaceForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            figure_replace(actor=request.user, figure_id=pk, file=form.cleaned_data["file"])
        except (DomainError, ValidationError, PermissionDenied) as error:
            _refused(form, error)
            return figure_detail(request, pk, form=form, status=status_for(error) or 400)
        messages.success(
            request,
            "Image replaced. Live pages keep the reviewed image until an article showing it "
            "is saved, reviewed and approved again.",
        )
        return redirect("workflows:figure-detail", pk=pk)
    return figure_detail(request, pk, form=form, status=400)
