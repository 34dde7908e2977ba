"""factory_boy factories shared by every test package.

Each call makes a new user: a username given twice is an IntegrityError, never a
silent reuse of the first user.
"""

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils import timezone

from articles.models import Article, ReviewerProfile
from citations.models import Source
from reviewsite.roles import EDITORS, MANAGING_EDITORS, REVIEWERS
from workflows.models import ChecklistItem


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.org")
    password = factory.django.Password("correct horse battery staple")

    @factory.post_generation
    def groups(self, create, extracted, **kwargs):
        for name in extracted or ():
            # get_or_create: transactional tests flush the groups the data migration made.
            self.groups.add(Group.objects.get_or_create(name=name)[0])


def editor(**kwargs):
    """A user in Editors."""
    return UserFactory(groups=[EDITORS], **kwargs)


def reviewer(*, verified: bool = True, expire_on=None, **kwargs):
    """A user in Reviewers, with a profile readers see and, unless ``verified=False``,
    credentials a managing editor verified (so they may approve and re-certify)."""
    user = UserFactory(groups=[REVIEWERS], **kwargs)
    ReviewerProfile.objects.get_or_create(
        user=user,
        defaults={
            "display_name": f"Dr {user.username.title()}",
            "credentials": "MD",
            "specialty": "Neurology",
            "registration_body": "GMC",
            "registration_number": f"7{user.pk:06d}",
            "credentials_verified_at": timezone.now() if verified else None,
            "credentials_expire_on": expire_on,
        },
    )
    return user


#: The checklist the data migration installs (PRODUCT.md, Review governance).
DEFAULT_CHECKLIST = {
    "claims_supported": "Every medical claim is supported by the cited sources.",
    "numbers_checked": "Doses, figures and statistics match the sources.",
    "sources_current": "No retracted, withdrawn or superseded source is relied on.",
    "audience_language": "The language suits the intended audience.",
}


def default_checklist() -> list[ChecklistItem]:
    """The default items (transactional tests flush what the data migration made)."""
    return [
        ChecklistItem.objects.get_or_create(
            key=key, defaults={"text": text, "required": True, "position": n}
        )[0]
        for n, (key, text) in enumerate(DEFAULT_CHECKLIST.items())
    ]


def managing_editor(**kwargs):
    """A user in Managing editors."""
    return UserFactory(groups=[MANAGING_EDITORS], **kwargs)


class SourceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Source

    key = factory.Sequence(lambda n: f"source{n}")
    type = "article-journal"
    title = factory.Sequence(lambda n: f"A study of demyelination, part {n}")
    authors = factory.LazyFunction(lambda: [{"family": "Trapp", "given": "B. D."}])
    container_title = "Journal of Neurology"
    issued = "2020-03"
    volume = "12"
    issue = "3"
    pages = "100-110"
    doi = factory.Sequence(lambda n: f"10.5555/test.{n}")
    pmid = factory.Sequence(lambda n: str(90000000 + n))
    evidence_type = Source.EvidenceType.COHORT
    title_signature = factory.LazyAttribute(lambda s: f"{s.title.lower()}|2020|trapp")


__all__ = [
    "Article",
    "SourceFactory",
    "UserFactory",
    "default_checklist",
    "editor",
    "managing_editor",
    "reviewer",
]
