"""``make bench``: run every benchmark with the sizes of a mode and print one table.

Usage: .venv/bin/python benchmarks/run.py [--mode quick|full] [--only NAME ...]

Each benchmark runs as its own process (its usual command line, kept working) and ends
with ``BENCH {json}`` lines (benchmarks/report.py): the measure, ours, the baseline
measured in the same run, the ratio, the goal. The runner collects them into one table
(measure, ours, baseline, ratio, goal, met?) with the machine and its load average.

Databases: each benchmark makes its own throwaway SQLite file unless
``BENCH_DATABASE_URL`` names a PostgreSQL database whose name contains ``bench``; it is
then used by every database benchmark (they rewrite its tables). The project's own
DATABASE_URL, CACHE_URL and CELERY_BROKER_URL are never passed on.

Quick mode is sized for under 3 minutes on 2 cores, full for under 15.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent

#: name -> (script, quick arguments, full arguments, uses the database)
BENCHMARKS = {
    "reader": (
        "reader_page.py",
        ["--workers", "2", "--connections", "16", "--seconds", "3", "--rounds", "3"],
        ["--workers", "2", "--connections", "16", "--seconds", "5", "--rounds", "7"],
        True,
    ),
    "api": ("api_bench.py", ["--articles", "2000", "--seconds", "1"], ["--seconds", "3"], True),
    "sweep": (
        "stale_sweep.py",
        ["--n", "20000", "--no-memory"],
        ["--n", "200000", "--rounds", "3"],
        True,
    ),
    "propagation": ("propagation.py", ["--n", "2000"], ["--n", "20000"], True),
    "citations": ("citations_bench.py", ["--entries", "1000"], ["--entries", "10000"], True),
    # The 10 MB files of issue 11 as background jobs (upload to done), against the parsing
    # libraries alone; quick mode imports 2 MB files.
    "import": (
        "import_bench.py",
        ["--mb", "2", "--formats", "bibtex", "ris"],
        ["--mb", "10", "--formats", "bibtex", "ris"],
        True,
    ),
    "integrity": ("check_sources.py", ["--n", "400"], ["--n", "4000"], True),
    "broker": ("broker.py", ["--tasks", "100"], ["--tasks", "500"], False),
    "workspace": (
        "workspace_pages.py",
        ["--articles", "200", "--sources", "400", "--through-services", "40", "--rounds", "3"],
        ["--rounds", "15"],
        True,
    ),
    # Full mode only (quick arguments None): PostgreSQL and Redis on loopback, its own
    # database (LOAD_DATABASE_URL, else BENCH_DATABASE_URL, else load_bench).
    "load": (
        "load/load_test.py",
        None,
        ["--steps", "4", "8", "16", "32", "--seconds", "10", "--confirm", "20"]
        + ["--through-services", "100"],
        False,
    ),
}
#: Measures the issue asks for that no benchmark produces yet (shown as not measured).
NOT_BUILT: list[str] = []


def environment(uses_database: bool, name: str, workdir: Path) -> dict:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "CACHE_URL", "CELERY_BROKER_URL", "CELERY_RESULT_BACKEND"}
    }
    env["PYTHONPATH"] = str(ROOT)
    bench_db = os.environ.get("BENCH_DATABASE_URL")
    if uses_database and bench_db:
        if "bench" not in bench_db.rsplit("/", 1)[-1]:
            raise SystemExit("BENCH_DATABASE_URL must name a database containing 'bench'")
        env["DATABASE_URL"] = bench_db
    elif uses_database:  # a fresh SQLite file per benchmark and run
        env["DATABASE_URL"] = f"sqlite:///{workdir / (name + '.sqlite3')}"
    return env


def ensure_bench_database(url: str) -> None:
    """Create BENCH_DATABASE_URL's database when it is missing (its name says ``bench``;
    an existing one is left as it is: the benchmarks rewrite their own tables)."""
    import psycopg

    parsed = urllib.parse.urlparse(url)
    name = parsed.path.lstrip("/")
    if "bench" not in name:
        raise SystemExit("BENCH_DATABASE_URL must name a database containing 'bench'")
    admin = parsed._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as connection:
        found = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if found.fetchone() is None:
            connection.execute(f'CREATE DATABASE "{name}"')
            print(f"created the database {name}", file=sys.stderr, flush=True)


#: The tables a benchmark fills, emptied before each database benchmark on PostgreSQL so
#: none inherits another's rows (the sweep leaves a million articles; deleting them
#: through the ORM took the next benchmark's seed 500 s).
_FILLED_PREFIXES = ("articles_", "citations_", "workflows_", "axes_", "django_session")


def empty_bench_database(url: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as connection:
        tables = [
            row[0]
            for row in connection.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
            )
            if row[0].startswith(_FILLED_PREFIXES) or row[0].startswith("auth_user")
        ]
        if tables:
            names = ", ".join(f'"{table}"' for table in tables)
            connection.execute(f"TRUNCATE {names} RESTART IDENTITY CASCADE")


def run_one(name: str, mode: str, log: Path, workdir: Path) -> tuple[list[dict], float, str]:
    script, quick, full, uses_database = BENCHMARKS[name]
    args = quick if mode == "quick" else full
    if name == "sweep" and mode == "full" and os.environ.get("BENCH_DATABASE_URL"):
        # The goal is on 1M articles on PostgreSQL; three interleaved rounds. Its
        # memory is measured by the SQLite run (N/10 -> N): at 1M the two extra seeds
        # would take the mode past 15 minutes.
        args = ["--n", "1000000", "--no-memory", "--rounds", "3"]
    if uses_database and os.environ.get("BENCH_DATABASE_URL"):
        empty_bench_database(os.environ["BENCH_DATABASE_URL"])
    started = time.monotonic()
    process = subprocess.run(
        [sys.executable, str(HERE / script), *args],
        cwd=ROOT,
        env=environment(uses_database, name, workdir),
        capture_output=True,
        text=True,
        timeout=900,
    )
    seconds = time.monotonic() - started
    with log.open("a") as out:
        out.write(f"\n===== {name}: {script} {' '.join(args)} (rc {process.returncode})\n")
        out.write(process.stdout)
        out.write(process.stderr[-4000:])
    results = [
        json.loads(line[len("BENCH ") :])
        for line in process.stdout.splitlines()
        if line.startswith("BENCH ")
    ]
    error = "" if process.returncode == 0 else (process.stderr.strip().splitlines() or ["?"])[-1]
    return results, seconds, error


def number(value: float | None, unit: str = "") -> str:
    if value is None:
        return "—"
    shown = f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"
    return f"{shown} {unit}".strip()


def row(result: dict) -> list[str]:
    goal = result.get("goal")
    sign = ">=" if result.get("higher_is_better") else "<="
    met = result.get("met")
    return [
        result["measure"],
        number(result["ours"], result["unit"]),
        number(result["baseline"], result["unit"]),
        "—" if result.get("ratio") is None else f"{result['ratio']:.2f}x",
        "—" if goal is None else f"{sign} {goal:g}x",
        "—" if met is None else ("yes" if met else "NO"),
    ]


def table(rows: list[list[str]]) -> str:
    header = ["measure", "ours", "baseline", "ratio", "goal", "met?"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=("quick", "full"), default="full")
    parser.add_argument("--only", nargs="*", choices=sorted(BENCHMARKS))
    parser.add_argument("--log", default=None, help="where the benchmarks' own output goes")
    args = parser.parse_args()
    log = Path(args.log or f"/tmp/reviewsite-bench-{args.mode}-{os.getpid()}.log")
    names = [
        name
        for name in args.only or list(BENCHMARKS)
        if BENCHMARKS[name][1 if args.mode == "quick" else 2] is not None
    ]
    database = os.environ.get("BENCH_DATABASE_URL", "throwaway SQLite files")
    if "BENCH_DATABASE_URL" in os.environ:
        ensure_bench_database(database)
    started, loads = time.monotonic(), [os.getloadavg()[0]]
    workdir = Path(tempfile.mkdtemp(prefix="reviewsite-bench-"))
    rows = []
    for name in names:
        print(f"running {name} ...", file=sys.stderr, flush=True)
        results, seconds, error = run_one(name, args.mode, log, workdir)
        loads.append(os.getloadavg()[0])
        rows += [row(r) for r in results]
        if error:
            rows.append([f"{name}: FAILED ({error[:80]})", "—", "—", "—", "—", "NO"])
        print(f"  {name}: {seconds:.0f}s, {len(results)} results", file=sys.stderr, flush=True)
    rows += [
        [f"{name}: not measured (no benchmark yet)", "—", "—", "—", "—", "—"]
        for name in NOT_BUILT
        if not args.only
    ]
    shutil.rmtree(workdir, ignore_errors=True)
    total = time.monotonic() - started
    print(table(rows))
    print()
    print(
        f"mode {args.mode}; {total:.0f}s; {os.cpu_count()} cores, {platform.machine()}, "
        f"Python {platform.python_version()}; load average {min(loads):.1f}-{max(loads):.1f} "
        f"during the run (shared machine: noisy); databases: {database}; full output: {log}"
    )


if __name__ == "__main__":
    main()
