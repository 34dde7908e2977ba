"""Optional metadata lookup by DOI (Crossref) or PMID (PubMed E-utilities).

The caller passes ``base_url`` and ``timeout`` (from settings); this module
reads no settings so it can be tested against a local server. Both lookups
return a record in the importers' normalised format, including retraction
status, read by :func:`citations.registries.crossref_status` (``updated-by`` and
passive ``relation`` entries; a notice's own ``update-to`` never marks it).
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import quote

import requests

from citations.identifiers import normalize_doi, normalize_pmid
from citations.importers import parse_medline
from citations.importers.crossref import crossref_message_to_record

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
