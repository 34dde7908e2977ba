"""The review record: audit events, approvals, reviewer assignments, notifications."""

from django.conf import settings
from django.db import models

from articles.models import AppendOnlyQuerySet, Article, ArticleRevision


class AuditEvent(models.Model):
    """Append-only: one row per transition and per refused attempt."""

    # Like a history table (django-simple-history does the same), the audit trail's
    # foreign keys have no database constraint: every row is written by the ORM from a
    # saved object, or by the sweep's INSERT … SELECT from the article rows themselves,
    # and Django still applies on_delete. A constraint made the database re-check every
    # row at commit (an index probe and a row lock on the article and the revision),
    # which for the sweep's hundreds of thousands of events cost more than writing them.
    # No index of its own on article: audit_article_at_idx (article, at) serves every
    # lookup by article, and one index fewer is one less write per row.
    article = models.ForeignKey(
        Article,
        on_delete=models.CASCADE,
        related_name="audit_events",
        db_index=False,
        db_constraint=False,
    )
    revision = models.ForeignKey(
        ArticleRevision,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_constraint=False,
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_constraint=False,
    )
    action = models.CharField(max_length=40)
    from_status = models.CharField(max_length=20, blank=True)
    to_status = models.CharField(max_length=20, blank=True)
    comment = models.TextField(blank=True)
    refused = models.BooleanField(default=False)
    reason = models.TextField(blank=True, help_text="Why an attempt was refused")
    at = models.DateTimeField(auto_now_add=True, db_index=True)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["article", "at"], name="audit_article_at_idx")]

    def __str__(self) -> str:
        state = " (refused)" if self.refused else ""
        return f"{self.action} {self.from_status}→{self.to_status}{state}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise TypeError("Audit events are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise TypeError("Audit events are append-only")


class ChecklistItemQuerySet(models.QuerySet):
    def active(self):
        return self.filter(active=True)


class ChecklistItem(models.Model):
    """One item of the reviewer's checklist, kept by managing editors."""

    key = models.SlugField(max_length=60, unique=True)
    text = models.CharField(max_length=500)
    required = models.BooleanField(default=True)
    #: Audiences the item applies to (``Article.Audience`` values); empty means all.
    audiences = models.JSONField(default=list, blank=True)
    active = models.BooleanField(default=True)
    position = models.PositiveSmallIntegerField(default=0)

    objects = ChecklistItemQuerySet.as_manager()

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.key

    def applies_to(self, audience: str) -> bool:
        """Whether the item is asked for an article written for ``audience``."""
        return not self.audiences or audience in self.audiences


class Approval(models.Model):
    """A reviewer's approval or re-certification, bound to one revision's content hash,
    with the review record an accreditor asks for: the checklist confirmed, the
    conflict-of-interest declaration, the reviewer's credentials and the state of
    every cited source at that moment."""

    class Kind(models.TextChoices):
        APPROVAL = "approval", "Approval"
        RECERTIFICATION = "recertification", "Re-certification"

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="approvals")
    revision = models.ForeignKey(
        ArticleRevision, on_delete=models.CASCADE, related_name="approvals"
    )
    content_hash = models.CharField(max_length=64)
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="approvals"
    )
    comment = models.TextField(blank=True)
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.APPROVAL)
    #: [{"key", "text", "required", "confirmed"}] as the items read when signed.
    checklist = models.JSONField(default=list, blank=True)
    #: {"declared": bool, "statement": str}
    conflict_of_interest = models.JSONField(default=dict, blank=True)
    #: ``ReviewerProfile.credentials_record()`` when signed.
    credentials = models.JSONField(default=dict, blank=True)
    #: [{"number", "key", "source", "title", "status", "status_changed_at", "last_checked",
    #: "intentional_reason"}] for each source the revision cites, when signed.
    evidence = models.JSONField(default=list, blank=True)
    at = models.DateTimeField(auto_now_add=True)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        # Not unique per (revision, reviewer): an archived and restored revision goes
        # through a new review round, where earlier approvals no longer count.
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.reviewer_id} {self.kind} r{self.revision_id}"

    @property
    def conflict_statement(self) -> str:
        """What readers are shown of the declaration."""
        coi = self.conflict_of_interest or {}
        if not coi:
            return ""
        if coi.get("declared"):
            return coi.get("statement", "")
        return "No conflicts of interest declared"


class ReviewAssignment(models.Model):
    """A reviewer assigned to an article by a managing editor."""

    article = models.ForeignKey(
        Article, on_delete=models.CASCADE, related_name="review_assignments"
    )
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="review_assignments"
    )
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    assigned_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["assigned_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["article", "reviewer"], name="one_assignment_each")
        ]

    def __str__(self) -> str:
        return f"{self.reviewer_id} reviews {self.article_id}"


class Notification(models.Model):
    """One email to one recipient; the dedupe key makes sending idempotent."""

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"

    dedupe_key = models.CharField(max_length=200, unique=True)
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    subject = models.CharField(max_length=300)
    body = models.TextField()
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    # The in-app list mirrors the emails; read there, whatever became of the email.
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["recipient", "-created_at"], name="notification_inbox_idx")]

    def __str__(self) -> str:
        return f"{self.subject} → {self.recipient_id} ({self.state})"


class OutboxMessage(models.Model):
    """A side effect to run after the transaction that wrote it commits (transactional outbox).

    Written in the same transaction as the change it follows, so it exists exactly when
    the change does. Published to the broker after commit; if that fails the row stays
    pending and the relay (beat, and every worker on start) publishes it again. A handler
    marks it done once, under a row lock; a long job moves ``payload`` on (a cursor) and
    stays pending until its last chunk.
    """

    class Kind(models.TextChoices):
        MAIL = "mail", "Send one notification"
        PROPAGATE = "propagate", "Propagate a source's status to the citing articles"

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        DONE = "done", "Done"
        FAILED = "failed", "Failed: gave up after repeated errors"

    kind = models.CharField(max_length=20, choices=Kind.choices)
    key = models.CharField(max_length=200, unique=True, help_text="One row per side effect")
    payload = models.JSONField(default=dict)
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveIntegerField(default=0, help_text="Runs of the handler so far")
    failures = models.PositiveIntegerField(
        default=0, help_text="Handler errors in a row (reset by a run that succeeds)"
    )
    last_error = models.TextField(blank=True, help_text="The handler's last error, if any")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(
                fields=["updated_at"],
                name="outbox_pending_idx",
                condition=models.Q(state="pending"),
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.key} ({self.state})"
