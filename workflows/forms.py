"""Workspace forms: they shape input for the services, which hold the business rules."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError

from articles.models import Article
from citations import services as citation_services
from citations.models import Source


class SearchForm(forms.Form):
    """``?q=`` of the workspace lists: at most 200 characters and no NUL (PostgreSQL refuses it)."""

    q = forms.CharField(required=False, max_length=200)

    def query(self) -> str:
        """The search text, or "" when the form is invalid."""
        return self.cleaned_data.get("q", "").strip() if self.is_valid() else ""

    def problems(self) -> list[str]:
        """What is wrong with the search, for the page (empty when it is valid)."""
        return [f"Search: {e}" for e in self.errors.get("q", [])] if not self.is_valid() else []


class ArticleForm(forms.Form):
    """Title, summary, body and metadata of an article's working copy."""

    title = forms.CharField(max_length=300)
    summary = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))
    body = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 24, "class": "markdown-editor"}),
        help_text="Markdown with ## headings; cite sources with [@key] or [@key1; @key2].",
    )
    audience = forms.ChoiceField(choices=Article.Audience.choices)
    topic = forms.CharField(max_length=100, required=False)
    variant_group = forms.SlugField(
        max_length=200,
        required=False,
        help_text="Articles sharing a variant group are one article for different audiences.",
    )
    intentional_citations = forms.CharField(
        required=False,
        label="Cited on purpose",
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=(
            "Only for retracted or withdrawn sources cited on purpose: one per line, “key: reason”."
        ),
    )
    review_interval_days = forms.IntegerField(
        required=False, min_value=1, max_value=3650, help_text="Empty: the site default."
    )
    required_approvals = forms.TypedChoiceField(choices=[(1, "1"), (2, "2")], coerce=int, initial=1)
    # The article's ETag when the form was loaded: a concurrent edit is refused (412).
    etag = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, can_manage: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if not can_manage:
            # Only managing editors may change these; the service refuses anyone else.
            del self.fields["review_interval_days"]
            del self.fields["required_approvals"]

    def clean_intentional_citations(self) -> dict:
        """Parse “key: reason” lines into the {key: reason} mapping the services take."""
        parsed = {}
        for number, line in enumerate(self.cleaned_data["intentional_citations"].splitlines(), 1):
            if not line.strip():
                continue
            key, sep, reason = line.partition(":")
            if not sep or not key.strip() or not reason.strip():
                raise ValidationError(f"Line {number}: write “key: reason”.")
            parsed[key.strip().lstrip("@")] = reason.strip()
        return parsed

    @staticmethod
    def intentional_as_text(intentional: dict) -> str:
        """The {key: reason} mapping as the field's lines."""
        return "\n".join(f"{key}: {reason}" for key, reason in (intentional or {}).items())


class CommentForm(forms.Form):
    """An optional comment for a transition; the service decides whether it is required."""

    comment = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))


class ApprovalForm(CommentForm):
    """The reviewer's checklist; every item must be confirmed before approving."""

    CHECKLIST = {
        "claims_supported": "Every medical claim is supported by the sources cited.",
        "no_retracted_sources": "No retracted or withdrawn source is relied on as evidence.",
        "audience_language": "The language suits the intended audience.",
        "dates_checked": "Dates, figures and time-sensitive statements are current.",
    }

    claims_supported = forms.BooleanField(label=CHECKLIST["claims_supported"])
    no_retracted_sources = forms.BooleanField(label=CHECKLIST["no_retracted_sources"])
    audience_language = forms.BooleanField(label=CHECKLIST["audience_language"])
    dates_checked = forms.BooleanField(label=CHECKLIST["dates_checked"])

    def comment_with_checklist(self) -> str:
        """The comment plus the confirmed checklist, so the audit trail records it."""
        lines = [self.cleaned_data["comment"].strip()] if self.cleaned_data["comment"] else []
        lines.append("Checklist confirmed:")
        lines.extend(f"- {label}" for label in self.CHECKLIST.values())
        return "\n".join(lines)


class SourceImportForm(forms.Form):
    """A citation file: BibTeX, RIS, CSL-JSON or PubMed MEDLINE."""

    file = forms.FileField(
        help_text="BibTeX (.bib), RIS (.ris), CSL-JSON or Crossref JSON (.json), PubMed MEDLINE "
        "(.nbib, .txt) or Retraction Watch CSV (.csv); at most 10 MB."
    )

    def clean_file(self):
        """Refuse files over the import service's limit before reading them."""
        upload = self.cleaned_data["file"]
        problem = citation_services.import_size_problem(upload.size, upload.name)
        if problem:
            raise ValidationError(problem)
        return upload


class SourceStatusForm(forms.Form):
    """A source's new status and the notice behind it."""

    status = forms.ChoiceField(choices=Source.Status.choices)
    notice_doi = forms.CharField(required=False, label="Notice DOI")
    notice_pmid = forms.CharField(required=False, label="Notice PMID")
    notice_date = forms.CharField(
        required=False, label="Notice date", help_text="YYYY-MM-DD", max_length=10
    )
    reason = forms.CharField(
        required=False,
        label="Public note",
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=(
            "Shown to readers next to the reference on every page that cites this source. "
            "Write it for the public; keep internal remarks out of it."
        ),
    )
