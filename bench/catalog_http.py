"""GET /api/v1/products (a page of 20 from 10,000 certified products) beside GET /api/v1/health,
through gunicorn with the same workers; requests/s, p50/p99 latency and their ratio."""

from __future__ import annotations

import os
import platform
from datetime import timedelta

import sqlalchemy as sa

from bench.common import gunicorn, load, scratch_sqlite, table
from shop import clock, migrate
from shop.certification.models import CertStatus
from shop.db import make_engine

PRODUCTS = int(os.environ.get("BENCH_PRODUCTS", 10_000))
REQUESTS = int(os.environ.get("BENCH_REQUESTS", 2_000))
CONCURRENCY = int(os.environ.get("BENCH_CONCURRENCY", 4))
WORKERS = int(os.environ.get("BENCH_WORKERS", 2))


def seed(database_url: str, products: int) -> None:
    """Bulk-insert a realistic catalog: every product with one SKU and a certification in force."""
    migrate.upgrade(database_url)
    engine = make_engine(database_url)
    meta = sa.MetaData()
    meta.reflect(engine)
    t = meta.tables
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
        for start in range(0, products, 2_000):
            ids = range(start + 1, min(start + 2_000, products) + 1)
            conn.execute(
                t["products"].insert(),
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
            conn.execute(
                t["skus"].insert(),
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
            conn.execute(
                t["certifications"].insert(),
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
    engine.dispose()


def main() -> None:
    url = os.environ.get("BENCH_DATABASE_URL")
    with scratch_sqlite() as sqlite_url:
        database_url = url or sqlite_url
        seed(database_url, PRODUCTS)
        with gunicorn(database_url, WORKERS) as port:
            load(port, "/api/v1/products?size=20", requests=100, concurrency=2)  # warm-up
            health = load(port, "/api/v1/health", requests=REQUESTS, concurrency=CONCURRENCY)
            products = load(port, "/api/v1/products?size=20", requests=REQUESTS, concurrency=CONCURRENCY)
            filtered = load(
                port,
                "/api/v1/products?size=20&district_id=500236&sort=price",
                requests=REQUESTS,
                concurrency=CONCURRENCY,
            )
    rows = []
    for name, r in (
        ("GET /api/v1/health", health),
        ("GET /api/v1/products?size=20", products),
        ("GET /api/v1/products?size=20&district_id=…&sort=price", filtered),
    ):
        rows.append(
            [
                name,
                r["requests"],
                r["errors"],
                f"{r['rps']:.0f}",
                f"{r['p50']:.1f}",
                f"{r['p99']:.1f}",
                f"{health['rps'] / r['rps']:.2f}",
            ]
        )
    engine = database_url.split(":")[0]
    print(
        table(
            f"Catalog over HTTP: {PRODUCTS:,} certified products, gunicorn {WORKERS} workers, "
            f"{CONCURRENCY} client threads, {engine}, Python {platform.python_version()}, {os.cpu_count()} cores",
            "make bench BENCH=catalog",
            ["endpoint", "requests", "errors", "req/s", "p50 ms", "p99 ms", "health/this"],
            rows,
        )
    )


if __name__ == "__main__":
    main()
