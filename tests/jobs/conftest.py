"""Real workers (`celery worker` processes) on the real Redis and RabbitMQ of the machine, against a
scratch database of their own. Queue names are unique per test, so runs never see each other's
messages; a test whose broker is not reachable is skipped."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from shop import create_app, migrate
from shop.config import ROOT
from shop.jobs.registry import JOBS, load
from tests.conftest import TEST_CONFIG
from tests.orders.conftest import checkout

REDIS_URL = os.environ.get("SHOP_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
AMQP_URL = os.environ.get("SHOP_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672//")


def reachable(url: str) -> bool:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname, parts.port), timeout=1):
            return True
    except OSError:
        return False


def broker_url(kind: str) -> str:
    url = {"redis": REDIS_URL, "amqp": AMQP_URL}[kind]
    if not reachable(url):
        pytest.skip(f"{kind} broker not reachable at {url}")
    return url


def wait_for(predicate, timeout: float = 20.0, interval: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"not true within {timeout} s")


class Stack:
    """A migrated database, apps on it that really commit, and worker processes."""

    def __init__(self, database_url: str, folder: Path):
        self.database_url = database_url
        self.folder = folder
        self.queue = f"shop-test-{uuid.uuid4().hex[:12]}"
        self.procs: list[subprocess.Popen] = []
        self.apps = []
        self.brokers: set[str] = set()

    def settings(self, broker: str) -> dict:
        return {
            "DATABASE_URL": self.database_url,
            "JOBS_BROKER_URL": broker,
            "JOBS_QUEUE": self.queue,
            "JOBS_VISIBILITY_TIMEOUT": 2,
            "JOBS_RETRY_BACKOFF_SECONDS": 0.2,
            "JOBS_MAX_RETRIES": 2,
            "JOBS_MODULES": "tests.jobs.worker_jobs",
            "SEARCH_DRAIN_AFTER_COMMIT": "worker",
        }

    def app(self, broker: str = "memory://", **extra):
        self.brokers.add(broker)
        app = create_app({**TEST_CONFIG, **self.settings(broker), **extra})
        self.apps.append(app)
        return app

    def worker(self, broker: str, *, beat: bool = False, env: dict | None = None) -> subprocess.Popen:
        return self.workers(broker, 1, beat=beat, env=env)[0]

    def workers(self, broker: str, count: int, *, beat: bool = False, env: dict | None = None):
        """Start `count` workers at once; return them when all are ready."""
        procs = [self._start(broker, beat=beat, env=env) for _ in range(count)]
        for proc in procs:
            with contextlib.suppress(AssertionError):
                wait_for(lambda p=proc: "ready." in p.log.read_text() or p.poll() is not None, timeout=40)
            if proc.poll() is not None:
                raise AssertionError(f"worker exited: {proc.log.read_text()[-3000:]}")
        return procs

    def _start(self, broker: str, *, beat: bool, env: dict | None) -> subprocess.Popen:
        self.brokers.add(broker)
        log = self.folder / f"worker-{len(self.procs)}.log"
        environ = {
            **os.environ,
            **{k: str(v) for k, v in self.settings(broker).items()},
            "SEARCH_BACKEND": "embedded",
            "ELASTICSEARCH_URL": "",
            "LOG_FORMAT": "json",
            "PYTHONPATH": str(ROOT),
            **(env or {}),
        }
        environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
        cmd = [
            str(Path(sys.executable).parent / "celery"),
            "-A",
            "shop.jobs.worker:celery",
            "worker",
            "--pool",
            "threads",
            "--concurrency",
            "1",
            "--without-heartbeat",
            "--without-gossip",
            "--without-mingle",
            "--hostname",
            f"w{len(self.procs)}-{uuid.uuid4().hex[:6]}@%h",
            "--loglevel",
            "INFO",
        ]
        if beat:
            cmd += ["--beat", "--schedule", str(self.folder / f"beat-{len(self.procs)}")]
        out = open(log, "w")  # noqa: SIM115  (kept open for the process's life)
        # its own process group: killing the group takes the pool's children too, which a kill of the
        # main process alone would leave running
        proc = subprocess.Popen(
            cmd, cwd=ROOT, env=environ, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        proc.log = log
        self.procs.append(proc)
        return proc

    def kill(self, proc: subprocess.Popen) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)

    def close(self) -> None:
        for proc in self.procs:  # nothing to finish gracefully: the queues are dropped next
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        for app in self.apps:
            app.extensions["shop"]["engine"].dispose()
        self._drop_queues()

    def _drop_queues(self) -> None:
        if REDIS_URL in self.brokers:
            import redis

            client = redis.Redis.from_url(REDIS_URL)
            keys = [*client.keys(f"{self.queue}*"), *client.keys("_kombu.binding.*" + self.queue + "*")]
            if keys:
                client.delete(*keys)
        if AMQP_URL in self.brokers:
            from kombu import Connection

            with Connection(AMQP_URL) as conn:
                channel = conn.channel()
                channel.queue_delete(self.queue)
                channel.exchange_delete(self.queue)


@pytest.fixture
def stack(scratch_database_url, tmp_path):
    migrate.upgrade(scratch_database_url)
    load("tests.jobs.worker_jobs")
    stack = Stack(scratch_database_url, tmp_path)
    yield stack
    stack.close()


@pytest.fixture(scope="module")
def shared(database_url, tmp_path_factory):
    """One database and one Redis worker for the tests that need nothing of their own (a worker
    takes seconds to start)."""
    folder = tmp_path_factory.mktemp("jobs")
    if database_url.startswith("postgresql"):
        import sqlalchemy as sa

        from shop.db import make_engine, normalise_url

        name = f"shop_jobs_{uuid.uuid4().hex[:12]}"
        server = make_engine(database_url).execution_options(isolation_level="AUTOCOMMIT")
        with server.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        url = sa.make_url(normalise_url(database_url)).set(database=name).render_as_string(hide_password=False)
    else:
        server, url = None, f"sqlite:///{folder / 'jobs.db'}"
    migrate.upgrade(url)
    load("tests.jobs.worker_jobs")
    stack = Stack(url, folder)
    if reachable(REDIS_URL):
        stack.worker(REDIS_URL)
    yield stack
    stack.close()
    if server is not None:
        with server.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        server.dispose()


def all_jobs_off_but(*names: str) -> str:
    return ",".join(f"{name}={0 if name not in names else 1}" for name in JOBS if JOBS[name].period or name in names)


def place_order(app, counter_id, sku_id, headers) -> int:
    client = app.test_client()
    response = client.post(
        "/api/v1/cart/lines",
        headers=headers,
        json={"sku_id": sku_id, "quantity": 1, "fulfilment": "pickup", "location_id": counter_id},
    )
    assert response.status_code == 201, response.json
    order = checkout(client, headers)
    assert order.status_code == 201, order.json
    return order.json["id"]
