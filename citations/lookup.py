"""Optional metadata lookup by DOI (Crossref) or PMID (PubMed E-utilities).

The caller passes ``base_url`` and ``timeout`` (from settings); this module
reads no settings so it can be tested against a local server. Both lookups
return a record in the importers' normalised format, including retraction
status, read by :func:`citations.registries.crossref_status` (``updated-by`` and
passive ``relation`` entries; a notice's own ``update-to`` never marks it).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import requests

from citations.identifiers import normalize_doi, normalize_issued, normalize_pmid
from citations.importers import finalize_record, parse_medline
from citations.registries import crossref_status

__all__ = [
    "LookupFailed",
    "LookupNotFound",
    "LookupUnavailable",
    "crossref_message_to_record",
    "lookup_doi",
    "lookup_pmid",
]

DEFAULT_USER_AGENT = "reviewsite/0.1 (citation metadata lookup)"


class LookupFailed(Exception):
    """Base class for lookup failures."""


class LookupUnavailable(LookupFailed):
    """The registry could not be reached or failed (connection error, timeout, 5xx)."""


class LookupNotFound(LookupFailed):
    """The registry has no record for the identifier."""


_CROSSREF_TYPES = {
    "journal-article": "article-journal",
    "book": "book",
    "monograph": "book",
    "edited-book": "book",
    "reference-book": "book",
    "book-chapter": "chapter",
    "book-section": "chapter",
    "book-part": "chapter",
    "proceedings-article": "paper-conference",
    "report": "report",
    "report-component": "report",
    "dissertation": "thesis",
    "posted-content": "article",
    "dataset": "dataset",
    "reference-entry": "entry",
    "standard": "standard",
    "peer-review": "review",
}


def _get(url: str, *, timeout: float, params: Mapping[str, str] | None = None) -> requests.Response:
    try:
        response = requests.get(
            url, params=params, timeout=timeout, headers={"User-Agent": DEFAULT_USER_AGENT}
        )
    except requests.Timeout:
        raise LookupUnavailable(f"{url}: no answer within {timeout} s")
    except requests.RequestException as exc:
        raise LookupUnavailable(f"{url}: cannot connect ({exc.__class__.__name__})")
    if response.status_code == 404:
        raise LookupNotFound(f"{url}: not found (404)")
    if response.status_code == 429 or response.status_code >= 500:
        raise LookupUnavailable(f"{url}: registry answered {response.status_code}")
    if response.status_code >= 400:
        raise LookupNotFound(f"{url}: registry refused the request ({response.status_code})")
    return response


def _first(value: Any) -> str:
    if isinstance(value, list):
        return str(value[0]) if value else ""
    return "" if value is None else str(value)


def _date_parts(value: Any) -> str:
    return normalize_issued(value) if isinstance(value, Mapping) else ""


def crossref_message_to_record(message: Mapping[str, Any]) -> dict:
    """Convert a Crossref ``/works`` ``message`` object to a normalised record."""
    authors = []
    for person in message.get("author") or []:
        if person.get("name") and not person.get("family"):
            authors.append({"literal": person["name"]})  # Crossref's corporate authors
        else:
            authors.append({"family": person.get("family", ""), "given": person.get("given", "")})
    if not authors:
        authors = [
            {"family": p.get("family", ""), "given": p.get("given", "")}
            for p in message.get("editor") or []
        ]
    issued = ""
    for key in ("issued", "published-print", "published-online", "published", "created"):
        issued = _date_parts(message.get(key))
        if issued:
            break
    # What the record says of this work's standing (never a notice's own update-to).
    status, notice = crossref_status(message)
    doi = str(message.get("DOI") or "")
    raw = {
        "key": "",
        "type": _CROSSREF_TYPES.get(str(message.get("type") or ""), "article"),
        "title": _first(message.get("title")),
        "authors": authors,
        "container_title": _first(message.get("container-title")),
        "issued": issued,
        "volume": message.get("volume") or "",
        "issue": message.get("issue") or "",
        "pages": message.get("page") or "",
        "doi": doi,
        "url": "",
        "publisher": message.get("publisher") or "",
        "status": status,
        "status_notice": notice,
    }
    return finalize_record(raw)


def lookup_doi(doi: str, *, base_url: str, timeout: float) -> dict:
    """Fetch a DOI's metadata from Crossref ``GET {base_url}/works/{doi}`` as a record."""
    doi = normalize_doi(doi)
    url = f"{base_url.rstrip('/')}/works/{quote(doi, safe='/()')}"
    response = _get(url, timeout=timeout)
    try:
        payload = response.json()
    except ValueError:
        raise LookupUnavailable(f"{url}: answer is not JSON")
    message = payload.get("message") if isinstance(payload, Mapping) else None
    if not isinstance(message, Mapping):
        raise LookupUnavailable(f"{url}: answer has no 'message' object")
    try:
        return crossref_message_to_record(message)
    except ValueError as exc:
        raise LookupNotFound(f"{url}: Crossref record is unusable: {exc}")


def lookup_pmid(pmid: str | int, *, base_url: str, timeout: float) -> dict:
    """Fetch a PMID's MEDLINE record from PubMed E-utilities efetch as a record."""
    pmid = normalize_pmid(pmid)
    url = f"{base_url.rstrip('/')}/efetch.fcgi"
    params = {"db": "pubmed", "id": pmid, "rettype": "medline", "retmode": "text"}
    response = _get(url, timeout=timeout, params=params)
    # efetch answers 200 with an empty body (or an error line) for unknown PMIDs.
    for entry in parse_medline(response.text):
        if entry.record is not None and entry.record["pmid"] == pmid:
            return entry.record
    raise LookupNotFound(f"PubMed has no record for PMID {pmid}")
