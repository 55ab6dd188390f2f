"""`make bench BENCH=worker`: jobs per second through a real worker on Redis, for a no-op job (the
queue itself) and for the search outbox sync job (each run takes the drain lease, applies what is
pending and releases it), on an SQLite scratch database.

Each cell: N jobs are sent, then the clock runs until the queue and the broker's unacknowledged
set are both empty. Sending and running are timed apart."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import time
import uuid

import sqlalchemy as sa

from bench.common import ROOT, scratch_sqlite, table

REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
JOBS = int(os.environ.get("BENCH_JOBS", "2000"))
CONCURRENCY = os.environ.get("BENCH_WORKER_CONCURRENCY", "2")


def start_worker(env: dict, log: str) -> subprocess.Popen:
    proc = subprocess.Popen(
        [
            str(os.path.join(os.path.dirname(sys.executable), "celery")),
            "-A",
            "shop.jobs.worker:celery",
            "worker",
            "--pool",
            "prefork",
            "--concurrency",
            CONCURRENCY,
            "--without-heartbeat",
            "--without-gossip",
            "--without-mingle",
            "--loglevel",
            "WARNING",
        ],
        cwd=ROOT,
        env=env,
        stdout=open(log, "w"),  # noqa: SIM115
        stderr=subprocess.STDOUT,
    )
    return proc


def drained(client, queue: str) -> bool:
    return client.llen(queue) == 0 and client.hlen("unacked") == 0


def measure(app, client, queue: str, job: str, count: int, before=None) -> tuple[float, float]:
    from shop import jobs

    if before:
        before()
    with app.app_context():
        started = time.perf_counter()
        for _ in range(count):
            jobs.enqueue(job)
        sent = time.perf_counter() - started
    while not drained(client, queue):
        time.sleep(0.01)
    return sent, time.perf_counter() - started


def main() -> None:
    import redis

    from search.models import SearchOutbox
    from shop import clock, create_app, demo, migrate
    from shop.catalog.models import Product
    from shop.db import transaction

    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.ConnectionError:
        print(f"worker bench skipped: no Redis at {REDIS_URL}\n")
        return
    queue = f"shop-bench-{uuid.uuid4().hex[:10]}"
    with scratch_sqlite() as url:
        migrate.upgrade(url)
        settings = {
            "DATABASE_URL": url,
            "JOBS_BROKER_URL": REDIS_URL,
            "JOBS_QUEUE": queue,
            "SEARCH_BACKEND": "embedded",
            "ELASTICSEARCH_URL": "",
            "SEARCH_DRAIN_AFTER_COMMIT": "off",
            "LOG_LEVEL": "WARNING",
            "JOBS_SCHEDULE": "search.sync=0,orders.expire=0,vouchers.expire=0,payments.reconcile=0,"
            "alerts.low_stock=0,alerts.stale_counters=0,checks.ledgers=0",
        }
        app = create_app({k: v for k, v in settings.items() if k != "JOBS_SCHEDULE"})
        with transaction(app.extensions["shop"]["sessionmaker"]) as session:
            demo.load(session)
        with transaction(app.extensions["shop"]["sessionmaker"]) as session:
            product_ids = list(session.scalars(sa.select(Product.id)))

        def fill_outbox():
            now = clock.now()
            with transaction(app.extensions["shop"]["sessionmaker"]) as session:
                session.execute(
                    sa.insert(SearchOutbox),
                    [{"product_id": product_ids[i % len(product_ids)], "created_at": now} for i in range(JOBS)],
                )

        env = {**os.environ, **settings, "PYTHONPATH": str(ROOT)}
        env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        worker = start_worker(env, os.path.join(os.path.dirname(url.removeprefix("sqlite:///")), "worker.log"))
        try:
            with app.app_context():
                from shop import jobs

                jobs.enqueue("noop")  # warm up: the worker is up once this is gone
            while not drained(client, queue):
                time.sleep(0.05)
            rows = []
            for name, job, before in (
                ("no-op", "noop", None),
                ("outbox sync, one pending row per job", "search.sync", fill_outbox),
            ):
                sent, total = measure(app, client, queue, job, JOBS, before)
                rows.append([name, JOBS, f"{JOBS / sent:,.0f}", f"{JOBS / total:,.0f}", f"{total:.2f}"])
            with transaction(app.extensions["shop"]["sessionmaker"]) as session:
                left = session.scalar(sa.select(sa.func.count()).select_from(SearchOutbox))
        finally:
            worker.terminate()
            worker.wait(30)
            client.delete(queue)
            app.extensions["shop"]["engine"].dispose()
    print(
        table(
            f"Jobs through a Celery worker on Redis (prefork, concurrency {CONCURRENCY}), SQLite database, "
            f"Python {platform.python_version()}, {os.cpu_count()} cores",
            "make bench BENCH=worker",
            ["job", "jobs", "sent/s", "run/s (send to done)", "seconds"],
            rows,
        )
    )
    print(f"outbox rows left after the sync jobs: {left}\n")
