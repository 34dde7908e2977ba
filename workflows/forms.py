"""Workspace forms: they shape input for the services, which hold the business rules."""

from __future__ import annotations

import re

from django import forms
from django.core.exceptions import ValidationError

from articles.models import Article
from citations import services as citation_services
from citations.identifiers import InvalidIdentifier, normalize_doi, normalize_pmid
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
    # The revision the text was loaded from: on a conflict, the base of a three-way merge.
    base_revision = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, can_manage: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if not can_manage:
            # Only managing editors may change these; the service refuses anyone else.
            del self.fields["review_interval_days"]
            del self.fields["required_approvals"]

    def clean_base_revision(self) -> int | None:
        """A number, or None: nobody can correct a hidden field, so a bad one (hand-edited)
        only loses the three-way merge, and a conflict compares the two texts instead."""
        value = self.cleaned_data["base_revision"].strip()
        return int(value) if value.isdigit() and len(value) <= 9 else None

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


class ArchiveForm(CommentForm):
    """Archiving takes the page away from readers: a reason, and a confirmation."""

    comment = forms.CharField(
        label="Reason for archiving",
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Recorded in the article's history.",
    )
    confirm = forms.BooleanField(
        label="I understand readers will no longer see this article until it is restored "
        "and approved again."
    )


class ApprovalForm(CommentForm):
    """What a reviewer signs to approve or re-certify: the checklist items for the
    article's audience (from ``ChecklistItem``), and a conflict-of-interest declaration.

    The form only shapes the input; the service refuses an unconfirmed required item
    or a missing declaration, for the API and the workspace alike.
    """

    COI_CHOICES = [("no", "I have no conflict of interest to declare"), ("yes", "I declare:")]

    conflict_of_interest = forms.ChoiceField(
        label="Conflict of interest",
        choices=COI_CHOICES,
        widget=forms.RadioSelect,
        required=False,
    )
    conflict_statement = forms.CharField(
        label="Statement (required when you declare a conflict)",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args, items=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.items = list(items)
        for item in self.items:
            label = item.text if item.required else f"{item.text} (optional)"
            self.fields[f"check_{item.key}"] = forms.BooleanField(label=label, required=False)
        # Checklist first, then the declaration, then the comment.
        order = [f"check_{i.key}" for i in self.items]
        self.order_fields([*order, "conflict_of_interest", "conflict_statement", "comment"])

    @property
    def checklist_fields(self):
        return [self[f"check_{item.key}"] for item in self.items]

    def checklist(self) -> dict:
        """{key: True/False} for the service."""
        return {item.key: bool(self.cleaned_data.get(f"check_{item.key}")) for item in self.items}

    def conflict(self) -> dict | None:
        """The declaration for the service; None when the reviewer chose nothing."""
        choice = self.cleaned_data.get("conflict_of_interest")
        if choice == "no":
            return {"declared": False}
        if choice == "yes":
            return {"declared": True, "statement": self.cleaned_data.get("conflict_statement", "")}
        return None


class ReviewerProfileForm(forms.Form):
    """A managing editor's view of a reviewer's profile and credentials."""

    display_name = forms.CharField(max_length=200)
    credentials = forms.CharField(max_length=100, required=False, help_text='e.g. "MD, PhD"')
    specialty = forms.CharField(max_length=200, required=False)
    bio = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))
    registration_body = forms.CharField(max_length=100, required=False, help_text='e.g. "GMC"')
    registration_number = forms.CharField(max_length=100, required=False)
    credentials_expire_on = forms.DateField(
        required=False, help_text="YYYY-MM-DD", widget=forms.DateInput(attrs={"type": "date"})
    )
    verify = forms.BooleanField(
        required=False,
        label="I checked these credentials against the register: mark them verified",
    )


class ChecklistItemForm(forms.Form):
    """One checklist item, as managing editors keep it."""

    key = forms.SlugField(max_length=60, help_text="Stable identifier, e.g. numbers_checked")
    text = forms.CharField(max_length=500)
    required = forms.BooleanField(required=False, initial=True)
    audiences = forms.MultipleChoiceField(
        choices=Article.Audience.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked: every audience.",
    )
    active = forms.BooleanField(required=False, initial=True)
    position = forms.IntegerField(min_value=0, max_value=1000, initial=0)


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


class SourceLookupForm(forms.Form):
    """A DOI or a PMID, pasted as found: ``10.1056/…``, ``https://doi.org/…``, ``PMID: 123``."""

    identifier = forms.CharField(
        label="DOI or PMID",
        max_length=300,
        help_text="e.g. 10.1016/S0140-6736(97)11096-0, https://doi.org/…, or PMID: 9500320. "
        "Looked up in Crossref (DOI) or PubMed (PMID).",
    )

    def clean_identifier(self) -> dict:
        """``{"doi": …}`` or ``{"pmid": …}``, normalised; a clear message when it is neither."""
        text = self.cleaned_data["identifier"].strip()
        try:
            return {"pmid": normalize_pmid(text)}
        except InvalidIdentifier:
            pass
        try:
            return {"doi": normalize_doi(text)}
        except InvalidIdentifier as exc:
            raise ValidationError(
                f"{text[:80]!r} is neither a DOI (10.NNNN/…, with or without https://doi.org/) "
                f"nor a PMID (digits only): {exc}."
            )


_ISSUED_RE = re.compile(r"^\d{4}(-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01]))?)?$")


class SourceEditForm(forms.Form):
    """A source's bibliographic fields as ``source_update`` takes them (status has its own
    form). Authors are one per line: "Family, Given" for a person, else a group's name."""

    key = forms.CharField(
        max_length=200, help_text="Articles cite the source by it: [@key]. Changing it breaks them."
    )
    type = forms.CharField(max_length=40, help_text="CSL type, e.g. article-journal, book, report.")
    title = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}))
    authors = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="One per line: “Family, Given” for a person, or a group's name.",
    )
    container_title = forms.CharField(label="Journal or book", max_length=500, required=False)
    container_title_short = forms.CharField(
        label="Journal abbreviation", max_length=200, required=False
    )
    issued = forms.CharField(
        label="Issued", max_length=10, required=False, help_text="1998, 1998-02 or 1998-02-28"
    )
    volume = forms.CharField(max_length=50, required=False)
    issue = forms.CharField(max_length=50, required=False)
    pages = forms.CharField(max_length=50, required=False)
    doi = forms.CharField(label="DOI", max_length=255, required=False)
    pmid = forms.CharField(label="PMID", max_length=20, required=False)
    pmcid = forms.CharField(label="PMCID", max_length=20, required=False)
    url = forms.CharField(label="URL", max_length=1000, required=False)
    publisher = forms.CharField(max_length=300, required=False)
    evidence_type = forms.ChoiceField(choices=Source.EvidenceType.choices)
    # citations.services.source_version when the form was loaded: a concurrent edit is refused.
    version = forms.CharField(required=False, widget=forms.HiddenInput)

    FIELDS = (
        "key", "type", "title", "authors", "container_title", "container_title_short", "issued",
        "volume", "issue", "pages", "doi", "pmid", "pmcid", "url", "publisher", "evidence_type",
    )  # fmt: skip

    @classmethod
    def initial_for(cls, source: Source) -> dict:
        initial = {name: getattr(source, name) for name in cls.FIELDS}
        initial["version"] = citation_services.source_version(source)
        initial["authors"] = cls.authors_as_text(source.authors)
        return initial

    @staticmethod
    def authors_as_text(authors: list[dict]) -> str:
        return "\n".join(
            a.get("literal") or ", ".join(p for p in (a.get("family"), a.get("given")) if p)
            for a in authors or []
        )

    def clean_issued(self) -> str:
        value = self.cleaned_data["issued"].strip()
        if value and not _ISSUED_RE.match(value):
            raise ValidationError(f"{value!r} is not an ISO date: use 1998, 1998-01 or 1998-01-29.")
        return value

    def clean_authors(self) -> list[dict]:
        authors = []
        for line in self.cleaned_data["authors"].splitlines():
            line = line.strip()
            if not line:
                continue
            family, comma, given = line.partition(",")
            if comma and family.strip():
                authors.append({"family": family.strip(), "given": given.strip()})
            else:
                authors.append({"literal": line})
        return authors
