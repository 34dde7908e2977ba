"""Affected claims: the sentences of a revision that cite a source that is not active."""

from __future__ import annotations

from collections.abc import Iterable

from articles.models import ArticleRevision, RevisionCitation
from citations.claims import cited_sentences
from citations.identifiers import InvalidIdentifier, normalize_doi, normalize_pmid
from citations.models import Source

__all__ = ["affected_claims", "claims_for", "claims_by_revision"]


def _key_matches(key: str, source: Source) -> bool:
    """Whether a marker key names this source (a citation key, ``doi:…`` or ``pmid:…``)."""
    lowered = key.lower()
    try:
        if lowered.startswith("doi:"):
            return bool(source.doi) and normalize_doi(key[4:]) == source.doi
        if lowered.startswith("pmid:"):
            return bool(source.pmid) and normalize_pmid(key[5:]) == source.pmid
    except InvalidIdentifier:
        return False
    return key == source.key


def claims_for(
    body: str, citations: Iterable[RevisionCitation], *, with_key: bool = False
) -> list[dict]:
    """``affected_claims`` of a body given its citations (with ``source`` loaded).

    Each sentence citing a non-active source: ``{"source", "status", "section",
    "sentence", "line", "column"}`` (and the source's ``key`` with ``with_key``). No
    parsing at all when every source is active.
    """
    flagged = [c.source for c in citations if c.source.status != Source.Status.ACTIVE]
    if not flagged:
        return []
    claims = []
    for cited in cited_sentences(body):
        seen = set()
        for key in cited.keys:
            for source in flagged:
                if source.pk not in seen and _key_matches(key, source):
                    seen.add(source.pk)
                    claim = {
                        "source": source.pk,
                        "status": source.status,
                        "section": cited.section,
                        "sentence": cited.sentence,
                        "line": cited.line,
                        "column": cited.column,
                    }
                    if with_key:
                        claim["key"] = source.key
                    claims.append(claim)
    return claims


def affected_claims(revision: ArticleRevision | None) -> list[dict]:
    """The revision's affected claims (one query for its citations and their sources)."""
    if revision is None:
        return []
    citations = RevisionCitation.objects.filter(revision=revision).select_related("source")
    return claims_for(revision.body, citations.only(*CLAIM_COLUMNS))


def claims_by_revision(
    revision_ids: Iterable[int], *, with_key: bool = False
) -> dict[int, list[dict]]:
    """Affected claims of many revisions in two queries (only those citing a flagged source)."""
    flagged = (
        RevisionCitation.objects.filter(revision_id__in=list(revision_ids))
        .exclude(source__status=Source.Status.ACTIVE)
        .select_related("source")
        .only(*CLAIM_COLUMNS)
    )
    by_revision: dict[int, list[RevisionCitation]] = {}
    for citation in flagged:
        by_revision.setdefault(citation.revision_id, []).append(citation)
    if not by_revision:
        return {}
    bodies = ArticleRevision.objects.filter(pk__in=list(by_revision)).values_list("pk", "body")
    return {pk: claims_for(body, by_revision[pk], with_key=with_key) for pk, body in bodies}


#: What claims_for reads of a citation and its source (for ``only()`` in prefetches).
CLAIM_COLUMNS = (
    "id",
    "revision_id",
    "number",
    "source_id",
    "key",
    "source__id",
    "source__key",
    "source__doi",
    "source__pmid",
    "source__status",
)
