"""Reader article page throughput against a minimal Django view returning the same bytes.

Usage: .venv/bin/python benchmarks/reader_page.py [--citations 50] [--workers 4]
       [--connections 16] [--seconds 10] [--rounds 3] [--conn-max-age 60]

Seeds one approved article citing N sources (through the real workflow services) in a
fresh SQLite file, or in DATABASE_URL if set, serves the site with gunicorn on a random
loopback port, and loads two URLs alternately, round after round:

* ``/articles/<slug>/``    the real page (a cache hit: no query; a reader without cookies is
  answered by ``reviewsite.middleware.CachedReaderPageMiddleware``),
* ``/__bench__/minimal/``  a view returning the same bytes (benchmarks/minimal_urls.py),
  through the whole middleware stack, and
* ``/__bench__/bare/``     the honest floor (issue 15): the same bytes from a bare Django
  view with ``MIDDLEWARE = []`` (benchmarks/bare_settings.py), served by a second
  gunicorn with the same workers and the same load.

Load comes from ``wrk`` when installed, else from a bounded threaded Python client.
Prints requests per second for each (median of the rounds) and the ratios; the goal is
the article page at 0.7x the bare view or better. The last line, ``BENCH {json}``, is
what ``benchmarks/run.py`` reads.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
SLUG = "benchmark-reader-page"


def seed(citations: int) -> str:
    """Migrate, then create an approved article citing ``citations`` sources; return its URL."""
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.core.management import call_command
    from django.utils import timezone

    from articles.models import Article, EditorialPolicy, ReviewerProfile
    from citations.models import Source
    from workflows import services

    call_command("migrate", verbosity=0)
    existing = Article.objects.filter(slug=SLUG).first()
    if existing is not None and existing.live_revision_id:
        return existing.get_absolute_url()
    users = get_user_model().objects
    editor, _ = users.get_or_create(username="bench-editor")
    editor.groups.add(Group.objects.get(name="Editors"))
    reviewer, _ = users.get_or_create(username="bench-reviewer")
    reviewer.groups.add(Group.objects.get(name="Reviewers"))
    ReviewerProfile.objects.get_or_create(
        user=reviewer,
        defaults={
            "display_name": "Dr Bench",
            "credentials": "MD",
            "specialty": "Neurology",
            "credentials_verified_at": timezone.now(),  # only verified reviewers approve
        },
    )
    EditorialPolicy.objects.get_or_create(body="## Policy\n\nReviewed.", disclaimer="Not advice.")
    for i in range(citations):
        Source.objects.get_or_create(
            key=f"bench-reader-{i}",
            defaults={
                "title": f"A randomised trial of treatment {i} in relapsing multiple sclerosis",
                "authors": [{"family": "Trapp", "given": "B. D."}, {"family": "Peterson"}],
                "container_title": "The New England Journal of Medicine",
                "issued": "1998-01-29",
                "volume": "338",
                "issue": "5",
                "pages": "278-285",
                "doi": f"10.5555/bench-reader.{i}",
                "pmid": str(70000000 + i),
            },
        )
    paragraphs = [
        f"## Section {i}\n\nClaim {i} about disease activity and relapse rates "
        f"[@bench-reader-{i}]. It is supported again later [@bench-reader-{i}; "
        f"@bench-reader-{(i + 1) % citations}]."
        for i in range(citations)
    ]
    article = services.article_create(
        actor=editor,
        title="Relapsing multiple sclerosis: benchmark edition",
        summary="A page with many citations, as a real reviewed article has.",
        body="\n\n".join(paragraphs),
        slug=SLUG,
    )
    services.article_submit(article_id=article.pk, actor=editor)
    services.article_start_review(article_id=article.pk, actor=reviewer)
    from workflows.review_record import checklist_for

    services.article_approve(
        article_id=article.pk,
        actor=reviewer,
        checklist={item.key: True for item in checklist_for(article.audience)},
        conflict_of_interest={"declared": False},
    )
    return article.get_absolute_url()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_up(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # loopback only
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"gunicorn did not answer {url} within {timeout}s")


def fetch(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=10) as response:  # loopback only
        assert response.status == 200, response.status
        return response.read()


def load_wrk(url: str, seconds: int, connections: int) -> float:
    output = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    if errors:
        raise SystemExit(f"{url}: {errors.group(1)} failed responses\n{output}")
    return float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))


def load_python(url: str, seconds: int, connections: int, max_requests: int = 200_000) -> float:
    """A bounded threaded client: stops at ``seconds`` or ``max_requests``, whichever first."""
    done = [0]
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def worker() -> None:
        while time.monotonic() < deadline:
            with lock:
                if done[0] >= max_requests:
                    return
            fetch(url)
            with lock:
                done[0] += 1

    started = time.monotonic()
    threads = [threading.Thread(target=worker) for _ in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return done[0] / (time.monotonic() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--citations", type=int, default=50)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--conn-max-age",
        type=int,
        default=None,
        help="override CONN_MAX_AGE (production PostgreSQL uses 60; SQLite defaults to 0)",
    )
    parser.add_argument("--seed-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.seed_only:  # runs in a child process with the benchmark's environment
        print(seed(args.citations))
        return

    workdir = Path(tempfile.mkdtemp(prefix="reviewsite-reader-bench-"))
    # ROOT_URLCONF comes from settings; a throwaway settings module points it at the
    # benchmark URLconf without touching the project's settings.
    overrides = "ROOT_URLCONF = 'benchmarks.minimal_urls'\n"
    if args.conn_max_age is not None:
        overrides += f"DATABASES['default']['CONN_MAX_AGE'] = {args.conn_max_age}\n"
    (workdir / "bench_settings.py").write_text(
        "from reviewsite.settings import *  # noqa: F403\n" + overrides
    )
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(workdir), str(ROOT)]),
        "DJANGO_SETTINGS_MODULE": "bench_settings",
        "DJANGO_DEBUG": "false",
        "DJANGO_EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
        "CELERY_TASK_ALWAYS_EAGER": "true",
        "DJANGO_LOG_LEVEL": "WARNING",
        "REVIEWSITE_BENCH_PAGE": str(workdir / "page.html"),
    }
    env.setdefault("DATABASE_URL", f"sqlite:///{workdir / 'bench.sqlite3'}")
    database = "DATABASE_URL" if "DATABASE_URL" in os.environ else "fresh SQLite file"
    seeded = subprocess.run(
        [sys.executable, __file__, "--seed-only", "--citations", str(args.citations)],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    if seeded.returncode:  # the seed's own error, not a CalledProcessError around it
        sys.stderr.write(seeded.stderr[-4000:])
        raise SystemExit(f"seeding failed: {(seeded.stderr.strip().splitlines() or ['?'])[-1]}")
    path = seeded.stdout.strip().splitlines()[-1]

    def gunicorn(port: int, settings_module: str) -> subprocess.Popen:
        command = [str(BIN / "gunicorn"), "reviewsite.wsgi", "--bind", f"127.0.0.1:{port}"]
        command += ["--workers", str(args.workers), "--log-level", "warning"]
        return subprocess.Popen(
            command, env={**env, "DJANGO_SETTINGS_MODULE": settings_module}, cwd=ROOT
        )

    port, bare_port = free_port(), free_port()
    base = f"http://127.0.0.1:{port}"
    server = gunicorn(port, "bench_settings")
    bare_server = None
    try:
        article_url, minimal_url = base + path, base + "/__bench__/minimal/"
        bare_url = f"http://127.0.0.1:{bare_port}/__bench__/bare/"
        wait_until_up(article_url)
        page = fetch(article_url)
        (workdir / "page.html").write_bytes(page)
        bare_server = gunicorn(bare_port, "benchmarks.bare_settings")
        wait_until_up(bare_url)
        assert fetch(minimal_url) == page
        assert fetch(bare_url) == page
        references = page.count(b'<li id="ref-')
        # Warm every worker's page cache and imports before measuring.
        for _ in range(args.workers * 20):
            fetch(article_url)
            fetch(minimal_url)
            fetch(bare_url)

        tool = "wrk" if shutil.which("wrk") else "python threads"
        load = load_wrk if shutil.which("wrk") else load_python
        article_rates, minimal_rates, bare_rates = [], [], []
        loads = [os.getloadavg()[0]]
        for round_ in range(args.rounds):
            # Alternate so background load on the machine hits all alike; every other
            # round in the reverse order, so neither comes first after a pause.
            order = [("bare", bare_url), ("article", article_url), ("minimal", minimal_url)]
            rates = {}
            for name, url in order if round_ % 2 == 0 else order[::-1]:
                rates[name] = load(url, args.seconds, args.connections)
            bare_rates.append(rates["bare"])
            article_rates.append(rates["article"])
            minimal_rates.append(rates["minimal"])
            loads.append(os.getloadavg()[0])
    finally:
        for process in (server, bare_server):
            if process is not None:
                process.terminate()
                process.wait(timeout=30)
        shutil.rmtree(workdir, ignore_errors=True)

    article_rps = statistics.median(article_rates)
    minimal_rps = statistics.median(minimal_rates)
    bare_rps = statistics.median(bare_rates)
    ratio = article_rps / bare_rps
    # Each round's article rate over the same round's bare rate: the spread of the ratio.
    round_ratios = sorted(a / b for a, b in zip(article_rates, bare_rates, strict=True))
    print(f"database        {database}; {references} references; page {len(page)} bytes")
    print(
        f"load            {tool}, {args.connections} connections, {args.seconds}s x {args.rounds}"
    )
    persistent = "project default" if args.conn_max_age is None else args.conn_max_age
    print(f"server          gunicorn, {args.workers} sync workers, 127.0.0.1")
    print(f"CONN_MAX_AGE    {persistent}")
    print(f"article page    {article_rps:8.0f} req/s   (rounds: {_rates(article_rates)})")
    print(f"minimal view    {minimal_rps:8.0f} req/s   (rounds: {_rates(minimal_rates)})")
    print(f"bare view       {bare_rps:8.0f} req/s   (rounds: {_rates(bare_rates)})")
    print(f"vs minimal view {article_rps / minimal_rps:8.2f}       (same middleware)")
    print(
        f"vs bare view    {ratio:8.2f}       (goal >= 0.70: {'met' if ratio >= 0.7 else 'MISSED'})"
    )
    print(
        f"round ratios    {', '.join(f'{r:.2f}' for r in round_ratios)} "
        f"(median {statistics.median(round_ratios):.2f})"
    )
    print(f"load average    {min(loads):.1f}-{max(loads):.1f} during the rounds")
    sys.path.insert(0, str(ROOT))
    from benchmarks.report import emit

    emit(
        f"reader page, {references} citations",
        article_rps,
        bare_rps,
        unit="req/s",
        higher_is_better=True,
        goal=0.7,
        detail=f"vs bare Django view (MIDDLEWARE=[]); {tool} c{args.connections}, gunicorn "
        f"-w {args.workers}, {args.rounds}x{args.seconds}s; per-round ratios "
        f"{round_ratios[0]:.2f}-{round_ratios[-1]:.2f}; same bytes through all middleware: "
        f"{minimal_rps:.0f} req/s; load {min(loads):.1f}-{max(loads):.1f}",
    )


def _rates(rates: list[float]) -> str:
    return ", ".join(f"{rate:.0f}" for rate in rates)


if __name__ == "__main__":
    main()
