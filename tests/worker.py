"""Real Celery worker processes for tests, against the configured broker and the test database.

Used by ``tests/workflows/test_worker.py``. Run as ``python -m tests.worker <celery args>`` it
starts the same worker as ``celery -A reviewsite worker`` (``app.worker_main`` is the CLI's
entry point) after applying test-only hooks read from the environment:

* ``REVIEWSITE_TEST_PAUSE_FILE`` / ``REVIEWSITE_TEST_REACHED_FILE``: after the sweep service
  returns (committed), write the executing pid to the reached file and wait while the pause
  file exists, so a test can kill the worker at a known point of a running task.
* ``REVIEWSITE_TEST_TRANSPORT_OPTIONS``: JSON merged into ``broker_transport_options`` (a short
  Redis visibility timeout for the redelivery test).

The hooks live here, not in the application, so production code carries no test switches.

Also here: ``RedisServer``, a private ``redis-server`` the outage tests stop and start,
and ``use_broker``, which points this process's publishing at another broker for a while.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
CELERY = str(Path(sys.executable).with_name("celery"))
#: Every wait in the worker tests is bounded by this many seconds.
TIMEOUT = 60


def database_url(settings_dict: dict) -> str:
    """A DATABASE_URL for the database the tests use right now (the test database)."""
    engine = settings_dict["ENGINE"]
    if engine.endswith("sqlite3"):
        return f"sqlite:///{Path(settings_dict['NAME']).resolve()}"
    if engine.endswith("postgresql"):
        user = quote(settings_dict.get("USER") or "")
        password = settings_dict.get("PASSWORD") or ""
        auth = f"{user}:{quote(password)}@" if password else (f"{user}@" if user else "")
        host = settings_dict.get("HOST") or "localhost"
        port = f":{settings_dict['PORT']}" if settings_dict.get("PORT") else ""
        return f"postgres://{auth}{host}{port}/{settings_dict['NAME']}"
    raise ValueError(f"no worker DATABASE_URL for {engine}")


def wait_for(
    predicate: Callable[[], object], *, timeout: float = TIMEOUT, what: str = ""
) -> object:
    """Poll ``predicate`` until it is truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"gave up after {timeout}s waiting for {what or predicate}")
        time.sleep(0.1)


def sent_mail(folder: Path, subject: str = "") -> list[str]:
    """Recipients of the messages the file email backend wrote, whose subject starts so."""
    if not folder.exists():
        return []
    recipients = []
    for path in sorted(folder.iterdir()):
        # The file backend separates messages with a line of 79 dashes.
        for message in path.read_text(errors="replace").split("-" * 79):
            to = re.search(r"^To: (.+)$", message, re.M)
            title = re.search(r"^Subject: (.*)$", message, re.M)
            if to and title and title.group(1).startswith(subject):
                recipients.append(to.group(1))
    return recipients


def purge_broker(app) -> None:
    """Drop waiting messages, and on Redis also the unacked ones a killed worker left."""
    with app.connection_for_write() as connection:
        channel = connection.default_channel
        for queue in app.conf.task_queues or [app.conf.task_default_queue]:
            with contextlib.suppress(Exception):
                channel.queue_purge(getattr(queue, "name", queue))
        client = getattr(channel, "client", None)
        if client is not None and connection.transport.driver_type == "redis":
            client.delete(channel.unacked_key, channel.unacked_index_key)


@contextlib.contextmanager
def broker_lock(app) -> Iterator[None]:
    """Serialise worker tests of concurrent pytest runs that share this broker."""
    name = hashlib.sha256(f"{app.conf.broker_url}|{ROOT}".encode()).hexdigest()[:16]
    path = Path(tempfile.gettempdir()) / f"reviewsite-worker-tests-{name}.lock"
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


class Worker:
    """One ``celery worker`` subprocess in its own process group, logging to a file."""

    def __init__(self, *, env: dict, log_dir: Path, cli: bool = False, pool: str = "prefork"):
        self.env = env
        self.name = f"test-{uuid.uuid4().hex[:8]}@%h"
        self.log = log_dir / f"worker-{uuid.uuid4().hex[:8]}.log"
        args = [
            "worker",
            f"--pool={pool}",
            "--concurrency=1",
            "--loglevel=INFO",
            # As the Procfile: both queues, transactional mail first.
            "--queues=transactional,bulk",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            f"--hostname={self.name}",
        ]
        self.command = (
            [CELERY, "-A", "reviewsite", *args] if cli else [PYTHON, "-m", "tests.worker", *args]
        )
        self.process: subprocess.Popen | None = None

    def start(self) -> Worker:
        """Start the process (it consumes once its broker connection is up)."""
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                self.command,
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return self

    def children(self) -> list[int]:
        """Pids of the pool processes (prefork)."""
        path = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(pid) for pid in path.read_text().split()] if path.exists() else []

    def kill(self) -> None:
        """SIGKILL the whole worker (main process and pool): nothing can be restored."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=TIMEOUT)

    def stop(self) -> None:
        """Warm shutdown, then SIGKILL if it does not finish in time."""
        if self.process is None or self.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.kill()

    def log_tail(self, lines: int = 60) -> str:
        """The end of the worker's log, for failure messages."""
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


def _install_hooks() -> None:
    """Apply the test-only hooks described in the module docstring (worker side)."""
    import django

    django.setup()
    from reviewsite.celery import app

    options = os.environ.get("REVIEWSITE_TEST_TRANSPORT_OPTIONS")
    if options:
        app.conf.broker_transport_options = {
            **(app.conf.broker_transport_options or {}),
            **json.loads(options),
        }
    pause = os.environ.get("REVIEWSITE_TEST_PAUSE_FILE")
    reached = os.environ.get("REVIEWSITE_TEST_REACHED_FILE")
    if pause and reached:
        from workflows import jobs

        sweep = jobs.flag_stale_articles

        def paused_sweep(**kwargs):
            result = sweep(**kwargs)  # committed, mails queued: the risky moment to die
            Path(reached).write_text(str(os.getpid()))
            deadline = time.monotonic() + TIMEOUT
            while Path(pause).exists() and time.monotonic() < deadline:
                time.sleep(0.05)
            return result

        jobs.flag_stale_articles = paused_sweep


def main(argv: list[str]) -> None:
    """``python -m tests.worker worker …``: the real worker, with the test hooks applied."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "reviewsite.settings")
    _install_hooks()
    from reviewsite.celery import app

    app.worker_main(argv)


if __name__ == "__main__":
    main(sys.argv[1:])


def free_port() -> int:
    """A TCP port nobody listens on right now (loopback)."""
    with contextlib.closing(socket.socket()) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class RedisServer:
    """A private ``redis-server`` on a free loopback port, to stop and start during a test."""

    def __init__(self, log_dir: Path):
        self.port = free_port()
        self.log = log_dir / f"redis-{self.port}.log"
        self.process: subprocess.Popen | None = None

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def start(self) -> RedisServer:
        """Start it and wait until it accepts connections."""
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", ""],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        wait_for(self._answers, what=f"redis-server on port {self.port}")
        return self

    def _answers(self) -> bool:
        with (
            contextlib.suppress(OSError),
            socket.create_connection(("127.0.0.1", self.port), timeout=1) as conn,
        ):
            conn.sendall(b"PING\r\n")
            return conn.recv(16).startswith(b"+PONG")
        return False

    def stop(self) -> None:
        """Stop it (SIGTERM, then SIGKILL) and wait until the port refuses connections."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=TIMEOUT)


@contextlib.contextmanager
def use_broker(app, url: str, transport_options: dict | None = None) -> Iterator[None]:
    """Publish from this process through ``url`` (and its options), results there too,
    until the block ends.

    Celery reads CELERY_BROKER_URL / CELERY_RESULT_BACKEND from the environment before
    its configuration, so both are switched (and restored) as well.
    """
    conf = app.conf
    names = ("broker_url", "result_backend", "broker_transport_options")
    saved_conf = {name: conf.get(name) for name in names}
    saved_env = {name: os.environ.get(name) for name in ENV_URLS}

    def reset_pools() -> None:
        # Dropped, not closed: kombu's pool registry shares them by URL.
        app._pool = None
        app.amqp._producer_pool = None
        with contextlib.suppress(AttributeError):
            del app._local.backend

    reset_pools()
    conf.broker_url = conf.result_backend = url
    for name in ENV_URLS:
        os.environ[name] = url
    if transport_options is not None:
        conf.broker_transport_options = transport_options
    try:
        yield
    finally:
        reset_pools()
        for name, value in saved_conf.items():
            conf[name] = value
        for name, value in saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


#: The environment variables Celery prefers to its configuration.
ENV_URLS = ("CELERY_BROKER_URL", "CELERY_RESULT_BACKEND")
