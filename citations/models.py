"""Bibliographic sources: CSL-JSON-compatible records with identifiers and a status."""

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from .statuses import SEVERITY as STATUS_SEVERITY


class Source(models.Model):
    """One bibliographic record that articles cite by its key, DOI or PMID."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        CORRECTED = "corrected", "Corrected"
        EXPRESSION_OF_CONCERN = "expression_of_concern", "Expression of concern"
        RETRACTED = "retracted", "Retracted"
        WITHDRAWN = "withdrawn", "Withdrawn"
        SUPERSEDED = "superseded", "Superseded"

    class EvidenceType(models.TextChoices):
        GUIDELINE = "guideline", "Guideline"
        SYSTEMATIC_REVIEW = "systematic_review", "Systematic review"
        RCT = "rct", "Randomised controlled trial"
        COHORT = "cohort", "Cohort study"
        CASE_CONTROL = "case_control", "Case-control study"
        CASE_REPORT = "case_report", "Case report"
        EXPERT_OPINION = "expert_opinion", "Expert opinion"
        OTHER = "other", "Other"

    #: Statuses that refuse a citation unless it is marked intentional.
    REFUSED_STATUSES = (Status.RETRACTED, Status.WITHDRAWN)
    #: Statuses that flag the articles citing the source.
    FLAGGING_STATUSES = (Status.RETRACTED, Status.WITHDRAWN, Status.EXPRESSION_OF_CONCERN)
    #: How grave each status is: imports and registry checks only ever raise it.
    SEVERITY = STATUS_SEVERITY

    key = models.CharField(max_length=200, unique=True)
    type = models.CharField(max_length=40, default="article-journal")
    title = models.TextField()
    authors = models.JSONField(default=list, blank=True)
    container_title = models.CharField(max_length=500, blank=True)
    # The journal's abbreviation (e.g. "N Engl J Med"), which AMA and NLM styles print.
    container_title_short = models.CharField(max_length=200, blank=True)
    issued = models.CharField(max_length=10, blank=True, help_text="ISO date, partial allowed")
    volume = models.CharField(max_length=50, blank=True)
    issue = models.CharField(max_length=50, blank=True)
    pages = models.CharField(max_length=50, blank=True)
    doi = models.CharField("DOI", max_length=255, blank=True)
    pmid = models.CharField("PMID", max_length=20, blank=True)
    pmcid = models.CharField("PMCID", max_length=20, blank=True)
    url = models.URLField("URL", max_length=1000, blank=True)
    publisher = models.CharField(max_length=300, blank=True)
    evidence_type = models.CharField(
        max_length=20, choices=EvidenceType.choices, default=EvidenceType.OTHER
    )
    status = models.CharField(max_length=25, choices=Status.choices, default=Status.ACTIVE)
    notice_doi = models.CharField(max_length=255, blank=True)
    notice_pmid = models.CharField(max_length=20, blank=True)
    notice_date = models.DateField(null=True, blank=True)
    notice_reason = models.TextField(blank=True)
    status_changed_at = models.DateTimeField(null=True, blank=True)
    # When the integrity watch last asked a registry about this source (None: never).
    last_checked = models.DateTimeField(null=True, blank=True, db_index=True)
    # Normalised title for duplicate detection (same title, year and first author).
    title_signature = models.CharField(max_length=500, blank=True, db_index=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["key"]
        constraints = [
            models.UniqueConstraint(fields=["doi"], condition=~Q(doi=""), name="source_unique_doi"),
            models.UniqueConstraint(
                fields=["pmid"], condition=~Q(pmid=""), name="source_unique_pmid"
            ),
            models.UniqueConstraint(
                fields=["pmcid"], condition=~Q(pmcid=""), name="source_unique_pmcid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.key}: {self.title[:80]}"

    @property
    def status_notice(self) -> dict | None:
        """The notice behind a non-active status, or None."""
        if self.status == self.Status.ACTIVE:
            return None
        return {
            "doi": self.notice_doi,
            "pmid": self.notice_pmid,
            "date": self.notice_date.isoformat() if self.notice_date else None,
            "reason": self.notice_reason,
        }

    @property
    def year(self) -> str:
        """The year of issue, or ''."""
        return self.issued[:4]


class SourceStatusEvent(models.Model):
    """Append-only record of each change of a source's status."""

    source = models.ForeignKey(Source, on_delete=models.CASCADE, related_name="status_events")
    from_status = models.CharField(max_length=25)
    to_status = models.CharField(max_length=25)
    notice_doi = models.CharField(max_length=255, blank=True)
    notice_pmid = models.CharField(max_length=20, blank=True)
    reason = models.TextField(blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    #: Who acted when no person did: "system" for the integrity watch; empty for a person.
    actor_label = models.CharField(max_length=40, blank=True)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.source_id}: {self.from_status} → {self.to_status}"


def current_revision_q(revision: str) -> Q:
    """The revision at ORM path ``revision`` is its article's live or working one.

    The rule behind "cited by a live or working revision", written once: citing
    counts, citation tracking and the integrity checks all build on it. Paths
    through the reverse relations keep this app from importing the articles app.
    """
    return Q(**{f"{revision}__article__live_revision": F(revision)}) | Q(
        **{f"{revision}__article__latest_revision": F(revision)}
    )


class SourceCheck(models.Model):
    """One registry's answer about one source, from one run of the integrity watch."""

    class Registry(models.TextChoices):
        CROSSREF = "crossref", "Crossref"
        PUBMED = "pubmed", "PubMed"

    class Outcome(models.TextChoices):
        UNCHANGED = "unchanged", "Unchanged"
        CHANGED = "changed", "Changed"
        NOT_FOUND = "not_found", "Not found"
        ERROR = "error", "Error"

    source = models.ForeignKey(Source, on_delete=models.CASCADE, related_name="checks")
    registry = models.CharField(max_length=10, choices=Registry.choices)
    checked_at = models.DateTimeField()
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    #: The status the registry's record implies ("" when it said nothing usable).
    found_status = models.CharField(max_length=25, blank=True)
    notice_doi = models.CharField(max_length=255, blank=True)
    notice_pmid = models.CharField(max_length=20, blank=True)
    detail = models.TextField(blank=True)

    class Meta:
        ordering = ["-checked_at", "-id"]
        indexes = [
            models.Index(fields=["source", "-checked_at"], name="sourcecheck_history_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.source_id} {self.registry} {self.outcome} at {self.checked_at:%Y-%m-%d}"


class ImportJob(models.Model):
    """A citation file imported in the background (files over 1 MB), with its progress."""

    class State(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    filename = models.CharField(max_length=255, blank=True)
    format = models.CharField(max_length=20, blank=True)
    # The upload until the job is done (then emptied); at most IMPORT_MAX_BYTES.
    data = models.BinaryField(blank=True, default=b"")
    state = models.CharField(max_length=10, choices=State.choices, default=State.QUEUED)
    processed = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(default=0)
    # The import report as it grows, batch by batch: {created, merged, refused, entries}.
    report = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # The run that holds the job (one worker at a time) and until when, renewed per batch.
    lease_token = models.CharField(max_length=32, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"import {self.pk} ({self.filename}): {self.state} {self.processed}/{self.total}"


class ImportJobPart(models.Model):
    """The report lines of one stored batch of a running job (deleted when it is done).

    Written with the batch, in its transaction, so that a job delivered again after a
    lost worker resumes with the report of the batches already stored; the job's own
    ``report`` is written once, at the end.
    """

    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="parts")
    # The job's ``processed`` once this batch is stored.
    processed = models.PositiveIntegerField()
    lines = models.JSONField(default=list)

    class Meta:
        ordering = ["processed"]
        constraints = [
            models.UniqueConstraint(fields=["job", "processed"], name="importjobpart_unique")
        ]

    def __str__(self) -> str:
        return f"import {self.job_id} up to {self.processed}"
