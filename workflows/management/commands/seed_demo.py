"""``manage.py seed_demo``: demo accounts, sources and MS articles in every workflow state.

Everything goes through the real services (the same ones the API and the workspace
use), so the demo data carries real revisions, citations and audit events. The
command is idempotent: accounts are keyed on usernames, sources on keys and DOIs,
articles on slugs; what exists already is left alone.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from articles.models import Article, EditorialPolicy, ReviewerProfile
from citations.identifiers import InvalidIdentifier, normalize_doi
from citations.models import Source
from citations.services import source_import, source_set_status, source_update
from reviewsite.roles import EDITORS, MANAGING_EDITORS, REVIEWERS
from workflows import services
from workflows.review_record import checklist_for

DEMO_DIR = Path(__file__).resolve().parents[2] / "demo"
#: Used for every demo account when ``--password`` is given without a value.
FIXED_DEMO_PASSWORD = "reviewsite-demo"  # noqa: S105 - documented, opt-in demo password

#: (username, group); no group means the superuser.
ACCOUNTS = (
    ("editor", EDITORS),
    ("editor2", EDITORS),
    ("reviewer", REVIEWERS),
    ("reviewer2", REVIEWERS),
    ("reviewer3", REVIEWERS),
    ("managing", MANAGING_EDITORS),
    ("admin", None),
)

PROFILES = {
    "reviewer": {
        "display_name": "Dr Amara Okafor",
        "credentials": "MD",
        "specialty": "Neurology",
        "bio": (
            "Fictional demo reviewer: Dr Okafor is not a real person. The account shows "
            "how a medical reviewer's name, credentials and specialty appear on reviewed "
            "pages. In the demo she reviews articles on multiple sclerosis."
        ),
    },
    "reviewer2": {
        "display_name": "Dr Lena Marsh",
        "credentials": "MD, PhD",
        "specialty": "Neuroradiology",
        "bio": (
            "Fictional demo reviewer: Dr Marsh is not a real person. In the demo she "
            "reviews articles on MRI and on disease-modifying therapy."
        ),
    },
    "reviewer3": {
        "display_name": "Dr Tomas Lindqvist",
        "credentials": "MD",
        "specialty": "Neurology",
        "bio": (
            "Fictional demo reviewer: Dr Lindqvist is not a real person. His credentials "
            "have not been verified yet, so he may not approve until a managing editor does."
        ),
    },
}

#: Registration details, and for how many days from seeding each stays valid
#: (None: not verified). reviewer2's run out within 30 days, for the dashboard.
REGISTRATIONS = {
    "reviewer": ("GMC", "7012345", 400),
    "reviewer2": ("GMC", "7054321", 20),
    "reviewer3": ("GMC", "7099999", None),
}

#: What the demo reviewers sign with each approval.
DEMO_CONFLICT = {"declared": False}

SOURCE_FILES = ("ms-sources.json", "retracted-example.json")

#: Evidence types, chosen for what each study actually is.
EVIDENCE_TYPES = {
    # Autopsy tissue from a small number of patients: a neuropathological case
    # series, which evidence hierarchies rank with case reports.
    "trapp1998": Source.EvidenceType.CASE_REPORT,
    # A larger cross-sectional autopsy study: no follow-up, so not a cohort.
    "frischer2009": Source.EvidenceType.OTHER,
    # A consensus statement with recommendations: guideline-type evidence.
    "sastregarriga2020": Source.EvidenceType.GUIDELINE,
    # A case series of twelve children (retracted).
    "wakefield1998": Source.EvidenceType.CASE_REPORT,
}

WAKEFIELD_RETRACTION = {
    "notice_doi": "10.1016/S0140-6736(10)60175-4",
    "notice_pmid": "20137807",
    "notice_date": "2010-02-06",
}

WAKEFIELD_REASON = (
    "This article explains what a retraction is, using this retracted "
    "paper as the example. It is not cited as evidence for any of its claims."
)

CHANGES_COMMENT = (
    "Good start, but the last section is too short for patients. Please explain in plain "
    "words what a lesion and a nerve fibre are, and say that the 1998 study examined brain "
    "tissue after death, so it shows what the damage looks like, not what will happen to "
    "any one person."
)


@dataclass(frozen=True)
class DemoArticle:
    """One demo article: its Markdown file and the workflow state to drive it into."""

    file: str
    state: str
    author: str = "editor"
    reviewer: str = "reviewer"
    comment: str = ""
    intentional: dict = field(default_factory=dict)
    assign: tuple[str, ...] = ()
    # After approval: "overdue" (review dates moved back), "edited" (a new working
    # revision, live stays) or "archived".
    then: str = ""


ARTICLES = (
    DemoArticle("demyelination.md", "approved"),
    DemoArticle("axonal-loss-patients.md", "approved", then="overdue"),
    DemoArticle("axonal-loss-clinicians.md", "approved", reviewer="reviewer2", then="edited"),
    DemoArticle("disease-modifying-therapy.md", "approved", author="editor2", reviewer="reviewer2"),
    DemoArticle("retractions.md", "approved", intentional={"wakefield1998": WAKEFIELD_REASON}),
    DemoArticle("lesions-2023.md", "approved", then="archived"),
    DemoArticle("atrophy-measures-clinicians.md", "under_review", reviewer="reviewer2"),
    DemoArticle("mri-brain-volume-patients.md", "submitted", assign=("reviewer",)),
    DemoArticle("relapses.md", "changes_requested", comment=CHANGES_COMMENT),
    DemoArticle("inflammation-progressive-ms.md", "draft", author="editor2"),
)

POLICY_BODY = """\
## How we write and review

Every article is drafted by an editor and checked by a named medical reviewer
before readers can see it. Reviewers confirm that each claim is supported by
the sources cited, that the language suits the intended readers, and that no
retracted source is relied on. Nobody may approve an article they wrote or
edited.

## Keeping articles current

Each article has a review date. When it passes, the article is flagged for
review again, and readers see a notice until a reviewer re-checks it. When a
cited source is retracted or corrected, every article citing it is flagged.

## Medical advisory board

The reviewers listed below form our medical advisory board. In this demo
installation they are fictional people.
"""

POLICY_DISCLAIMER = (
    "This site provides general information, not medical advice. It does not replace a "
    "consultation with a doctor or your MS team. Demo content: the reviewers named on "
    "this installation are fictional."
)


def read_article(path: Path) -> dict:
    """Front matter (``key: value`` lines between ``---``) and the Markdown body."""
    text = path.read_text(encoding="utf-8")
    _, header, body = text.split("---\n", 2)
    meta = {}
    for line in header.splitlines():
        if line.strip():
            key, _, value = line.partition(": ")
            meta[key.strip()] = value.strip()
    meta["body"] = body.strip() + "\n"
    return meta


class Command(BaseCommand):
    help = (
        "Create demo accounts, sources and multiple-sclerosis articles in every workflow "
        "state. Idempotent. New accounts get random passwords, printed once, unless "
        f"--password is given (alone it means the documented {FIXED_DEMO_PASSWORD!r})."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--password",
            nargs="?",
            const=FIXED_DEMO_PASSWORD,
            default=None,
            help="Use this password for new demo accounts instead of random ones.",
        )

    def handle(self, *args, password=None, **options):
        missing = [name for name in SOURCE_FILES if not (DEMO_DIR / name).exists()]
        if missing:
            raise CommandError(f"Demo files missing from {DEMO_DIR}: {', '.join(missing)}")
        # All or nothing: a failure halfway leaves no partial demo to trip the next run.
        with transaction.atomic():
            created_accounts = self._accounts(password)
            users = {
                u.username: u
                for u in get_user_model().objects.filter(
                    username__in=[name for name, _ in ACCOUNTS]
                )
            }
            self._sources(users)
            self._articles(users)
            self._policy(users["managing"])
        if created_accounts:
            self._print_credentials(created_accounts)
        self.stdout.write(self.style.SUCCESS("Demo data is in place."))

    # --- accounts ---------------------------------------------------------------------

    def _accounts(self, password: str | None) -> list[tuple[str, str, str]]:
        user_model = get_user_model()
        created = []
        for username, group in ACCOUNTS:
            user = user_model.objects.filter(username=username).first()
            if user is None:
                secret = password or secrets.token_urlsafe(12)
                email = f"{username}@example.org"
                if group is None:
                    user = user_model.objects.create_superuser(username, email, secret)
                else:
                    user = user_model.objects.create_user(username, email, secret)
                created.append((username, group or "superuser", secret))
            if group is not None:
                user.groups.add(Group.objects.get(name=group))
        managing = user_model.objects.get(username="managing")
        for username, profile in PROFILES.items():
            body, number, valid_days = REGISTRATIONS[username]
            today = timezone.localdate()
            verified = valid_days is not None
            ReviewerProfile.objects.get_or_create(
                user=user_model.objects.get(username=username),
                defaults={
                    **profile,
                    "registration_body": body,
                    "registration_number": number,
                    "credentials_verified_at": timezone.now() if verified else None,
                    "credentials_verified_by": managing if verified else None,
                    "credentials_expire_on": (
                        today + timedelta(days=valid_days) if verified else None
                    ),
                },
            )
        return created

    def _print_credentials(self, created: list[tuple[str, str, str]]) -> None:
        lines = [f"  {username:<10} {role:<17} {secret}" for username, role, secret in created]
        path = Path(settings.REVIEWSITE_DEMO_ACCOUNTS_FILE)
        # Readable by this user only: the file holds passwords. `make run` prints it
        # again when the server is up, after the install output has scrolled away.
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write("Demo accounts (username, role, password):\n" + "\n".join(lines) + "\n")
        self.stdout.write("")
        self.stdout.write(
            f"Demo accounts created (passwords are shown only this once; kept in {path}):"
        )
        for line in lines:
            self.stdout.write(line)
        self.stdout.write("")

    # --- sources ------------------------------------------------------------------------

    def _sources(self, users: dict) -> None:
        editor, reviewer = users["editor"], users["reviewer"]
        notes = {}
        for name in SOURCE_FILES:
            items = json.loads((DEMO_DIR / name).read_text(encoding="utf-8"))
            notes.update({item["id"]: item.get("note", "") for item in items})
            new = [item for item in items if not _source_exists(item)]
            if not new:
                continue
            report = source_import(
                actor=editor, data=json.dumps(new).encode("utf-8"), filename=name
            )
            refused = [e for e in report["entries"] if e["outcome"] == "refused"]
            if refused:
                raise CommandError(f"{name}: entries refused: {refused}")
            self.stdout.write(
                f"Sources from {name}: {report['created']} created, {report['merged']} merged."
            )
        for source in Source.objects.filter(key__in=EVIDENCE_TYPES):
            if source.evidence_type != EVIDENCE_TYPES[source.key]:
                source_update(
                    source_id=source.pk,
                    actor=editor,
                    data={"evidence_type": EVIDENCE_TYPES[source.key]},
                )
        wakefield = Source.objects.get(key="wakefield1998")
        if wakefield.status != Source.Status.RETRACTED:
            source_set_status(
                source_id=wakefield.pk,
                actor=reviewer,
                status=Source.Status.RETRACTED,
                reason=notes["wakefield1998"],
                **WAKEFIELD_RETRACTION,
            )
            self.stdout.write("Marked wakefield1998 retracted.")

    # --- articles -----------------------------------------------------------------------

    def _articles(self, users: dict) -> None:
        for plan in ARTICLES:
            meta = read_article(DEMO_DIR / plan.file)
            if Article.objects.filter(slug=meta["slug"]).exists():
                continue
            article = self._drive(plan, meta, users)
            self.stdout.write(f"Article {article.slug}: {article.status}")

    def _drive(self, plan: DemoArticle, meta: dict, users: dict) -> Article:
        author, reviewer = users[plan.author], users[plan.reviewer]
        article = services.article_create(
            actor=author,
            title=meta["title"],
            summary=meta.get("summary", ""),
            body=meta["body"],
            audience=meta.get("audience", Article.Audience.GENERAL),
            topic=meta.get("topic", ""),
            variant_group=meta.get("variant_group", ""),
            slug=meta["slug"],
            intentional=plan.intentional,
        )
        pk = article.pk
        if plan.assign:
            services.article_assign_reviewers(
                article_id=pk,
                reviewer_ids=[users[name].pk for name in plan.assign],
                actor=users["managing"],
            )
        if plan.state == "draft":
            return article
        article = services.article_submit(article_id=pk, actor=author)
        if plan.state == "submitted":
            return article
        article = services.article_start_review(article_id=pk, actor=reviewer)
        if plan.state == "under_review":
            return article
        if plan.state == "changes_requested":
            return services.article_request_changes(
                article_id=pk, actor=reviewer, comment=plan.comment
            )
        article = services.article_approve(
            article_id=pk,
            actor=reviewer,
            comment="Checked against the cited sources.",
            checklist={item.key: True for item in checklist_for(article.audience)},
            conflict_of_interest=DEMO_CONFLICT,
        )
        if plan.then == "overdue":
            self._make_overdue(article)
        elif plan.then == "edited":
            addition = (DEMO_DIR / plan.file.replace(".md", ".revision.md")).read_text("utf-8")
            article = services.article_edit(
                article_id=pk,
                actor=users["editor2"],
                changes={"body": f"{meta['body'].rstrip()}\n\n{addition.strip()}\n"},
            )
        elif plan.then == "archived":
            article = services.article_archive(
                article_id=pk,
                actor=users["managing"],
                comment="Replaced by 'Demyelination in multiple sclerosis: what it means'.",
            )
        return Article.objects.get(pk=pk)

    @staticmethod
    def _make_overdue(article: Article) -> None:
        # Demo data only: pretend the approval happened 400 days ago so the review is
        # overdue. The flag is what flag_stale would set for these dates.
        reviewed = timezone.now() - timedelta(days=400)
        Article.objects.filter(pk=article.pk).update(
            last_updated=reviewed,
            last_reviewed=reviewed,
            next_review_due=reviewed + timedelta(days=article.effective_review_interval_days),
            flag_review_overdue=True,
            flag_review_due_soon=False,
        )

    # --- policy -------------------------------------------------------------------------

    @staticmethod
    def _policy(managing) -> None:
        if not EditorialPolicy.objects.exists():
            EditorialPolicy.objects.create(
                body=POLICY_BODY, disclaimer=POLICY_DISCLAIMER, updated_by=managing
            )


def _source_exists(item: dict) -> bool:
    """Whether the library already holds this CSL-JSON item (same key, DOI or PMID)."""
    condition = Q(key=item.get("id", ""))
    try:
        if item.get("DOI"):
            condition |= Q(doi=normalize_doi(item["DOI"]))
    except InvalidIdentifier:
        pass
    if item.get("PMID"):
        condition |= Q(pmid=str(item["PMID"]))
    return Source.objects.filter(condition).exists()
