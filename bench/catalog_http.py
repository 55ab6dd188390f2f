"""GET /api/v1/products (a page of 20 of certified products) beside GET /api/v1/health, through
gunicorn with the same workers, the catalog cache warm: requests/s, p50/p99 latency and the page's rate
as a share of health's (medians of BENCH_ROUNDS rounds), with stock at a hall and counters for the availability the page
counts (some batches expired, frozen, quarantined, some counters inactive). Then the cold path in process: the first
request after a change committed by another transaction (the version moved on), and its statements.

At the platform's scale on PostgreSQL:
BENCH_DATABASE_URL=postgresql://…/shop_bench BENCH_PRODUCTS=300000 make bench BENCH=catalog
(the seed uses COPY and is kept for the next run when the database holds that many products)."""

from __future__ import annotations

import json
import os
import platform
import statistics
import time
import uuid
from datetime import timedelta

import sqlalchemy as sa

from bench.common import gunicorn, load, scratch_sqlite, table
from shop import clock, create_app, migrate
from shop.certification.models import CertStatus
from shop.db import make_engine
from shop.inventory.models import china_today

PRODUCTS = int(os.environ.get("BENCH_PRODUCTS", 10_000))
REQUESTS = int(os.environ.get("BENCH_REQUESTS", 2_000))
CONCURRENCY = int(os.environ.get("BENCH_CONCURRENCY", 4))
WORKERS = int(os.environ.get("BENCH_WORKERS", 2))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", 3))
COLD_ROUNDS = int(os.environ.get("BENCH_COLD_ROUNDS", 50))


def seed(database_url: str, products: int) -> None:
    """Bulk-insert a realistic catalog: every product with one SKU and a certification in force
    (COPY on PostgreSQL). A database already holding exactly that many products is kept as it is."""
    migrate.upgrade(database_url)
    engine = make_engine(database_url)
    meta = sa.MetaData()
    meta.reflect(engine)
    t = meta.tables
    with engine.connect() as conn:
        if conn.scalar(sa.select(sa.func.count()).select_from(t["products"])) == products:
            engine.dispose()
            return
    now = clock.now()
    districts = [500236, 500237, 500102, 500240, 500229, 500156, 500103, 500242]
    with engine.begin() as conn:
        conn.execute(
            t["users"].insert(),
            [
                {
                    "id": 1,
                    "email": "bench@x.cq",
                    "password_hash": "-",
                    "display_name": "bench",
                    "is_active": True,
                    "created_at": now,
                }
            ],
        )
        conn.execute(
            t["categories"].insert(), [{"id": 1, "parent_id": None, "name": "Fruit", "slug": "fruit", "path": "/1/"}]
        )
        conn.execute(
            t["suppliers"].insert(),
            [
                {
                    "id": i + 1,
                    "name": f"Supplier {i}",
                    "uscc": f"{i:018d}",
                    "district_id": d,
                    "address": "",
                    "contact_name": "c",
                    "contact_phone": "1",
                    "contact_email": None,
                    "created_at": now,
                }
                for i, d in enumerate(districts)
            ],
        )
        conn.execute(
            t["announcements"].insert(),
            [
                {
                    "id": 1,
                    "title": "bench",
                    "published_at": now - timedelta(days=30),
                    "objection_until": now - timedelta(days=23),
                    "published_by_id": 1,
                }
            ],
        )
        for start in range(0, products, 20_000):
            ids = range(start + 1, min(start + 20_000, products) + 1)
            _insert(
                conn,
                t["products"],
                [
                    {
                        "id": i,
                        "supplier_id": i % 8 + 1,
                        "category_id": 1,
                        "brand_id": None,
                        "kind": "goods",
                        "name": f"脐橙 Product {i}",
                        "description": "bench",
                        "origin_district_id": districts[i % 8],
                        "origin_township_id": None,
                        "images": ["https://img.example.com/x.jpg"],
                        "created_at": now - timedelta(seconds=i),
                        "updated_at": now,
                    }
                    for i in ids
                ],
            )
            _insert(
                conn,
                t["skus"],
                [
                    {
                        "id": i,
                        "product_id": i,
                        "code": f"SKU-{i}",
                        "name": "",
                        "price_fen": 100 + i % 9000,
                        "unit": "box",
                        "net_weight_g": 1000,
                        "is_active": True,
                    }
                    for i in ids
                ],
            )
            _insert(
                conn,
                t["certifications"],
                [
                    {
                        "id": i,
                        "product_id": i,
                        "supplier_id": i % 8 + 1,
                        "district_id": districts[i % 8],
                        "township_id": None,
                        "status": CertStatus.PUBLISHED.value,
                        "production_base": "b",
                        "expected_yearly_output": 1,
                        "output_unit": "kg",
                        "households_benefiting": 1,
                        "renews_id": None,
                        "certificate_no": f"CQXF-{i}",
                        "decision_reason": None,
                        "announcement_id": 1,
                        "objection_until": now - timedelta(days=23),
                        "valid_from": now - timedelta(days=23),
                        "valid_until": now + timedelta(days=365),
                        "applied_by_id": 1,
                        "created_at": now,
                    }
                    for i in ids
                ],
            )
        _seed_stock(conn, t, products, now)
    if engine.dialect.name == "postgresql":  # statistics, as a live database has them
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text("ANALYZE"))
    engine.dispose()


def _seed_stock(conn: sa.Connection, t: dict, products: int, now) -> None:
    """Stock for the availability the page counts: every product a batch at a hall, every third one a
    second batch at a counter, every tenth an expired batch there too, every twentieth its hall batch
    frozen, every fiftieth quarantined at the counter; the counter of every seventh is inactive."""
    today = china_today(now)
    place = {"district_id": 500236, "address": "", "opening_hours": {}, "created_at": now}
    _insert(
        conn,
        t["locations"],
        [
            {"id": 1, "kind": "centre", "parent_id": None, "path": "/1/", "name": "Centre", **place}
            | {"host_institution": None, "is_active": True},
            {"id": 2, "kind": "hall", "parent_id": 1, "path": "/1/2/", "name": "Hall", **place}
            | {"host_institution": None, "is_active": True},
        ]
        + [
            {"id": c, "kind": "counter", "parent_id": 2, "path": f"/1/2/{c}/", "name": f"Counter {c}", **place}
            | {"host_institution": "school", "is_active": c % 7 != 0}
            for c in range(3, 23)
        ],
    )
    batches, levels, batch_levels = [], {}, []
    for i in range(1, products + 1):
        held = [(2, today + timedelta(days=30), now if i % 20 == 0 else None, None)]
        if i % 3 == 0:
            counter = 3 + i % 20
            held.append((counter, today + timedelta(days=9), None, now if i % 50 == 0 else None))
            if i % 10 == 0:
                held.append((counter, today - timedelta(days=1), None, None))
        for location, best_before, frozen, quarantined in held:
            batch = len(batches) + 1
            batches.append(
                {
                    "id": batch,
                    "sku_id": i,
                    "trace_code": f"TC-{batch}",
                    "produced_on": today - timedelta(days=20),
                    "best_before": best_before,
                    "created_at": now,
                    "frozen_at": frozen,
                }
            )
            level = levels.setdefault((location, i), {"location_id": location, "sku_id": i, "on_hand": 0})
            level["on_hand"] += 5
            batch_levels.append(
                {
                    "location_id": location,
                    "batch_id": batch,
                    "sku_id": i,
                    "best_before": best_before,
                    "on_hand": 5,
                    "reserved": 0,
                    "quarantined_at": quarantined,
                }
            )
    for start in range(0, len(batches), 20_000):
        _insert(conn, t["stock_batches"], batches[start : start + 20_000])
    stock = [level | {"reserved": 0, "low_stock_threshold": 0} for level in levels.values()]
    for start in range(0, len(stock), 20_000):
        _insert(conn, t["stock_levels"], stock[start : start + 20_000])
    for start in range(0, len(batch_levels), 20_000):
        _insert(conn, t["batch_levels"], batch_levels[start : start + 20_000])


def _insert(conn: sa.Connection, table: sa.Table, rows: list[dict]) -> None:
    """INSERT the rows; on PostgreSQL with COPY, many times faster at 300,000 products."""
    if conn.dialect.name != "postgresql":
        conn.execute(table.insert(), rows)
        return
    columns = list(rows[0])
    json_columns = {c.name for c in table.columns if isinstance(c.type, sa.JSON)}
    cursor = conn.connection.driver_connection.cursor()
    with cursor.copy(f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row([json.dumps(row[c]) if c in json_columns else row[c] for c in columns])


def _bump(engine: sa.Engine) -> None:
    """A change in another transaction: the catalog version moves on, every cached page is cold."""
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE catalog_versions SET token = :t WHERE id = 1"), {"t": uuid.uuid4().hex})


def in_process(database_url: str, path: str, rounds: int) -> dict:
    """Latency (ms) of `path` in process through the Flask test client: cold (the first request
    after a change committed by another transaction) and warm, and the statements of each."""
    app = create_app({"DATABASE_URL": database_url, "SHOP_ENV": "development"})
    engine = app.extensions["shop"]["engine"]
    client = app.test_client()
    statements: list[str] = []

    def record(_conn, _cursor, statement, *_args):
        statements.append(statement)

    for _ in range(5):  # warm the interpreter, the pool and the database's buffers
        _bump(engine)
        client.get(path)
    cold, warm = [], []
    sa.event.listen(engine, "before_cursor_execute", record)
    cold_statements = warm_statements = 0
    for _ in range(rounds):
        _bump(engine)
        statements.clear()
        started = time.perf_counter()
        assert client.get(path).status_code == 200
        cold.append((time.perf_counter() - started) * 1000)
        cold_statements = max(cold_statements, len(statements))
        statements.clear()
        started = time.perf_counter()
        assert client.get(path).status_code == 200
        warm.append((time.perf_counter() - started) * 1000)
        warm_statements = max(warm_statements, len(statements))
    sa.event.remove(engine, "before_cursor_execute", record)
    engine.dispose()
    cold.sort()
    warm.sort()
    return {
        "cold_p50": statistics.median(cold),
        "cold_p90": cold[int(len(cold) * 0.9) - 1],
        "warm_p50": statistics.median(warm),
        "cold_statements": cold_statements,
        "warm_statements": warm_statements,
    }


def main() -> None:
    url = os.environ.get("BENCH_DATABASE_URL")
    products_path = "/api/v1/products?size=20"
    filtered_path = "/api/v1/products?size=20&district_id=500236&sort=price"
    with scratch_sqlite() as sqlite_url:
        database_url = url or sqlite_url
        started = time.perf_counter()
        seed(database_url, PRODUCTS)
        seeded = time.perf_counter() - started
        rounds = []
        with gunicorn(database_url, WORKERS) as port:
            load(port, products_path, requests=100, concurrency=2)  # warm-up: the cache fills
            load(port, filtered_path, requests=100, concurrency=2)
            for _ in range(ROUNDS):
                health = load(port, "/api/v1/health", requests=REQUESTS, concurrency=CONCURRENCY)
                products = load(port, products_path, requests=REQUESTS, concurrency=CONCURRENCY)
                filtered = load(port, filtered_path, requests=REQUESTS, concurrency=CONCURRENCY)
                rounds.append((health, products, filtered))
        cold = {path: in_process(database_url, path, COLD_ROUNDS) for path in (products_path, filtered_path)}
    rows = []
    for index, name in enumerate(
        ("GET /api/v1/health", f"GET {products_path} (warm)", "GET …&district_id=…&sort=price (warm)")
    ):
        runs = [r[index] for r in rounds]
        ratios = [r[index]["rps"] / r[0]["rps"] for r in rounds]
        rows.append(
            [
                name,
                sum(r["requests"] for r in runs),
                sum(r["errors"] for r in runs),
                f"{statistics.median(r['rps'] for r in runs):.0f}",
                f"{statistics.median(r['p50'] for r in runs):.1f}",
                f"{statistics.median(r['p99'] for r in runs):.1f}",
                f"{statistics.median(ratios) * 100:.0f} %",
            ]
        )
    engine = database_url.split(":")[0]
    print(
        table(
            f"Catalog over HTTP: {PRODUCTS:,} certified products, gunicorn {WORKERS} workers, "
            f"{CONCURRENCY} client threads, cache warm, {engine}, medians of {ROUNDS} rounds, "
            f"Python {platform.python_version()}, {os.cpu_count()} cores (seeded in {seeded:.0f} s)",
            "make bench BENCH=catalog",
            ["endpoint", "requests", "errors", "req/s", "p50 ms", "p99 ms", "rate vs health"],
            rows,
        )
    )
    print(
        table(
            f"Catalog in process, cold (the first request after a change committed elsewhere) and warm: "
            f"{PRODUCTS:,} products, {engine}, {COLD_ROUNDS} changes",
            "make bench BENCH=catalog",
            ["path", "cold p50 ms", "cold p90 ms", "cold statements", "warm p50 ms", "warm statements"],
            [
                [
                    path,
                    f"{c['cold_p50']:.2f}",
                    f"{c['cold_p90']:.2f}",
                    c["cold_statements"],
                    f"{c['warm_p50']:.2f}",
                    c["warm_statements"],
                ]
                for path, c in cold.items()
            ],
        )
    )


if __name__ == "__main__":
    main()
