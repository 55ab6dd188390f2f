"""Time to first byte of the pages, in process (Flask's test client: the whole application, no
network), with 10,000 certified products: the console's stock page of a hall holding every SKU, and
the public directory (first page, a text search, a filter, a deep page). The pages render whole
before sending, so the first byte comes when the response is finished.
    make bench BENCH=pages
"""

from __future__ import annotations

import os
import platform
import statistics
import time
from datetime import timedelta

import sqlalchemy as sa

from bench import search as search_bench
from bench.common import scratch_sqlite, table
from shop import clock
from shop.db import make_engine, transaction

PRODUCTS = int(os.environ.get("BENCH_PRODUCTS", 10_000))
REQUESTS = int(os.environ.get("BENCH_PAGES_REQUESTS", 200))
COMMAND = "make bench BENCH=pages"
HALL = 2


def stock_a_hall(database_url: str) -> int:
    """A centre and a hall holding a batch of every SKU (a tenth at or below their low-stock
    threshold, a seventh expiring within days); the seed's user 1 becomes an admin."""
    engine = make_engine(database_url)
    meta = sa.MetaData()
    meta.reflect(engine)
    t = meta.tables
    now = clock.now()
    today = now.date()
    place = {"district_id": 500103, "address": "解放碑", "opening_hours": {}, "is_active": True, "created_at": now}
    with engine.begin() as conn:
        conn.execute(t["role_grants"].insert(), [{"user_id": 1, "role": "admin", "scope_id": 0, "created_at": now}])
        conn.execute(
            t["locations"].insert(),
            [
                {"id": 1, "kind": "centre", "parent_id": None, "path": "/1/", "name": "中心", **place},
                {"id": HALL, "kind": "hall", "parent_id": 1, "path": f"/1/{HALL}/", "name": "专馆", **place},
            ],
        )
        sku_ids = list(conn.execute(sa.select(t["skus"].c.id).order_by(t["skus"].c.id)).scalars())
        batches, levels, batch_levels = [], [], []
        for sku_id in sku_ids:
            best_before = today + timedelta(days=3 if sku_id % 7 == 0 else 90)
            on_hand = 5 if sku_id % 10 == 0 else 50
            batches.append(
                {
                    "id": sku_id,
                    "sku_id": sku_id,
                    "trace_code": f"B-{sku_id}",
                    "produced_on": today,
                    "best_before": best_before,
                    "created_at": now,
                }
            )
            levels.append(
                {"location_id": HALL, "sku_id": sku_id, "on_hand": on_hand, "reserved": 0, "low_stock_threshold": 10}
            )
            batch_levels.append(
                {
                    "location_id": HALL,
                    "batch_id": sku_id,
                    "sku_id": sku_id,
                    "best_before": best_before,
                    "on_hand": on_hand,
                    "reserved": 0,
                }
            )
        conn.execute(t["stock_batches"].insert(), batches)
        conn.execute(t["stock_levels"].insert(), levels)
        conn.execute(t["batch_levels"].insert(), batch_levels)
    engine.dispose()
    return len(sku_ids)


def first_byte(client, path: str, n: int) -> tuple[float, float, float, int]:
    """p50 and p95 in ms of `n` GETs (after two warm-ups), the p50 of the CPU time this process
    spent on each (the database is in process too: on a shared machine the wall time also counts
    the time other processes held the cores), and the status."""
    for _ in range(2):
        status = client.get(path).status_code
    took, cpu = [], []
    for _ in range(n):
        started, started_cpu = time.perf_counter(), time.process_time()
        response = client.get(path)
        took.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - started_cpu) * 1000)
        status = response.status_code
    took.sort()
    return statistics.median(took), took[int(len(took) * 0.95) - 1], statistics.median(cpu), status


def main() -> None:
    from search.maintenance import reindex_embedded
    from shop import create_app

    with scratch_sqlite() as url:
        search_bench.seed(url, PRODUCTS)
        skus = stock_a_hall(url)
        app = create_app({"DATABASE_URL": url, "SEARCH_BACKEND": "embedded", "ELASTICSEARCH_URL": ""})
        with transaction(app.extensions["shop"]["sessionmaker"]) as session:
            reindex_embedded(session, lambda n: None)
        client = app.test_client()
        with client.session_transaction() as cookie:
            cookie["uid"] = 1
        paths = [
            ("console stock page", f"/console/locations/{HALL}"),
            ("console stock page, low only", f"/console/locations/{HALL}?low=1"),
            ("console stock page 100", f"/console/locations/{HALL}?page=100"),
            ("directory", "/products"),
            ("directory, text search", "/products?q=脐橙"),
            ("directory, district filter", "/products?district_id=500236"),
            ("directory page 200", "/products?page=200"),
        ]
        rows = []
        for name, path in paths:
            p50, p95, cpu, status = first_byte(client, path, REQUESTS)
            rows.append([name, path, status, f"{p50:.1f}", f"{p95:.1f}", f"{cpu:.1f}", "yes" if p95 <= 50 else "NO"])
        app.extensions["shop"]["engine"].dispose()
    print(
        table(
            f"Pages: time to first byte in process, {PRODUCTS:,} products, {skus:,} SKUs stocked at the hall, "
            f"{REQUESTS} requests each (SQLite, {platform.python_implementation()} {platform.python_version()})",
            COMMAND,
            ["page", "path", "status", "p50 ms", "p95 ms", "cpu p50 ms", "≤ 50 ms"],
            rows,
        )
    )
