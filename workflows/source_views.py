"""Workspace pages that add a source by DOI or PMID and edit a source's fields.

Both go through the same services as the API (``source_lookup``, ``source_update``),
so the permissions and the validation messages are the API's: Editors and Managing
editors change the library; everyone else is refused (403) and offered no form.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from citations import services as citation_services
from citations.services import (
    can_edit_sources,
    registry_name,
    source_lookup,
    source_update,
    source_version,
)
from reviewsite import errors
from reviewsite.errors import DomainError
from reviewsite.http_errors import status_for

from .forms import SourceEditForm, SourceLookupForm
from .views import _get_source, _library_context, _roles, staff_required


@staff_required
@require_POST
def source_lookup_view(request):
    """Look a DOI up in Crossref or a PMID in PubMed and add (or merge) the source."""
    if not can_edit_sources(request.user):
        raise PermissionDenied("Only Editors or Managing editors may add sources.")
    form = SourceLookupForm(request.POST)
    status = 400
    if form.is_valid():
        identifier = form.cleaned_data["identifier"]
        try:
            source, created = source_lookup(actor=request.user, **identifier)
        except ValidationError as error:
            for message_list in error.message_dict.values():
                for message in message_list:
                    form.add_error("identifier", message)
        except (DomainError, PermissionDenied) as error:
            form.add_error("identifier", getattr(error, "detail", None) or str(error))
            status = status_for(error) or 400
        else:
            registry = registry_name(identifier.get("doi", ""))
            if created:
                messages.success(request, f"Added {source.key} from {registry}: [@{source.key}].")
            else:
                messages.info(
                    request,
                    f"Already in the library as {source.key} ([@{source.key}]); "
                    f"fields it lacked were filled in from {registry}.",
                )
            return redirect("workflows:source-detail", pk=source.pk)
    context = _library_context(request)
    context["lookup_form"] = form
    return render(request, "workflows/source_library.html", context, status=status)


@staff_required
@require_http_methods(["GET", "POST"])
def source_edit(request, pk: int):
    """Edit a source's bibliographic fields through ``source_update`` (Editors)."""
    source = _get_source(pk)
    if not can_edit_sources(request.user):
        raise PermissionDenied("Only Editors or Managing editors may edit sources.")
    status = 200
    if request.method == "POST":
        form = SourceEditForm(request.POST)
        if form.is_valid():
            data = dict(form.cleaned_data)
            version = data.pop("version") or None
            try:
                saved = source_update(
                    source_id=source.pk, actor=request.user, data=data, expected_version=version
                )
            except errors.PreconditionFailed as error:
                return _edit_conflict(request, source, form, error)
            except ValidationError as error:
                for name, message_list in error.message_dict.items():
                    for message in message_list:
                        form.add_error(name if name in form.fields else None, message)
                status = 400
            except (DomainError, PermissionDenied) as error:
                form.add_error(None, getattr(error, "detail", None) or str(error))
                status = status_for(error) or 400
            else:
                messages.success(request, f"{saved.key}: saved.")
                return redirect("workflows:source-detail", pk=saved.pk)
        else:
            status = 400
    else:
        form = SourceEditForm(initial=SourceEditForm.initial_for(source))
    return _form_page(request, source, form, status)


def _edit_conflict(request, source, form: SourceEditForm, error):
    """Someone saved this source meanwhile: keep the user's values, show what is saved
    now where it differs, and take the current version so saving again is on purpose."""
    source.refresh_from_db()
    data = request.POST.copy()
    data["version"] = source_version(source)
    kept = SourceEditForm(data)
    kept.is_valid()
    mine = form.cleaned_data
    current = SourceEditForm.initial_for(source)
    rows = [
        {"label": form[name].label, "saved": current[name], "yours": form[name].value()}
        for name in SourceEditForm.FIELDS
        if (SourceEditForm.authors_as_text(mine[name]) if name == "authors" else mine[name])
        != current[name]
    ]
    conflict = {"detail": error.detail, "rows": rows}
    return _form_page(request, source, kept, 412, conflict=conflict)


def _form_page(request, source, form: SourceEditForm, status: int, conflict=None):
    error_summary = [
        {
            "text": f"{form[name].label}: {message}" if name in form.fields else message,
            "href": f"#{form[name].id_for_label}" if name in form.fields else None,
        }
        for name, message_list in form.errors.items()
        for message in message_list
    ]
    context = {
        "source": source,
        "form": form,
        "error_summary": error_summary,
        "conflict": conflict,
        "cited_by": citation_services.sources_with_citing_count()
        .filter(pk=source.pk)
        .values_list("citing_count", flat=True)
        .first(),
        **_roles(request.user),
    }
    return render(request, "workflows/source_form.html", context, status=status)
