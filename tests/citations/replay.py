"""A local HTTP server replaying recorded Crossref and PubMed answers, with scripted faults.

Crossref ``GET /works/{doi}`` answers the recorded response of that DOI (the real
records in ``fixtures/real-world/``), else 404. PubMed ``GET /efetch.fcgi?id=a,b,…``
answers one ``<PubmedArticleSet>`` holding the recorded article of each known PMID
(``fixtures/pubmed-xml/``, derived from the real MEDLINE records), like efetch.
``script(key, *responses)`` queues answers that are served first: ``key`` is a DOI
or ``"efetch"``, each response ``(status, headers, body)`` or ``(…, delay_seconds)``.
Every request is logged.
"""

from __future__ import annotations

import json
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from tests.helpers import REAL_WORLD

PUBMED_XML = Path(__file__).resolve().parent / "fixtures" / "pubmed-xml"


def crossref_records() -> dict[str, dict]:
    """Lower-case DOI → the recorded Crossref ``/works`` response (as a dict)."""
    records = {}
    for path in sorted(REAL_WORLD.glob("*crossref*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        if "message" not in data:  # some files are the bare message object
            data = {"status": "ok", "message-type": "work", "message": data}
        records[data["message"]["DOI"].lower()] = data
    return records


def pubmed_articles() -> dict[str, bytes]:
    """PMID → its recorded ``<PubmedArticle>`` element."""
    articles = {}
    for path in sorted(PUBMED_XML.glob("*.xml")):
        text = path.read_text(encoding="utf-8")
        articles[path.stem] = text[text.index("<PubmedArticle>") :].strip().encode()
    return articles


@dataclass
class Registries:
    """What the server answers, and what it was asked."""

    crossref: dict[str, bytes] = field(default_factory=dict)
    pubmed: dict[str, bytes] = field(default_factory=dict)
    scripted: dict[str, deque] = field(default_factory=lambda: defaultdict(deque))
    log: list[tuple[str, dict]] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    url: str = ""

    def reset(self) -> None:
        """Recorded answers only, no script, empty log."""
        self.crossref = {doi: json.dumps(r).encode() for doi, r in crossref_records().items()}
        self.pubmed = pubmed_articles()
        self.scripted.clear()
        self.log.clear()
        self.headers = {}

    def script(self, key: str, *responses: tuple[int, dict, bytes]) -> None:
        """Serve these answers first for ``key`` (a DOI, or "efetch")."""
        self.scripted[key.lower()].extend(responses)

    def requests_to(self, path_prefix: str) -> list[dict]:
        """The query parameters of each logged request whose path starts so."""
        return [query for path, query in self.log if path.startswith(path_prefix)]


def _handler(registries: Registries):
    class Replay(BaseHTTPRequestHandler):
        def log_message(self, *args):  # keep test output quiet
            pass

        def _send(self, status: int, body: bytes, content_type: str, headers=None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for name, value in {**registries.headers, **(headers or {})}.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        def _scripted(self, key: str) -> bool:
            with registries.lock:
                queue = registries.scripted.get(key)
                response = queue.popleft() if queue else None
            if response is None:
                return False
            status, headers, body, *delay = response
            if delay:
                time.sleep(delay[0])  # a registry that answers too late
            self._send(status, body, "text/plain", headers)
            return True

        def do_GET(self):
            url = urlsplit(self.path)
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            with registries.lock:
                registries.log.append((url.path, query))
            if url.path.startswith("/works/"):
                doi = unquote(url.path[len("/works/") :]).lower()
                if self._scripted(doi):
                    return
                if doi in registries.crossref:
                    self._send(200, registries.crossref[doi], "application/json")
                else:
                    self._send(404, b"Resource not found.", "text/plain")
            elif url.path == "/efetch.fcgi":
                if self._scripted("efetch"):
                    return
                ids = [i for i in query.get("id", "").split(",") if i]
                articles = b"\n".join(registries.pubmed[i] for i in ids if i in registries.pubmed)
                body = (
                    b'<?xml version="1.0" ?>\n<!DOCTYPE PubmedArticleSet PUBLIC '
                    b'"-//NLM//DTD PubMedArticle, 1st January 2025//EN" '
                    b'"https://dtd.nlm.nih.gov/ncbi/pubmed/out/pubmed_250101.dtd">\n'
                    b"<PubmedArticleSet>\n" + articles + b"\n</PubmedArticleSet>\n"
                )
                self._send(200, body, "text/xml")
            else:
                self._send(404, b"no such endpoint", "text/plain")

    return Replay


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        # A client that gave up (a timeout, a test simulating a lost worker) is expected.
        pass


class ReplayServer:
    """The server on a free loopback port, in a thread; ``url`` is its base."""

    def __init__(self) -> None:
        self.registries = Registries()
        self.registries.reset()
        self._server = _Server(("127.0.0.1", 0), _handler(self.registries))
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self.registries.url = self.url

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> ReplayServer:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
