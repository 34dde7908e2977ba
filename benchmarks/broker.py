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
    began = time.time()
    started = time.perf_counter()
    for _ in range(n):
        ping.apply_async(ignore_result=True)
    return began, time.perf_counter() - started


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
        out = subprocess.run(
            [sys.executable, __file__, "--publish", str(n), "--broker", kind],
            env=env, cwd=ROOT, capture_output=True, text=True, check=True,
        )  # fmt: skip
        # Timed from the first publish (the publisher's own start-up is not the broker's).
        began, publish_seconds = map(float, out.stdout.split()[-2:])
        deadline = time.monotonic() + max(60, n)  # bounded: at worst 1 task/s
        while pings_done(log) < n:
            if time.monotonic() > deadline:
                break
            time.sleep(0.02)
        total = time.time() - began
        done = pings_done(log)
    finally:
        worker.terminate()
        worker.wait(timeout=30)
    return {"done": done, "n": n, "total": total, "publish": publish_seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=200)
    parser.add_argument("--broker", default="filesystem", choices=("filesystem", "sqlalchemy"))
    parser.add_argument("--polling-interval", type=float, default=None)
    parser.add_argument("--publish", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.publish:
        began, seconds = publish(args.publish)
        print(f"{began:.6f} {seconds:.4f}")
        return
    r = run(args.broker, args.tasks, args.polling_interval)
    rate = r["done"] / r["total"]
    print(f"{args.broker}: {r['done']}/{r['n']} tasks in {r['total']:.2f}s = {rate:.1f} tasks/s")
    sys.path.insert(0, str(ROOT))
    from benchmarks.report import emit

    emit(
        f"embedded broker ({args.broker})",
        rate,
        50.0,
        unit="tasks/s",
        higher_is_better=True,
        goal=1.0,
        detail=f"{r['done']}/{r['n']} pings through a real worker; baseline is the goal, "
        f"50 tasks/s (publishing alone: {r['n'] / r['publish']:.0f}/s)",
    )


if __name__ == "__main__":
    main()
