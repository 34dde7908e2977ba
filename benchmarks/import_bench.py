"""Background import benchmark (a script, never a test): a 10 MB BibTeX and a 10 MB RIS file.

For each format it generates a file of about ``--mb`` megabytes in /tmp (never
committed) and measures, each step in a fresh process so that peak memory is its own:

* **baseline**: the parsing library alone on the same file (``bibtexparser.parse_string``
  with its default middlewares; ``rispy.loads``; ``json.loads``): wall and CPU time, peak RSS;
* **upload**: ``POST /api/v1/sources/import/`` through Django's whole stack (the web
  process): the answer must be 202 with a queued job;
* **worker**: ``citations.services.import_job_run`` for that job, as the Celery task
  runs it: wall time, peak RSS of the worker process, and the job's final state.

"Upload to done" is upload + worker (the broker's hand-over is not included).

Usage (throwaway databases only; the SQLite file is deleted first)::

    .venv/bin/python benchmarks/import_bench.py                       # sqlite:////tmp/import_bench.sqlite3
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/reviewsite_import_bench \\
        .venv/bin/python benchmarks/import_bench.py --mb 10
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DATABASE_URL", "sqlite:////tmp/import_bench.sqlite3")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "reviewsite.settings")
os.environ["DJANGO_ALLOWED_HOSTS"] = "testserver,127.0.0.1,localhost"

from tests.citations.generated import bibtex_entry, csl_item, ris_record  # noqa: E402

_SUFFIX = {"bibtex": "bib", "ris": "ris", "csl-json": "json"}


def generate(fmt: str, megabytes: float) -> tuple[Path, int]:
    """A file of about ``megabytes`` MB: realistic fields, a DOI on four entries in five."""
    path = Path(f"/tmp/import_bench_{fmt}.{_SUFFIX[fmt]}")
    target, size, n = megabytes * 1024 * 1024 - 2, 0, 0
    make = {"bibtex": bibtex_entry, "ris": ris_record, "csl-json": csl_item}[fmt]
    with path.open("w", encoding="utf-8") as out:
        if fmt == "csl-json":
            out.write("[")
        while True:
            text = make(n)
            if size + len(text.encode()) > target:  # stay within the import limit
                break
            out.write(text)
            size += len(text.encode())
            n += 1
        if fmt == "csl-json":
            out.write("{}]" if not n else '{"id": "end", "title": "End of the list"}]')
            n += 1
    return path, n


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def step_baseline(fmt: str, path: Path) -> dict:
    text = path.read_text(encoding="utf-8")
    start, cpu = time.perf_counter(), time.process_time()
    if fmt == "bibtex":
        import bibtexparser

        count = len(bibtexparser.parse_string(text).entries)
    elif fmt == "csl-json":
        count = len(json.loads(text))
    else:
        import rispy

        count = len(rispy.loads(text))
    return {
        "seconds": time.perf_counter() - start,
        "cpu": time.process_time() - cpu,
        "entries": count,
        "peak_mb": _peak_mb(),
    }


def _django():
    import django

    django.setup()


def step_setup() -> dict:
    url = os.environ["DATABASE_URL"]
    if url.startswith("sqlite:///"):
        for suffix in ("", "-wal", "-shm"):
            Path(f"{url[len('sqlite:///') :]}{suffix}").unlink(missing_ok=True)
    _django()
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.core.management import call_command
    from django.db import connection

    from reviewsite.roles import EDITORS

    if url.startswith("postgres"):
        # The schema is dropped: refuse anything that does not look like a throwaway database.
        if "bench" not in connection.settings_dict["NAME"]:
            sys.exit("Use a throwaway PostgreSQL database whose name contains 'bench'.")
        with connection.cursor() as cursor:
            cursor.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
    call_command("migrate", verbosity=0)
    editor, _ = get_user_model().objects.get_or_create(username="bench-editor")
    editor.groups.add(Group.objects.get(name=EDITORS))
    return {}


def step_upload(path: Path) -> dict:
    _django()
    from django.contrib.auth import get_user_model
    from django.core.files.uploadedfile import SimpleUploadedFile
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(get_user_model().objects.get(username="bench-editor"))
    upload = SimpleUploadedFile(path.name, path.read_bytes())
    start, cpu = time.perf_counter(), time.process_time()
    response = client.post("/api/v1/sources/import/", {"file": upload}, format="multipart")
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    if response.status_code != 202:
        sys.exit(f"upload answered {response.status_code}: {response.content[:300]!r}")
    return {"seconds": seconds, "cpu": cpu, "job": response.json()["id"], "peak_mb": _peak_mb()}


def step_worker(job_id: int, splitter: str = "ours") -> dict:
    _django()
    import logging

    from citations import services
    from citations.importers import bibtex
    from citations.models import ImportJob

    if splitter == "bibtexparser":  # what the strict splitter saves: every chunk to bibtexparser
        bibtex._fast_split = lambda text: None

    logging.getLogger("bibtexparser").setLevel(logging.ERROR)
    start, cpu = time.perf_counter(), time.process_time()
    outcome = services.import_job_run(job_id=job_id)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    job = ImportJob.objects.get(pk=job_id)
    return {
        "seconds": seconds,
        "cpu": cpu,
        "outcome": outcome,
        "state": job.state,
        "processed": job.processed,
        "created": job.report.get("created"),
        "refused": job.report.get("refused"),
        "peak_mb": _peak_mb(),
    }


def _run(*args: str) -> dict:
    done = subprocess.run(
        [sys.executable, __file__, "--step", *args],
        capture_output=True,
        text=True,
        check=False,
        env=os.environ,
    )
    if done.returncode:
        sys.exit(f"step {args} failed:\n{done.stdout}\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


#: What each format's baseline parses with (the library alone).
_LIBRARY = {"bibtex": "bibtexparser", "ris": "rispy", "csl-json": "json"}
#: Issue 11's goal, upload to done, for the 10 MB BibTeX and RIS files.
GOAL_PER_SECOND = 5000


def emit_rows(fmt: str, size: float, n: int, baseline: dict, total: float, worker: dict) -> None:
    """The ``make bench`` rows: against the library alone, and against the goal."""
    from benchmarks.report import emit

    name = f"{fmt} import job, {size:.0f} MB ({n:,} entries), upload to done"
    detail = f"worker peak {worker['peak_mb']:.0f} MB (goal < 250 MB)"
    emit(
        name,
        n / total,
        n / baseline["seconds"],
        unit="entries/s",
        higher_is_better=True,
        detail=f"baseline: {_LIBRARY[fmt]} parsing alone, same file, same run; {detail}",
    )
    if fmt in ("bibtex", "ris"):
        emit(
            f"{name}, against the goal",
            n / total,
            GOAL_PER_SECOND,
            unit="entries/s",
            higher_is_better=True,
            goal=1.0,
            detail=f"baseline: the goal of {GOAL_PER_SECOND:,} entries/s; {detail}",
        )


def compare_splitters(rounds: int, megabytes: float) -> None:
    """The BibTeX worker with our strict splitter and with bibtexparser's, interleaved
    (the order swapped every other round), each run on a fresh database and upload."""
    import statistics

    path, n = generate("bibtex", megabytes)
    runs: dict[str, list[dict]] = {"ours": [], "bibtexparser": []}
    for round_ in range(rounds):
        order = ("ours", "bibtexparser") if round_ % 2 == 0 else ("bibtexparser", "ours")
        for splitter in order:
            _run("setup")
            upload = _run("upload", str(path))
            worker = _run("worker", str(upload["job"]), splitter)
            if worker["processed"] != n:
                sys.exit(f"the job did not import every entry: {worker}")
            runs[splitter].append(worker)
        print(
            f"round {round_ + 1}: worker cpu ours {runs['ours'][-1]['cpu']:.2f} s, "
            f"bibtexparser's splitter {runs['bibtexparser'][-1]['cpu']:.2f} s "
            f"(load {os.getloadavg()[0]:.1f})",
            flush=True,
        )
    for splitter, done in runs.items():
        cpu = statistics.median(r["cpu"] for r in done)
        wall = statistics.median(r["seconds"] for r in done)
        peak = max(r["peak_mb"] for r in done)
        print(
            f"{splitter}: worker cpu median {cpu:.2f} s ({n / cpu:,.0f}/s), wall {wall:.2f} s "
            f"({n / wall:,.0f}/s), peak up to {peak:.0f} MB over {len(done)} runs"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=10.0)
    parser.add_argument("--formats", nargs="+", default=["bibtex", "ris", "csl-json"])
    parser.add_argument("--step", nargs="+", help=argparse.SUPPRESS)
    parser.add_argument(
        "--split-rounds",
        type=int,
        default=0,
        help="BibTeX only: N interleaved worker rounds with our splitter and with "
        "bibtexparser's, each on a fresh database",
    )
    args = parser.parse_args()
    if args.step:
        name, *rest = args.step
        result = {
            "baseline": lambda: step_baseline(rest[0], Path(rest[1])),
            "setup": step_setup,
            "upload": lambda: step_upload(Path(rest[0])),
            "worker": lambda: step_worker(int(rest[0]), *rest[1:]),
        }[name]()
        print(json.dumps(result))
        return
    print(f"database: {os.environ['DATABASE_URL']}")
    rows = []
    for fmt in args.formats:
        path, n = generate(fmt, args.mb)
        size = path.stat().st_size / (1024 * 1024)
        baseline = _run("baseline", fmt, str(path))
        _run("setup")
        upload = _run("upload", str(path))
        worker = _run("worker", str(upload["job"]))
        total = upload["seconds"] + worker["seconds"]
        cpu = upload["cpu"] + worker["cpu"]
        rows.append(
            f"| {fmt} | {size:.1f} MB, {n:,} entries | {baseline['seconds']:.1f} s "
            f"({n / baseline['seconds']:,.0f}/s), cpu {baseline['cpu']:.1f} s, "
            f"{baseline['peak_mb']:.0f} MB | {upload['seconds']:.1f} s | "
            f"{worker['seconds']:.1f} s, {worker['peak_mb']:.0f} MB | "
            f"{total:.1f} s ({worker['processed'] / total:,.0f}/s), cpu {cpu:.1f} s "
            f"({worker['processed'] / cpu:,.0f}/s) | {total / baseline['seconds']:.1f}× "
            f"(cpu {cpu / baseline['cpu']:.1f}×) | {os.getloadavg()[0]:.1f} |"
        )
        print(json.dumps({"format": fmt, "baseline": baseline, "upload": upload, "worker": worker}))
        if worker["state"] != "done" or worker["processed"] != n:
            sys.exit(f"the job did not import every entry: {worker}")
        emit_rows(fmt, size, n, baseline, total, worker)
    if args.split_rounds:
        compare_splitters(args.split_rounds, args.mb)
    print(
        "\n| format | file | library alone (parse), peak | upload (202) | worker, peak | "
        "upload to done | vs library | load |"
    )
    print("|---|---|---|---|---|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
