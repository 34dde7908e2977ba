"""Seed a workspace of realistic size for the workspace-page benchmark and the load test.

``seed(articles=1000, sources=2000)`` (after ``django.setup()`` and ``migrate``) makes:

* users: managing editors, editors and verified reviewers (usernames prefixed ``ws-``,
  each made once: a second call on the same database reuses nothing and refuses);
* ``sources`` sources in one ``bulk_create`` (keys ``ws-src-<n>``, a DOI and PMID each);
* ``articles`` articles: the first ``through_services`` (200) through the real workflow
  services, each citing three sources, spread over the states a real workspace holds:
  approved (half), approved with a new revision under review again (so the review page
  has a diff), draft, submitted, under review and changes requested; the services write
  the audit trail, assignments and notifications as they would for users. The rest are
  approved copies of those, in one INSERT (about 0.17 s an article through the services
  would make 1,000 take three minutes);
* one finished import job and one article of every state per editor.

Returns ids and names the callers need (``Seeded``). Mail goes where the settings say
(the callers run with Celery eager and the locmem backend while seeding).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

PREFIX = "ws"
STATES = (
    ["approved"] * 10
    + ["rereview"] * 2
    + ["draft"] * 2
    + ["submitted"] * 2
    + ["under_review"] * 2
    + ["changes_requested"] * 2
)


@dataclass
class Seeded:
    managing: list = field(default_factory=list)
    editors: list = field(default_factory=list)
    reviewers: list = field(default_factory=list)
    by_state: dict = field(default_factory=dict)  # state -> [article ids]
    slugs: list = field(default_factory=list)  # approved articles' reader URLs
    source_ids: list = field(default_factory=list)
    reviewer_of: dict = field(default_factory=dict)  # article id -> its reviewer's id
    owner_of: dict = field(default_factory=dict)  # article id -> its editor's id
    import_job_id: int | None = None
    password: str = ""


def _users(seeded: Seeded, *, managing: int, editors: int, reviewers: int, password: str):
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.utils import timezone

    from articles.models import ReviewerProfile
    from reviewsite.roles import EDITORS, MANAGING_EDITORS, REVIEWERS

    users = get_user_model().objects

    def make(name: str, group: str):
        user = users.create_user(name, f"{name}@example.org", password)
        user.groups.add(Group.objects.get(name=group))
        return user

    seeded.managing = [make(f"{PREFIX}-managing-{n}", MANAGING_EDITORS) for n in range(managing)]
    seeded.editors = [make(f"{PREFIX}-editor-{n}", EDITORS) for n in range(editors)]
    seeded.reviewers = [make(f"{PREFIX}-reviewer-{n}", REVIEWERS) for n in range(reviewers)]
    for n, reviewer in enumerate(seeded.reviewers):
        ReviewerProfile.objects.create(
            user=reviewer,
            display_name=f"Dr Reviewer {n}",
            credentials="MD, PhD",
            specialty="Neurology",
            registration_body="GMC",
            registration_number=f"9{n:06d}",
            credentials_verified_at=timezone.now(),
        )


def _sources(seeded: Seeded, count: int) -> None:
    from citations.models import Source

    rows = [
        Source(
            key=f"{PREFIX}-src-{n}",
            type="article-journal",
            title=f"Axonal loss and relapse rates in multiple sclerosis, cohort {n}",
            authors=[{"family": "Trapp", "given": "B. D."}, {"family": "Peterson", "given": "J."}],
            container_title="The New England Journal of Medicine",
            issued="2019-05",
            volume="338",
            issue="5",
            pages="278-285",
            doi=f"10.5555/ws-bench.{n}",
            pmid=str(80000000 + n),
            evidence_type=Source.EvidenceType.COHORT,
            title_signature=f"axonal loss cohort {n}|2019|trapp",
        )
        for n in range(count)
    ]
    Source.objects.bulk_create(rows, batch_size=1000)
    seeded.source_ids = list(
        Source.objects.filter(key__startswith=f"{PREFIX}-src-").values_list("pk", flat=True)
    )


def _body(n: int, sources: int, *, revised: bool = False) -> str:
    keys = [f"{PREFIX}-src-{(n * 3 + k) % sources}" for k in range(3)]
    extra = "\n\nA revised paragraph on treatment response." if revised else ""
    return (
        f"## Background\n\nRelapses in cohort {n} were fewer on treatment [@{keys[0]}].\n\n"
        f"## Evidence\n\nAxonal loss is seen early [@{keys[1]}; @{keys[2]}]. MRI lesion "
        f"counts correlate with disability [@{keys[2]}].{extra}\n"
    )


def _article(seeded: Seeded, n: int, state: str, sources: int) -> int:
    from workflows import services
    from workflows.review_record import checklist_for

    editor = seeded.editors[n % len(seeded.editors)]
    reviewer = seeded.reviewers[n % len(seeded.reviewers)]
    article = services.article_create(
        actor=editor,
        title=f"Relapsing multiple sclerosis, article {n}",
        summary=f"What cohort {n} tells clinicians about relapses.",
        body=_body(n, sources),
        topic=["relapses", "imaging", "treatment"][n % 3],
    )
    pk = article.pk
    seeded.reviewer_of[pk], seeded.owner_of[pk] = reviewer.pk, editor.pk

    def approve():
        services.article_approve(
            article_id=pk,
            actor=reviewer,
            checklist={item.key: True for item in checklist_for(article.audience)},
            conflict_of_interest={"declared": False},
        )

    if state == "draft":
        return pk
    services.article_submit(article_id=pk, actor=editor)
    if state == "submitted":
        return pk
    services.article_start_review(article_id=pk, actor=reviewer)
    if state == "under_review":
        return pk
    if state == "changes_requested":
        services.article_request_changes(
            article_id=pk, actor=reviewer, comment="Please cite the trial for the dose."
        )
        return pk
    approve()
    if state == "rereview":
        services.article_edit(
            article_id=pk, actor=editor, changes={"body": _body(n, sources, revised=True)}
        )
        services.article_submit(article_id=pk, actor=editor)
        services.article_start_review(article_id=pk, actor=reviewer)
    return pk


def _clones(approved: list[int], count: int) -> list[int]:
    """``count`` more approved articles in one INSERT, each a copy of one made through the
    services (sharing its live revision: lists and counts see them as any other)."""
    from articles.models import Article

    templates = list(Article.objects.filter(pk__in=approved))
    skip = {"id", "slug", "created_at", "updated_at"}
    fields = [f.attname for f in Article._meta.concrete_fields if f.name not in skip]
    rows = []
    for n in range(count):
        template = templates[n % len(templates)]
        values = {f: getattr(template, f) for f in fields}
        rows.append(Article(slug=f"{template.slug}-copy-{n}", **values))
    made = Article.objects.bulk_create(rows, batch_size=500)
    return [a.pk for a in made]


def seed(
    *,
    articles: int = 1000,
    sources: int = 2000,
    managing: int = 1,
    editors: int = 5,
    reviewers: int = 4,
    password: str = "bench-password-not-secret",
    through_services: int = 200,
) -> Seeded:
    from articles.models import Article, EditorialPolicy
    from citations.models import ImportJob

    seeded = Seeded(password=password)
    EditorialPolicy.objects.get_or_create(body="## Policy\n\nReviewed.", disclaimer="Not advice.")
    _users(seeded, managing=managing, editors=editors, reviewers=reviewers, password=password)
    _sources(seeded, sources)
    made = min(articles, through_services)
    for n, state in zip(range(made), itertools.cycle(STATES), strict=False):
        seeded.by_state.setdefault(state, []).append(_article(seeded, n, state, sources))
    if articles > made:
        seeded.by_state["approved"] += _clones(seeded.by_state["approved"], articles - made)
    approved = seeded.by_state.get("approved", [])
    seeded.slugs = [
        a.get_absolute_url() for a in Article.objects.filter(pk__in=approved).only("slug")
    ]
    job = ImportJob.objects.create(
        created_by=seeded.editors[0],
        filename="library.bib",
        format="bibtex",
        state=ImportJob.State.DONE,
        processed=120,
        total=120,
        report={"created": 100, "merged": 20, "refused": [], "entries": []},
    )
    seeded.import_job_id = job.pk
    return seeded
