"""Articles, their immutable revisions, the citations each revision resolved, and
the people and policy readers see."""

import hashlib
from datetime import date, timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse

from citations.models import Source, current_revision_q


class AppendOnlyQuerySet(models.QuerySet):
    """Refuses bulk updates and deletes: rows of these models are never rewritten."""

    def update(self, **kwargs):
        raise TypeError(f"{self.model.__name__} rows are immutable")

    def delete(self):
        raise TypeError(f"{self.model.__name__} rows are immutable")


def topic_name(topic: str) -> str:
    """A topic slug as readers read it: ``multiple-sclerosis`` → ``Multiple sclerosis``."""
    words = topic.replace("_", "-").split("-")
    return " ".join(words).strip().capitalize()


def live_q(prefix: str = "") -> Q:
    """The rule for "live", written once: a live revision, and not archived.

    ``prefix`` reaches an article through a relation (``"article__"``). Set-based
    jobs, selectors and querysets all build on it; ``Article.is_live`` is its
    in-memory form for an article already loaded.
    """
    return Q(**{f"{prefix}live_revision__isnull": False}) & ~Q(
        **{f"{prefix}status": Article.Status.ARCHIVED}
    )


class ArticleQuerySet(models.QuerySet):
    """Visibility rules: readers see live articles only; editorial staff see all."""

    def live(self):
        """Approved content that readers may see: a live revision and not archived."""
        return self.filter(live_q())

    def visible_to(self, user):
        """What ``user`` may see at all (everything else is a 404)."""
        return self.all() if sees_working_copies(user) else self.live()


def sees_working_copies(user) -> bool:
    """The visibility rule, written once: editorial staff see every article as its
    working copy; everyone else sees live articles only, as their live revision."""
    from reviewsite.roles import is_staff_member

    return is_staff_member(user)


def revision_shown_to(user) -> str:
    """The field of the revision ``user`` is shown: ``latest_revision`` or ``live_revision``."""
    return "latest_revision" if sees_working_copies(user) else "live_revision"


class Article(models.Model):
    """The stable identity of an article; its content lives in revisions."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        SUBMITTED = "submitted", "Submitted"
        UNDER_REVIEW = "under_review", "Under review"
        CHANGES_REQUESTED = "changes_requested", "Changes requested"
        APPROVED = "approved", "Approved"
        ARCHIVED = "archived", "Archived"

    class Audience(models.TextChoices):
        GENERAL = "general", "General readers"
        PATIENTS = "patients", "Patients and families"
        CLINICIANS = "clinicians", "Clinicians"

    #: What each flag says to a person (pages never show the API's codes).
    FLAG_LABELS = {
        "review_overdue": "Review overdue",
        "review_due_soon": "Review due soon",
        "citation_retracted": "Cites a retracted source",
        "citation_concern": "Cites a source under concern",
        "citation_corrected": "Cites a corrected source",
        "variant_changed": "Another version changed",
    }
    #: Flag names, in the order the API lists them, and the boolean column for each.
    FLAG_FIELDS = {
        "review_overdue": "flag_review_overdue",
        "review_due_soon": "flag_review_due_soon",
        "citation_retracted": "flag_citation_retracted",
        "citation_concern": "flag_citation_concern",
        "citation_corrected": "flag_citation_corrected",
        "variant_changed": "flag_variant_changed",
    }

    slug = models.SlugField(max_length=200, unique=True)
    audience = models.CharField(max_length=20, choices=Audience.choices, default=Audience.GENERAL)
    topic = models.CharField(max_length=100, blank=True, db_index=True)
    # Articles sharing a non-empty variant group are one article written for
    # different audiences; readers pick the variant they want.
    variant_group = models.SlugField(max_length=200, blank=True, db_index=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="owned_articles"
    )
    status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.DRAFT, db_index=True
    )
    latest_revision = models.ForeignKey(
        "ArticleRevision", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    live_revision = models.ForeignKey(
        "ArticleRevision", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    review_interval_days = models.PositiveIntegerField(
        null=True, blank=True, help_text="Empty: the site default (365 days)."
    )
    required_approvals = models.PositiveSmallIntegerField(default=1)
    # Bumped on every change of the working copy or its state; the ETag.
    version = models.PositiveIntegerField(default=1)
    last_updated = models.DateTimeField(null=True, blank=True)
    last_reviewed = models.DateTimeField(null=True, blank=True)
    last_reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    next_review_due = models.DateTimeField(null=True, blank=True, db_index=True)
    # When the working copy was submitted / taken into review, and the same two
    # moments for the live revision (the reader's status trail).
    submitted_at = models.DateTimeField(null=True, blank=True)
    review_started_at = models.DateTimeField(null=True, blank=True)
    live_submitted_at = models.DateTimeField(null=True, blank=True)
    live_review_started_at = models.DateTimeField(null=True, blank=True)
    flag_review_overdue = models.BooleanField(default=False)
    flag_review_due_soon = models.BooleanField(default=False)
    flag_citation_retracted = models.BooleanField(default=False)
    flag_citation_concern = models.BooleanField(default=False)
    flag_citation_corrected = models.BooleanField(default=False)
    # Another live variant of the same variant group changed its live content.
    flag_variant_changed = models.BooleanField(default=False)
    # The conflict-of-interest declarations of the review readers see (the approvals
    # that made the live revision live, or the last re-certification):
    # [{"reviewer", "declared", "statement"}]. Written by the workflow.
    review_declarations = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ArticleQuerySet.as_manager()

    class Meta:
        ordering = ["-last_updated", "-id"]
        indexes = [
            models.Index(fields=["status", "next_review_due"], name="article_due_idx"),
            # Lists page through articles newest first.
            models.Index(fields=["-last_updated", "-id"], name="article_recent_idx"),
        ]

    def __str__(self) -> str:
        return self.title or self.slug

    def get_absolute_url(self) -> str:
        return reverse("articles:detail", kwargs={"slug": self.slug})

    @property
    def title(self) -> str:
        """Title of the working revision."""
        revision = self.latest_revision
        return revision.title if revision else ""

    @property
    def topic_name(self) -> str:
        """The topic as words, for pages."""
        return topic_name(self.topic)

    @property
    def flags(self) -> list[str]:
        """The article's flags as API strings."""
        return [name for name, field in self.FLAG_FIELDS.items() if getattr(self, field)]

    @property
    def flag_labels(self) -> list[tuple[str, str]]:
        """``(code, words)`` of each flag that is set, for pages."""
        return [(code, self.FLAG_LABELS.get(code, code)) for code in self.flags]

    @property
    def effective_review_interval_days(self) -> int:
        """The per-article interval, or the site default."""
        if self.review_interval_days:
            return self.review_interval_days
        return settings.REVIEWSITE_DEFAULT_REVIEW_INTERVAL_DAYS

    @property
    def is_live(self) -> bool:
        """Whether readers can see the article (``live_q`` for an article in memory)."""
        return self.live_revision_id is not None and self.status != self.Status.ARCHIVED

    def compute_next_review_due(self):
        """last_reviewed + review interval, or None if never reviewed."""
        if self.last_reviewed is None:
            return None
        return self.last_reviewed + timedelta(days=self.effective_review_interval_days)

    @property
    def etag(self) -> str:
        """Strong ETag of the working copy and its state."""
        return f'"{self.pk}-{self.version}"'

    def versions_matching(self, if_match: str | None) -> frozenset[int] | None:
        """The versions of this article an ``If-Match`` header names (RFC 9110 list).

        None when any version will do (no header, or ``*``); see
        ``reviewsite.conditional.strong_tags`` for which tags count.
        """
        from reviewsite.conditional import strong_tags

        if if_match is None:
            return None
        tags = strong_tags(if_match)
        if tags is None:
            return None
        prefix = f'"{self.pk}-'
        return frozenset(
            int(tag[len(prefix) : -1])
            for tag in tags
            if tag.startswith(prefix) and tag[len(prefix) : -1].isdigit()
        )


class ArticleRevision(models.Model):
    """An immutable snapshot of an article's content and the citations it resolved."""

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="revisions")
    number = models.PositiveIntegerField()
    title = models.CharField(max_length=300)
    summary = models.TextField(blank=True)
    body = models.TextField(blank=True)
    content_hash = models.CharField(max_length=64)
    # Rendered once, when the revision is made; pages never re-render it.
    body_html = models.TextField(blank=True)
    headings = models.JSONField(default=list, blank=True)
    unresolved_markers = models.JSONField(default=list, blank=True)
    # The figures the body shows, as rendered: [{"id", "file_hash", "src", "alt", ...}].
    figures = models.JSONField(default=list, blank=True)
    # Keys cited on purpose despite a retracted/withdrawn status: {key: reason}.
    intentional_citations = models.JSONField(default=dict, blank=True)
    # Who the revision is written for and where it is filed: reviewed with the content,
    # and copied to the article (what readers filter by) when the revision goes live.
    audience = models.CharField(
        max_length=20, choices=Article.Audience.choices, default=Article.Audience.GENERAL
    )
    topic = models.CharField(max_length=100, blank=True)
    variant_group = models.SlugField(max_length=200, blank=True)
    citation_style = models.CharField(max_length=100, blank=True)
    # {"words", "sentences", "flesch_kincaid_grade", "smog"} of the body's prose,
    # computed when the revision is made (articles.readability).
    readability = models.JSONField(default=dict, blank=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="authored_revisions"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        ordering = ["article", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["article", "number"], name="revision_number_unique")
        ]

    def __str__(self) -> str:
        return f"{self.article_id} r{self.number}: {self.title}"

    def save(self, *args, **kwargs):
        if self.pk is not None and not kwargs.pop("_allow_update", False):
            raise TypeError("Article revisions are immutable; create a new revision instead")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise TypeError("Article revisions are immutable")

    #: The article's fields a revision carries, reviewed with its content.
    METADATA_FIELDS = ("audience", "topic", "variant_group")

    @property
    def metadata(self) -> dict:
        """Audience, topic and variant group as this revision has them."""
        return {name: getattr(self, name) for name in self.METADATA_FIELDS}

    @staticmethod
    def hash_content(
        *, title: str, summary: str, body: str, intentional: dict, figures: dict | None = None
    ) -> str:
        """SHA-256 over the reviewable content, including the files of the figures shown.

        ``figures`` maps each figure id the body shows to its file hash; without any,
        the hash is the one revisions made before figures existed have.
        """
        digest = hashlib.sha256()
        parts = [title, summary, body, repr(sorted(intentional.items()))]
        if figures:
            parts.append(repr(sorted(figures.items())))
        for part in parts:
            digest.update(part.encode("utf-8"))
            digest.update(b"\x00")
        return digest.hexdigest()


class RevisionCitationQuerySet(models.QuerySet):
    """Which citations count: relied on (not kept on purpose), refused, current."""

    def relied_on(self):
        """Citations the article relies on as evidence: not marked intentional with a reason."""
        return self.filter(intentional_reason="")

    def relying_on_refused(self):
        """Relied-on citations of a retracted or withdrawn source (submit refuses them)."""
        return self.relied_on().filter(source__status__in=Source.REFUSED_STATUSES)

    def relying_on_concern(self):
        """Relied-on citations of a source under an expression of concern."""
        return self.relied_on().filter(source__status=Source.Status.EXPRESSION_OF_CONCERN)

    def current(self):
        """Citations in their article's live or working revision."""
        return self.filter(current_revision_q("revision"))


class RevisionCitation(models.Model):
    """One numbered reference of a revision: the source, the key used, the formatted entry."""

    revision = models.ForeignKey(
        ArticleRevision, on_delete=models.CASCADE, related_name="citations"
    )
    number = models.PositiveIntegerField()
    source = models.ForeignKey(Source, on_delete=models.PROTECT, related_name="revision_citations")
    key = models.CharField(max_length=300)
    entry_html = models.TextField(blank=True)
    backlinks = models.JSONField(default=list, blank=True)
    intentional_reason = models.TextField(blank=True)

    objects = RevisionCitationQuerySet.as_manager()

    class Meta:
        ordering = ["revision", "number"]
        constraints = [
            models.UniqueConstraint(fields=["revision", "number"], name="revision_citation_number"),
            models.UniqueConstraint(fields=["revision", "source"], name="revision_citation_source"),
        ]

    def __str__(self) -> str:
        return f"[{self.number}] {self.key}"


class ReviewerProfileQuerySet(models.QuerySet):
    """Which reviewers' credentials are verified, and whose run out soon."""

    def expiring(self, *, today: date, within_days: int):
        """Verified credentials that expire between ``today`` and ``within_days`` later."""
        return self.filter(
            credentials_verified_at__isnull=False,
            credentials_expire_on__gte=today,
            credentials_expire_on__lte=today + timedelta(days=within_days),
        )


class ReviewerProfile(models.Model):
    """What readers see of a medical reviewer, and the credentials a managing editor
    verified (the approve and recertify rule reads ``credential_problem``)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reviewer_profile"
    )
    display_name = models.CharField(max_length=200)
    credentials = models.CharField(max_length=100, blank=True, help_text='e.g. "MD, PhD"')
    specialty = models.CharField(max_length=200, blank=True)
    bio = models.TextField(blank=True)
    on_advisory_board = models.BooleanField(default=True)
    registration_body = models.CharField(max_length=100, blank=True, help_text='e.g. "GMC"')
    registration_number = models.CharField(max_length=100, blank=True)
    credentials_verified_at = models.DateTimeField(null=True, blank=True)
    credentials_verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    credentials_expire_on = models.DateField(null=True, blank=True)

    objects = ReviewerProfileQuerySet.as_manager()

    class Meta:
        ordering = ["display_name"]

    def __str__(self) -> str:
        return self.byline

    @property
    def byline(self) -> str:
        """'Name, MD' as the reviewed-by line prints it."""
        return f"{self.display_name}, {self.credentials}" if self.credentials else self.display_name

    @property
    def anchor(self) -> str:
        """Fragment id of the profile on the editorial-policy page."""
        return f"reviewer-{self.user_id}"

    def credential_problem(self, today: date) -> str:
        """Why these credentials may not sign a review on ``today`` ("" when they may)."""
        if self.credentials_verified_at is None:
            return "the credentials have not been verified by a managing editor yet."
        if self.credentials_expire_on is not None and self.credentials_expire_on < today:
            return (
                f"the credentials expired on {self.credentials_expire_on.isoformat()}; "
                "a managing editor must verify renewed ones."
            )
        return ""

    def credentials_record(self) -> dict:
        """The credentials as they are now, as plain data (kept with each approval)."""
        verified_by = self.credentials_verified_by
        return {
            "user": self.user_id,
            "display_name": self.display_name,
            "credentials": self.credentials,
            "specialty": self.specialty,
            "registration_body": self.registration_body,
            "registration_number": self.registration_number,
            "verified_at": _iso(self.credentials_verified_at),
            "verified_by": verified_by.get_username() if verified_by else None,
            "expire_on": _iso(self.credentials_expire_on),
        }


def _iso(value) -> str | None:
    return value.isoformat() if value is not None else None


def reviewer_credential_problem(user, *, profile=..., today: date | None = None) -> str:
    """The rule for signing a review, written once: a profile with verified credentials
    that have not expired ("" when ``user`` may sign). Superusers are no exception.

    ``profile`` is the user's profile read fresh by a service; left out, the one
    cached on the user object is used (enough to decide which buttons to show).
    """
    from django.utils import timezone

    if profile is ...:
        profile = getattr(user, "reviewer_profile", None) if user is not None else None
    if profile is None:
        return "there is no reviewer profile; a managing editor must add and verify one."
    return profile.credential_problem(today or timezone.localdate())


class EditorialPolicy(models.Model):
    """The editorial policy text, edited by managing editors; the newest row is shown."""

    body = models.TextField(help_text="Markdown")
    disclaimer = models.TextField(blank=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "editorial policy"
        ordering = ["-updated_at", "-id"]

    def __str__(self) -> str:
        return f"Editorial policy ({self.updated_at:%Y-%m-%d})" if self.updated_at else "Policy"


def figure_upload_to(instance: "Figure", filename: str) -> str:
    """Content-addressed: a replaced image never overwrites the file an old revision shows."""
    digest = instance.file_hash
    return f"figures/{digest[:2]}/{digest}/{filename}"


class Figure(models.Model):
    """An uploaded image in the media library, shown in articles as ``![alt](figure:<id>)``.

    ``file`` is the full-size copy the site serves (re-encoded, metadata stripped);
    ``sizes`` lists the smaller copies made once on upload, stored beside it.
    """

    file = models.FileField(upload_to=figure_upload_to, max_length=300)
    # [{"width": 480, "height": 320, "name": "figures/ab/abcd.../w480.png"}, ...], narrowest first
    sizes = models.JSONField(default=list, blank=True)
    media_type = models.CharField(max_length=50)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    # SHA-256 of the uploaded bytes; revisions showing the figure hash it with their content.
    file_hash = models.CharField(max_length=64, db_index=True)
    alt_text = models.TextField(blank=True)
    decorative = models.BooleanField(
        default=False, help_text="Adds nothing a reader needs: shown with an empty alt text."
    )
    caption = models.TextField(blank=True)
    credit = models.CharField(max_length=300, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="uploaded_figures"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(alt_text="") | Q(decorative=True), name="figure_alt_or_decorative"
            )
        ]

    def __str__(self) -> str:
        return f"Figure {self.pk}: {self.alt_text[:60] or 'decorative'}"

    @property
    def marker(self) -> str:
        """What an editor writes in the Markdown to show this figure."""
        alt = " ".join(self.alt_text.split()).replace("\\", "\\\\")
        alt = alt.replace("[", "\\[").replace("]", "\\]")
        return f"![{alt}](figure:{self.pk})"

    @property
    def label(self) -> str:
        """How lists name the figure: its alt text, else its caption."""
        return self.alt_text or self.caption or "Decorative image"
