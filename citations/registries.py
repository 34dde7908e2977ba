"""What Crossref and PubMed say about a work's standing: retracted, corrected, concerned.

Two halves, neither of which touches the database:

* **Readers** turn one registry record into a :class:`Finding` (the most severe
  update the record asserts about *this* work, with its notice). Crossref:
  ``updated-by`` entries on the original (including those whose ``source`` is
  ``retraction-watch``) and passive ``relation`` names; ``update-to`` says the
  record is itself a notice about other works, so it never marks this work.
  PubMed (efetch XML): ``CommentsCorrections`` of type ``RetractionIn``,
  ``ExpressionOfConcernIn``, ``ErratumIn``, ``UpdateIn`` and the publication type
  "Retracted Publication".
* **Clients** ask the registries politely: one ``requests`` session per registry,
  retries with exponential backoff on connection errors, 429 and 5xx (urllib3's
  ``Retry``, which honours ``Retry-After``, capped here so one answer cannot stall a
  run), a timeout per request, and a pause between requests that follows the rate
  limit the registry announces in its headers.

A retraction *notice* is never taken for the paper it retracts. Publishers sometimes
deposit the relation both ways (the notice's ``updated-by`` names the paper and the
paper's ``update-to`` names the notice, as for 10.1016/S0140-6736(20)31324-6 and the
paper it retracts); such a reciprocal entry is resolved by Retraction Watch's
curated direction when there is one, else by the titles ("Retraction—…" is a notice,
"RETRACTED: …" the paper), and dropped when neither tells.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import requests
from lxml import etree
from requests.adapters import HTTPAdapter
from urllib3 import exceptions as urllib3_exceptions
from urllib3.util.retry import Retry

from citations.identifiers import InvalidIdentifier, normalize_doi, normalize_issued

__all__ = [
    "CROSSREF",
    "PUBMED",
    "PUBMED_BATCH_LIMIT",
    "SEVERITY",
    "Answer",
    "Finding",
    "RegistryClient",
    "crossref_finding",
    "crossref_status",
    "fetch_crossref",
    "fetch_pubmed",
    "pubmed_findings",
]

CROSSREF, PUBMED = "crossref", "pubmed"
#: E-utilities takes up to 200 ids in one GET comfortably (NCBI's guidance for efetch).
PUBMED_BATCH_LIMIT = 200

#: How severe a status is; a registry's finding may raise a source's status, never lower it.
SEVERITY = {
    "active": 0,
    "corrected": 1,
    "superseded": 2,
    "expression_of_concern": 3,
    "withdrawn": 4,
    "retracted": 4,
}

_CROSSREF_TYPES = {
    "retraction": "retracted",
    "withdrawal": "withdrawn",
    "removal": "withdrawn",
    "expression_of_concern": "expression_of_concern",
    "expression-of-concern": "expression_of_concern",
    "correction": "corrected",
    "erratum": "corrected",
    "corrigendum": "corrected",
    "addendum": "corrected",
    # Part of the paper stands; flag it loudly without claiming it was retracted.
    "partial_retraction": "corrected",
    "new_version": "superseded",
    "new_edition": "superseded",
}
# Passive relation names (this work is the object): "is-retracted-by" etc.
_RELATION_TYPES = {
    "is-retracted-by": "retracted",
    "is-withdrawn-by": "withdrawn",
    "is-corrected-by": "corrected",
    "has-expression-of-concern": "expression_of_concern",
    "is-replaced-by": "superseded",
}
_PUBMED_REF_TYPES = {
    "RetractionIn": "retracted",
    "ExpressionOfConcernIn": "expression_of_concern",
    "ErratumIn": "corrected",
    "UpdateIn": "superseded",
}
_PUBMED_LABELS = {
    "RetractionIn": "Retraction in",
    "ExpressionOfConcernIn": "Expression of concern in",
    "ErratumIn": "Erratum in",
    "UpdateIn": "Update in",
}
RETRACTED_PUBLICATION = "Retracted Publication"

# "Retraction—…", "Retraction notice: …", "Expression of concern: …": the record is a notice.
_NOTICE_TITLE = re.compile(
    r"^\s*(?:notice\s+of\s+)?(?:retraction|withdrawal|expression\s+of\s+concern|"
    r"correction|erratum|corrigendum)(?:\s+notice)?\s*(?:[-—–:.]|to\b|of\b|for\b)",
    re.IGNORECASE,
)
# "RETRACTED: …", "WITHDRAWN: …": the record is the paper itself, marked by its publisher.
_MARKED_TITLE = re.compile(r"^\s*(?:retracted|withdrawn)\s*(?:article)?\s*:", re.IGNORECASE)
_MONTHS = {
    m: i
    for i, m in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1
    )
}
_REF_DATE = re.compile(r"\b(\d{4})(?:\s+([A-Za-z]{3})[a-z]*)?(?:\s+(\d{1,2}))?\b")
_REF_DOI = re.compile(r"doi:\s*(10\.\S+?)\.?(?:\s|$)", re.IGNORECASE)


# --- findings -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    """The standing a registry record gives a work: a status and the notice behind it."""

    status: str = "active"
    notice_doi: str = ""
    notice_pmid: str = ""
    notice_date: str = ""  # ISO date, partial allowed, or ""
    label: str = ""  # "Retraction (source: retraction-watch)", "Retraction in Lancet. 2010 …"
    notes: tuple[str, ...] = ()  # what the reader set aside and why (reciprocal notices, …)

    @property
    def severity(self) -> int:
        """Rank of the status (SEVERITY)."""
        return SEVERITY.get(self.status, 0)

    def notice_text(self) -> str:
        """The notice as people read it: label, identifiers and date."""
        parts = [self.label] if self.label else []
        ids = [f"doi:{self.notice_doi}" if self.notice_doi else "",
               f"PMID {self.notice_pmid}" if self.notice_pmid else ""]  # fmt: skip
        ids = [i for i in ids if i]
        if ids:
            parts.append(", ".join(ids))
        if self.notice_date:
            parts.append(f"dated {self.notice_date}")
        return "; ".join(parts)


@dataclass(frozen=True)
class _Update:
    status: str
    doi: str
    date: str
    kind: str
    source: str


def _most_severe(candidates: Iterable[Finding]) -> Finding | None:
    """The most severe finding; among equals the curated, then the most recent notice."""
    best = None
    for candidate in candidates:
        if best is None or _rank(candidate) > _rank(best):
            best = candidate
    return best


def _rank(finding: Finding) -> tuple:
    curated = "retraction-watch" in finding.label
    return (finding.severity, curated, finding.notice_date, finding.notice_doi)


def _norm_doi(value: Any) -> str:
    try:
        return normalize_doi(str(value or ""))
    except InvalidIdentifier:
        return ""


def _first(value: Any) -> str:
    if isinstance(value, list):
        return str(value[0]) if value else ""
    return "" if value is None else str(value)


def _updates(entries: Any) -> list[_Update]:
    updates = []
    for entry in entries or []:
        if not isinstance(entry, Mapping):
            continue
        kind = str(entry.get("type") or "").lower()
        status = _CROSSREF_TYPES.get(kind)
        doi = _norm_doi(entry.get("DOI"))
        if status is None or not doi:
            continue
        updated = entry.get("updated")
        date = normalize_issued(updated) if isinstance(updated, Mapping) else ""
        source = str(entry.get("source") or "")
        label = str(entry.get("label") or kind.replace("_", " ").capitalize())
        updates.append(_Update(status, doi, date, label, source))
    return updates


def crossref_finding(message: Mapping[str, Any]) -> Finding:
    """What a Crossref ``/works`` ``message`` says about *this* work's standing."""
    own = _norm_doi(message.get("DOI"))
    title = _first(message.get("title"))
    notice_title = bool(_NOTICE_TITLE.match(title))
    marked_title = bool(_MARKED_TITLE.match(title))
    update_to = _updates(message.get("update-to"))
    updated_by = _updates(message.get("updated-by"))
    targets = {u.doi for u in update_to}
    # Retraction Watch's curated direction: it says which record is the notice.
    curated_targets = {u.doi for u in update_to if u.source == "retraction-watch"}
    curated_notices = {u.doi for u in updated_by if u.source == "retraction-watch"}
    notes: list[str] = []
    candidates: list[Finding] = []
    for update in updated_by:
        if update.doi == own:
            notes.append(f"ignored an update of {own} by itself")
            continue
        if update.doi in targets:
            # Both records claim to update the other: only one of them is the notice.
            if update.doi in curated_notices:
                keep = True
            elif update.doi in curated_targets:
                keep = False
            elif marked_title != notice_title:
                keep = marked_title
            else:
                keep = False
            if not keep:
                notes.append(
                    f"ignored '{update.kind}' by {update.doi}: this record is the notice "
                    f"for {update.doi} (its update-to names it), not the work it updates"
                )
                continue
        label = update.kind + (f" (source: {update.source})" if update.source else "")
        candidates.append(Finding(update.status, update.doi, "", update.date, label=label))
    relation = message.get("relation") or {}
    if isinstance(relation, Mapping):
        for name, status in _RELATION_TYPES.items():
            for item in relation.get(name) or []:
                if not isinstance(item, Mapping):
                    continue
                doi = _norm_doi(item.get("id")) if item.get("id-type") == "doi" else ""
                if doi and (doi == own or (doi in targets and doi not in curated_notices)):
                    continue
                candidates.append(Finding(status, doi, "", "", label=f"relation {name}"))
    if update_to and not candidates:
        kinds = sorted({u.kind for u in update_to})
        notes.append(f"this record is a notice ({', '.join(kinds)}) about {len(targets)} work(s)")
    best = _most_severe(candidates)
    if best is None:
        return Finding(notes=tuple(notes))
    return Finding(
        best.status, best.notice_doi, "", best.notice_date, label=best.label, notes=tuple(notes)
    )


def crossref_status(message: Mapping[str, Any]) -> tuple[str, dict]:
    """``(status, notice)`` in the importers' record format, for the metadata lookup."""
    finding = crossref_finding(message)
    if finding.status == "active":
        return "active", {}
    return finding.status, {
        "doi": finding.notice_doi,
        "pmid": "",
        "date": finding.notice_date,
        "reason": finding.label,
    }


def _ref_date(text: str) -> str:
    """The citation date in a PubMed RefSource ("Lancet. 2010 Feb 6;375…") as ISO."""
    body = text.split(".", 1)[1] if "." in text else text
    match = _REF_DATE.search(body)
    if not match:
        return ""
    year, month, day = match.groups()
    number = _MONTHS.get((month or "").lower()[:3])
    if number is None:
        return year
    if day:
        return f"{year}-{number:02d}-{int(day):02d}"
    return f"{year}-{number:02d}"


def _text(element) -> str:
    return " ".join("".join(element.itertext()).split()) if element is not None else ""


def _pubmed_finding(article) -> Finding:
    citation = article.find("MedlineCitation")
    types = {_text(t) for t in citation.iterfind("Article/PublicationTypeList/PublicationType")}
    candidates = []
    for ref in citation.iterfind("CommentsCorrectionsList/CommentsCorrections"):
        ref_type = ref.get("RefType", "")
        status = _PUBMED_REF_TYPES.get(ref_type)
        if status is None:
            continue
        source_text = _text(ref.find("RefSource"))
        pmid = _text(ref.find("PMID"))
        doi_match = _REF_DOI.search(source_text + " ")
        doi = _norm_doi(doi_match.group(1)) if doi_match else ""
        label = f"{_PUBMED_LABELS[ref_type]} {source_text}".strip()
        candidates.append(Finding(status, doi, pmid, _ref_date(source_text), label=label))
    if RETRACTED_PUBLICATION in types and not any(c.status == "retracted" for c in candidates):
        candidates.append(Finding("retracted", label=f"publication type {RETRACTED_PUBLICATION}"))
    return _most_severe(candidates) or Finding()


def pubmed_findings(xml: bytes) -> dict[str, Finding]:
    """Each PMID's finding in an efetch ``PubmedArticleSet``; ValueError if unreadable."""
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False
    )
    try:
        root = etree.fromstring(xml, parser=parser)
    except etree.XMLSyntaxError as exc:
        raise ValueError(f"not PubMed XML ({exc})")
    if root is None or root.tag != "PubmedArticleSet":
        tag = "nothing" if root is None else f"<{root.tag}>"
        raise ValueError(f"expected a <PubmedArticleSet>, got {tag}")
    findings = {}
    for article in root.iterfind("PubmedArticle"):
        pmid = _text(article.find("MedlineCitation/PMID"))
        if pmid:
            findings[pmid] = _pubmed_finding(article)
    return findings


# --- polite HTTP ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    """One registry's answer about one identifier."""

    outcome: str  # "found", "not_found" or "error"
    finding: Finding | None = None
    detail: str = ""


@dataclass
class RegistryClient:
    """A polite HTTP client for one registry: retries, backoff, timeout, rate limit.

    ``requests_made`` counts every HTTP attempt, retries included. Safe to share
    between ``concurrency`` threads: the pause between requests is kept across them.
    """

    name: str
    base_url: str
    timeout: float = 10.0
    retries: int = 3
    backoff: float = 1.0
    max_wait: float = 60.0
    min_interval: float = 0.0
    user_agent: str = "reviewsite/0.1 (source integrity watch)"
    params: dict[str, str] = field(default_factory=dict)
    concurrency: int = 1
    requests_made: int = 0
    session: requests.Session = field(init=False, repr=False)
    _next_at: float = field(default=0.0, init=False, repr=False)
    _interval: float = field(default=0.0, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def __post_init__(self) -> None:
        self.base_url = self.base_url.rstrip("/")
        self._interval = self.min_interval
        retry_class = type("CappedRetry", (Retry,), {"max_wait": self.max_wait})
        retry_class.parse_retry_after = _capped_retry_after
        retry = retry_class(
            total=self.retries,
            connect=self.retries,
            read=self.retries,
            status=self.retries,
            other=0,
            status_forcelist=(429, 500, 502, 503, 504),
            allowed_methods=frozenset({"GET"}),
            backoff_factor=self.backoff,
            backoff_max=self.max_wait,
            respect_retry_after_header=True,
            raise_on_status=False,
        )
        self.session = requests.Session()
        adapter = HTTPAdapter(max_retries=retry, pool_maxsize=max(self.concurrency, 1))
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.session.headers["User-Agent"] = self.user_agent

    @property
    def interval(self) -> float:
        """The least time between two requests now: the configured one or the announced."""
        return self._interval

    def close(self) -> None:
        """Close the pooled connections."""
        self.session.close()

    def get(self, path: str, params: Mapping[str, str] | None = None) -> requests.Response:
        """GET ``base_url + path``; raises requests' exceptions when every attempt failed."""
        self._wait_turn()
        url = f"{self.base_url}{path}"
        try:
            response = self.session.get(
                url, params={**self.params, **(params or {})}, timeout=self.timeout
            )
        except requests.RequestException:
            # Raised only once every attempt failed (connection errors, timeouts).
            self._count(1 + self.retries)
            raise
        history = getattr(getattr(response.raw, "retries", None), "history", ()) or ()
        self._count(1 + len(history))
        self._learn_rate(response)
        return response

    def _count(self, attempts: int) -> None:
        with self._lock:
            self.requests_made += attempts

    def _wait_turn(self) -> None:
        with self._lock:
            now = time.monotonic()
            if self._next_at > now:
                time.sleep(self._next_at - now)
                now = self._next_at
            self._next_at = now + self._interval

    def _learn_rate(self, response: requests.Response) -> None:
        """Follow the announced rate: Crossref's X-Rate-Limit-*, NCBI's X-RateLimit-*."""
        headers = response.headers
        limit = _number(headers.get("X-Rate-Limit-Limit") or headers.get("X-RateLimit-Limit"))
        interval = _seconds(headers.get("X-Rate-Limit-Interval")) or 1.0
        if limit and limit > 0:
            self._interval = max(self.min_interval, interval / limit)
        remaining = _number(headers.get("X-RateLimit-Remaining"))
        if remaining is not None and remaining <= 0:
            with self._lock:
                self._next_at = max(self._next_at, time.monotonic() + min(interval, self.max_wait))


def _capped_retry_after(self, retry_after: str) -> float:
    return min(Retry.parse_retry_after(self, retry_after), self.max_wait)


def _number(value: str | None) -> float | None:
    try:
        return float(value) if value not in (None, "") else None
    except ValueError:
        return None


def _seconds(value: str | None) -> float | None:
    """'1s', '1', '500ms' as seconds."""
    if not value:
        return None
    value = value.strip().lower()
    try:
        if value.endswith("ms"):
            return float(value[:-2]) / 1000
        return float(value.rstrip("s"))
    except ValueError:
        return None


def _describe(exc: requests.RequestException, timeout: float) -> str:
    # Once urllib3 has retried, a timeout arrives wrapped: ConnectionError(MaxRetryError(...)).
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    if isinstance(reason, urllib3_exceptions.NewConnectionError):  # (a TimeoutError subclass)
        return f"cannot connect ({exc.__class__.__name__})"
    if isinstance(exc, requests.Timeout) or isinstance(reason, urllib3_exceptions.TimeoutError):
        return f"no answer within {timeout} s"
    if isinstance(exc, requests.exceptions.RetryError):
        return "registry kept failing after retries"
    return f"cannot connect ({exc.__class__.__name__})"


def fetch_crossref(client: RegistryClient, doi: str) -> Answer:
    """Ask Crossref ``/works/{doi}`` about one DOI."""
    path = f"/works/{quote(doi, safe='/()')}"
    try:
        response = client.get(path)
    except requests.RequestException as exc:
        return Answer("error", detail=f"Crossref: {_describe(exc, client.timeout)}")
    if response.status_code == 404:
        return Answer("not_found", detail="Crossref has no record for this DOI (404)")
    if response.status_code != 200:
        return Answer("error", detail=f"Crossref answered {response.status_code}")
    try:
        message = response.json().get("message")
    except (ValueError, AttributeError):
        return Answer("error", detail="Crossref's answer is not JSON")
    if not isinstance(message, Mapping):
        return Answer("error", detail="Crossref's answer has no 'message' object")
    return Answer("found", crossref_finding(message))


def fetch_pubmed(client: RegistryClient, pmids: list[str]) -> dict[str, Answer]:
    """Ask PubMed efetch about up to PUBMED_BATCH_LIMIT PMIDs in one request."""
    if len(pmids) > PUBMED_BATCH_LIMIT:
        raise ValueError(f"at most {PUBMED_BATCH_LIMIT} PMIDs per efetch request")
    if not pmids:
        return {}
    params = {"db": "pubmed", "id": ",".join(pmids), "retmode": "xml"}
    try:
        response = client.get("/efetch.fcgi", params=params)
    except requests.RequestException as exc:
        error = Answer("error", detail=f"PubMed: {_describe(exc, client.timeout)}")
        return dict.fromkeys(pmids, error)
    if response.status_code != 200:
        error = Answer("error", detail=f"PubMed answered {response.status_code}")
        return dict.fromkeys(pmids, error)
    try:
        findings = pubmed_findings(response.content)
    except ValueError as exc:
        return dict.fromkeys(pmids, Answer("error", detail=f"PubMed: {exc}"))
    missing = Answer("not_found", detail="PubMed has no record for this PMID")
    return {
        pmid: Answer("found", findings[pmid]) if pmid in findings else missing for pmid in pmids
    }
