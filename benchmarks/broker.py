"""Embedded broker throughput: tasks a real worker completes per second.

Usage: .venv/bin/python benchmarks/broker.py [--tasks 200] [--broker filesystem|sqlalchemy]
       [--polling-interval 0.05]

Starts ``celery -A reviewsite worker`` (one process, as the Procfile's worker but
``--concurrency 1``) on a throwaway broker folder (or SQLite file), publishes N
``reviewsite.ping`` tasks, and times from the first publish until the worker has
acknowledged them all (counted from the worker's log of succeeded tasks). The baseline
is the publishing alone (the producer side, no worker). Prints one ``BENCH`` JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CELERY = str(Path(sys.executable).with_name("celery"))


def broker_env(kind: str, folder: Path, polling: float | None) -> dict:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "reviewsite.settings",
        "DATABASE_URL": f"sqlite:///{folder / 'db.sqlite3'}",
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "DJANGO_LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT),
    }
    env.pop("CELERY_RESULT_BACKEND", None)
    if kind == "filesystem":
        env["CELERY_BROKER_URL"] = "filesystem://"
        env["CELERY_FILESYSTEM_DIR"] = str(folder / "broker")
    else:
        env["CELERY_BROKER_URL"] = f"sqla+sqlite:///{folder / 'broker.sqlite3'}"
        env["CELERY_RESULT_BACKEND"] = f"file://{folder / 'results'}"
        (folder / "results").mkdir(exist_ok=True)
    if polling is not None:
        env["CELERY_BROKER_POLLING_INTERVAL"] = str(polling)
    return env


def pings_done(log: Path) -> int:
    return sum(
        1 for line in log.read_text().splitlines() if "ping[" in line and "succeeded" in line
    )


def publish(n: int) -> float:
    """In a child with the broker's environment: publish n pings, print the seconds."""
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from reviewsite.celery import app, ping

    app.connection_for_write().ensure_connection(max_retries=1)
    started = time.perf_counter()
    for _ in range(n):
        ping.apply_async(ignore_result=True)
    return time.perf_counter() - started


def run(kind: str, n: int, polling: float | None) -> dict:
    folder = Path(tempfile.mkdtemp(prefix="reviewsite-broker-bench-"))
    env = broker_env(kind, folder, polling)
    log = folder / "worker.log"
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"], env=env, cwd=ROOT, check=True
    )
    worker = subprocess.Popen(
        [CELERY, "-A", "reviewsite", "worker", "-Q", "transactional,bulk", "--concurrency", "1",
         "--loglevel", "INFO", "--without-heartbeat", "--without-mingle", "--without-gossip",
         "--logfile", str(log)],
        env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while "ready" not in (log.read_text() if log.exists() else ""):
            if time.monotonic() > deadline:
                raise SystemExit("worker did not start")
            time.sleep(0.1)
        started = time.perf_counter()
        out = subprocess.run(
            [sys.executable, __file__, "--publish", str(n), "--broker", kind],
            env=env, cwd=ROOT, capture_output=True, text=True, check=True,
        )  # fmt: skip
        publish_seconds = float(out.stdout.split()[-1])
        deadline = time.monotonic() + max(60, n)  # bounded: at worst 1 task/s
        while pings_done(log) < n:
            if time.monotonic() > deadline:
                break
            time.sleep(0.02)
        total = time.perf_counter() - started
        done = pings_done(log)
    finally:
        worker.terminate()
        worker.wait(timeout=30)
    return {
        "measure": f"embedded broker ({kind}), tasks/s",
        "ours": done / total,
        "baseline": n / publish_seconds,
        "unit": "tasks/s",
        "goal": ">= 50 tasks/s",
        "met": done == n and done / total >= 50,
        "detail": f"{done}/{n} tasks in {total:.2f}s; publishing alone {publish_seconds:.2f}s",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=200)
    parser.add_argument("--broker", default="filesystem", choices=("filesystem", "sqlalchemy"))
    parser.add_argument("--polling-interval", type=float, default=None)
    parser.add_argument("--publish", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.publish:
        print(f"{publish(args.publish):.4f}")
        return
    result = run(args.broker, args.tasks, args.polling_interval)
    print(f"{result['measure']}: {result['ours']:.1f} ({result['detail']})")
    print("BENCH " + json.dumps(result))


if __name__ == "__main__":
    main()
