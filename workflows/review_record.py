"""What a reviewer signs with an approval or a re-certification, checked and captured.

``review_record`` validates the checklist and the conflict-of-interest declaration
and captures the reviewer's credentials and the state of every cited source at that
moment, as plain data stored on the ``Approval``. The services call it inside the
transition's transaction, after the table's checks.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction

from articles.models import Article, ArticleRevision, ReviewerProfile, RevisionCitation
from reviewsite.errors import ActionForbidden
from reviewsite.roles import is_managing_editor

from .models import ChecklistItem


def checklist_for(audience: str) -> list[ChecklistItem]:
    """The active checklist items asked for an article written for ``audience``."""
    return [item for item in ChecklistItem.objects.active() if item.applies_to(audience)]


@dataclass(frozen=True)
class ReviewRecord:
    """The structured part of an approval, ready to store."""

    checklist: list[dict]
    conflict_of_interest: dict
    credentials: dict
    evidence: list[dict]

    def as_fields(self) -> dict:
        return {
            "checklist": self.checklist,
            "conflict_of_interest": self.conflict_of_interest,
            "credentials": self.credentials,
            "evidence": self.evidence,
        }


def _checked_checklist(audience: str, checklist) -> tuple[list[dict], list[str]]:
    items = checklist_for(audience)
    if checklist is None:
        return [], ["Send the checklist: an object of item keys, each true when confirmed."]
    if not isinstance(checklist, dict) or not all(isinstance(k, str) for k in checklist):
        return [], ["Give an object mapping each checklist item's key to true."]
    known = {item.key for item in items}
    problems = []
    unknown = sorted(set(checklist) - known)
    if unknown:
        problems.append(f"Not an item of this article's checklist: {', '.join(unknown)}.")
    not_boolean = sorted(k for k, v in checklist.items() if k in known and not isinstance(v, bool))
    if not_boolean:
        problems.append(f"Give true or false for: {', '.join(not_boolean)}.")
    missing = [item.key for item in items if item.required and checklist.get(item.key) is not True]
    if missing:
        problems.append(f"Confirm every required item; not confirmed: {', '.join(missing)}.")
    stored = [
        {
            "key": item.key,
            "text": item.text,
            "required": item.required,
            "confirmed": checklist.get(item.key) is True,
        }
        for item in items
    ]
    return stored, problems


def _checked_conflict(declaration) -> tuple[dict, list[str]]:
    if declaration is None:
        return {}, [
            'Declare conflicts of interest: {"declared": false} or '
            '{"declared": true, "statement": "..."}.'
        ]
    if not isinstance(declaration, dict) or not isinstance(declaration.get("declared"), bool):
        return {}, ['Give an object with "declared": true or false.']
    unknown = sorted(set(declaration) - {"declared", "statement"})
    if unknown:
        return {}, [f"Unknown field: {', '.join(unknown)}."]
    statement = declaration.get("statement", "")
    if not isinstance(statement, str):
        return {}, ["The statement must be text."]
    statement = statement.strip()
    if declaration["declared"] and not statement:
        return {}, ["A declared conflict of interest needs a statement saying what it is."]
    if len(statement) > 2000:
        return {}, ["Keep the statement under 2000 characters."]
    if not declaration["declared"]:
        statement = ""
    return {"declared": declaration["declared"], "statement": statement}, []


def _iso(value) -> str | None:
    return value.isoformat() if value is not None else None


def evidence_snapshot(revision: ArticleRevision) -> list[dict]:
    """Each source ``revision`` cites, with its status and last check now (one query).

    ``last_checked`` comes from the source integrity watch when the source has it;
    until then it is null and ``status_changed_at`` says when the status was last set.
    """
    citations = RevisionCitation.objects.filter(revision=revision).select_related("source")
    return [
        {
            "number": c.number,
            "key": c.key,
            "source": c.source_id,
            "title": c.source.title,
            "doi": c.source.doi,
            "pmid": c.source.pmid,
            "status": c.source.status,
            "status_changed_at": _iso(c.source.status_changed_at),
            "last_checked": _iso(getattr(c.source, "last_checked", None)),
            "intentional_reason": c.intentional_reason,
        }
        for c in citations.order_by("number")
    ]


def review_record(
    *,
    article: Article,
    revision: ArticleRevision,
    profile: ReviewerProfile,
    checklist,
    conflict_of_interest,
) -> ReviewRecord:
    """Validate what the reviewer signs (400 naming each problem) and capture the rest."""
    stored_checklist, checklist_problems = _checked_checklist(article.audience, checklist)
    coi, coi_problems = _checked_conflict(conflict_of_interest)
    problems = {}
    if checklist_problems:
        problems["checklist"] = checklist_problems
    if coi_problems:
        problems["conflict_of_interest"] = coi_problems
    if problems:
        raise ValidationError(problems)
    return ReviewRecord(
        checklist=stored_checklist,
        conflict_of_interest=coi,
        credentials=profile.credentials_record(),
        evidence=evidence_snapshot(revision),
    )


def submit_warning(article: Article) -> str:
    """The readability warning for the working revision (a warning, never a refusal)."""
    from articles.readability import readability_warning

    revision = article.latest_revision
    return readability_warning(revision.readability if revision else None, article.audience)


@transaction.atomic
def checklist_item_save(
    *,
    actor,
    key: str,
    text: str,
    required: bool = True,
    audiences: list[str] | None = None,
    active: bool = True,
    position: int = 0,
) -> ChecklistItem:
    """Add or change one checklist item (Managing editors). Items are never deleted,
    only deactivated: approvals keep the text they were signed with anyway."""
    if not is_managing_editor(actor):
        raise ActionForbidden("Only Managing editors may change the checklist.")
    audiences = list(audiences or [])
    unknown = sorted(set(audiences) - set(Article.Audience.values))
    if unknown:
        raise ValidationError({"audiences": [f"Not an audience: {', '.join(unknown)}."]})
    item = ChecklistItem.objects.select_for_update().filter(key=key).first() or ChecklistItem(
        key=key
    )
    item.text, item.required, item.audiences = text.strip(), required, audiences
    item.active, item.position = active, position
    item.full_clean()
    item.save()
    return item
