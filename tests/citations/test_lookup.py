"""Tests for citations.lookup against a local server replaying recorded registry responses."""

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from citations.identifiers import InvalidIdentifier
from citations.lookup import LookupNotFound, LookupUnavailable, lookup_doi, lookup_pmid
from tests.helpers import REAL_WORLD


def _crossref_payloads() -> dict[str, bytes]:
    """Map lower-case DOI to a full Crossref /works response body."""
    payloads = {}
    for path in sorted(REAL_WORLD.glob("*crossref*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        if "message" not in data:
            # crossref_reciprocal_retracted_paper.json is the bare message object.
            data = {"status": "ok", "message-type": "work", "message": data}
        payloads[data["message"]["DOI"].lower()] = json.dumps(data).encode()
    return payloads


def _pubmed_payloads() -> dict[str, bytes]:
    """Map PMID to the recorded MEDLINE text of that record."""
    payloads = {}
    for path in sorted(REAL_WORLD.glob("*pubmed*.txt")):
        text = path.read_text(encoding="utf-8")
        for line in text.splitlines():
            if line.startswith("PMID-"):
                payloads[line.split("-", 1)[1].strip()] = text.encode()
                break
    return payloads


class _Replay(BaseHTTPRequestHandler):
    crossref: dict[str, bytes] = {}
    pubmed: dict[str, bytes] = {}

    def log_message(self, *args):  # keep test output quiet
        pass

    def _send(self, status: int, body: bytes, content_type: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        url = urlsplit(self.path)
        if url.path.startswith("/works/"):
            doi = unquote(url.path[len("/works/") :]).lower()
            if doi.startswith("10.5555/server-error"):
                self._send(503, b"Service Unavailable", "text/plain")
            elif doi.startswith("10.5555/slow"):
                time.sleep(2)
                self._send(404, b"Resource not found.", "text/plain")
            elif doi in self.crossref:
                self._send(200, self.crossref[doi])
            else:
                self._send(404, b"Resource not found.", "text/plain")
        elif url.path == "/efetch.fcgi":
            query = parse_qs(url.query)
            assert query.get("db") == ["pubmed"]
            assert query.get("rettype") == ["medline"]
            assert query.get("retmode") == ["text"]
            pmid = query.get("id", [""])[0]
            # Like the real efetch: unknown PMIDs get 200 with an empty body.
            self._send(200, self.pubmed.get(pmid, b"\n"), "text/plain")
        else:
            self._send(404, b"no such endpoint", "text/plain")


@pytest.fixture(scope="module")
def replay_server():
    _Replay.crossref = _crossref_payloads()
    _Replay.pubmed = _pubmed_payloads()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Replay)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def closed_port_url():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens here now: connections are refused at once
    return f"http://127.0.0.1:{port}"


def test_lookup_doi_parses_crossref_record_with_retraction(replay_server):
    record = lookup_doi(
        "https://doi.org/10.1016/S0140-6736(97)11096-0", base_url=replay_server, timeout=5
    )
    assert record["doi"] == "10.1016/s0140-6736(97)11096-0"
    assert record["type"] == "article-journal"
    assert record["title"].startswith("RETRACTED: Ileal-lymphoid-nodular")
    assert record["authors"][0] == {"family": "Wakefield", "given": "AJ"}
    assert record["container_title"] == "The Lancet"
    assert record["issued"] == "1998-02"
    assert (record["volume"], record["issue"], record["pages"]) == ("351", "9103", "637-641")
    assert record["publisher"] == "Elsevier BV"
    assert record["key"] == "wakefield1998ileal"
    assert record["status"] == "retracted"
    assert record["status_notice"]["doi"] == "10.1016/s0140-6736(10)60175-4"
    assert record["status_notice"]["date"] == "2010-02-06"


def test_lookup_doi_expression_of_concern(replay_server):
    record = lookup_doi("10.1371/journal.pone.0064723", base_url=replay_server, timeout=5)
    assert record["status"] == "expression_of_concern"
    assert record["status_notice"]["doi"] == "10.1371/journal.pone.0256488"
    assert record["authors"][2] == {"family": "Coste", "given": "Cécile"}


def test_lookup_doi_reciprocal_update_to_does_not_hide_retraction(replay_server):
    record = lookup_doi("10.1016/s0140-6736(20)31180-6", base_url=replay_server, timeout=5)
    assert record["status"] == "retracted"
    assert record["status_notice"]["doi"] == "10.1016/s0140-6736(20)31324-6"
    assert record["volume"] == ""


def test_lookup_doi_404_raises_lookup_not_found(replay_server):
    with pytest.raises(LookupNotFound):
        lookup_doi("10.5555/does-not-exist", base_url=replay_server, timeout=5)


def test_lookup_doi_5xx_raises_lookup_unavailable(replay_server):
    with pytest.raises(LookupUnavailable, match="503"):
        lookup_doi("10.5555/server-error", base_url=replay_server, timeout=5)


def test_lookup_doi_timeout_raises_lookup_unavailable(replay_server):
    with pytest.raises(LookupUnavailable, match="0.3"):
        lookup_doi("10.5555/slow", base_url=replay_server, timeout=0.3)


def test_lookup_doi_rejects_invalid_doi_before_any_request(closed_port_url):
    with pytest.raises(InvalidIdentifier):
        lookup_doi("not-a-doi", base_url=closed_port_url, timeout=1)


def test_lookup_doi_unreachable_server_raises_lookup_unavailable_quickly(closed_port_url):
    started = time.monotonic()
    with pytest.raises(LookupUnavailable, match="cannot connect"):
        lookup_doi("10.1016/s0140-6736(97)11096-0", base_url=closed_port_url, timeout=2)
    assert time.monotonic() - started < 2


def test_lookup_pmid_parses_medline_with_retraction(replay_server):
    record = lookup_pmid("PMID: 9500320", base_url=replay_server, timeout=5)
    assert record["pmid"] == "9500320"
    assert record["status"] == "retracted"
    assert record["status_notice"]["pmid"] == "20137807"


def test_lookup_pmid_expression_of_concern(replay_server):
    record = lookup_pmid(23741377, base_url=replay_server, timeout=5)
    assert record["status"] == "expression_of_concern"
    assert record["pmcid"] == "PMC3669410"


def test_lookup_pmid_unknown_raises_lookup_not_found(replay_server):
    with pytest.raises(LookupNotFound, match="99999999"):
        lookup_pmid("99999999", base_url=replay_server, timeout=5)


def test_lookup_pmid_unreachable_server_raises_lookup_unavailable(closed_port_url):
    with pytest.raises(LookupUnavailable):
        lookup_pmid("9500320", base_url=closed_port_url, timeout=2)
