"""Checkouts per second on one hot SKU under parallel clients, beside a bare conditional UPDATE on
the same database; and the latency of pricing a 50-line cart.

A checkout is the whole use case in one transaction: put the SKU in the buyer's cart, lock the cart,
re-price it (certification, promotions), create the order and its lines, reserve the unit at the
hall (lock, FEFO pick, conditional UPDATEs, ledger rows), clear the cart, commit. Clients are
processes. Scratch database: SQLite, or one created on the BENCH_DATABASE_URL server and dropped."""

from __future__ import annotations

import multiprocessing
import os
import platform
import statistics
import time
from datetime import timedelta

import sqlalchemy as sa

from bench.common import table
from bench.inventory_stock import SECONDS, scratch_database, seed
from shop import clock, create_app
from shop.auth import service as auth_service
from shop.catalog import service as catalog
from shop.catalog.models import Product
from shop.db import make_engine, transaction
from shop.demo.catalog import certify
from shop.errors import DomainError
from shop.inventory.ledger import check_balances
from shop.orders import cart, checkout
from shop.orders import service as orders
from shop.orders.models import Fulfilment
from shop.promotions import quoting
from shop.promotions import service as offers
from shop.promotions.pricing import PromotionKind
from shop.sessions import make_sessionmaker

CLIENTS = [int(n) for n in os.environ.get("BENCH_ORDERS_CLIENTS", "1,4,16").split(",")]
QUOTES = int(os.environ.get("BENCH_QUOTES", 300))
BUYERS_PER_CLIENT = 50


def _buyers(url: str, count: int) -> list[int]:
    engine = make_engine(url)
    with transaction(make_sessionmaker(engine)) as session:
        ids = [
            auth_service.register_user(session, login=f"buyer{n}@bench.cq", password="bench-pass", display_name="b").id
            for n in range(count)
        ]
    engine.dispose()
    return ids


def _client(job: tuple) -> tuple[int, int]:
    kind, url, hall_id, sku_id, buyers, start, stop = job
    engine = make_engine(url)
    factory = make_sessionmaker(engine)
    bare = sa.text("UPDATE bench_counter SET qty = qty - 1 WHERE id = 1 AND qty >= 1")
    settings = orders.OrderSettings()
    done = errors = 0
    while time.time() < start:
        time.sleep(0.001)
    while time.time() < stop:
        try:
            if kind == "bare":
                with engine.begin() as conn:
                    conn.execute(bare)
            else:
                buyer = buyers[done % len(buyers)]
                with transaction(factory, write=True) as session:
                    actor = auth_service.load_actor(session, buyer)
                    cart.add_line(
                        session,
                        buyer,
                        data={
                            "sku_id": sku_id,
                            "quantity": 1,
                            "location_id": hall_id,
                            "fulfilment": Fulfilment.PICKUP,
                            "rush_sale_id": None,
                        },
                    )
                    checkout.checkout(
                        session,
                        actor,
                        line_ids=None,
                        coupon_code=None,
                        points_requested=0,
                        delivery_address=None,
                        settings=settings,
                        now=clock.now(),
                    )
            done += 1
        except (sa.exc.OperationalError, DomainError):
            errors += 1
    engine.dispose()
    return done, errors


def measure(kind, url, hall_id, sku_id, buyers, clients) -> tuple[float, int]:
    start = time.time() + 1.0
    jobs = [(kind, url, hall_id, sku_id, buyers[i::clients], start, start + SECONDS) for i in range(clients)]
    with multiprocessing.get_context("fork").Pool(clients) as pool:
        results = pool.map(_client, jobs)
    return sum(d for d, _ in results) / SECONDS, sum(e for _, e in results)


def _fifty_line_cart(url: str) -> tuple[int, list[quoting.Item]]:
    """50 certified products of 5 categories, a threshold discount, a scoped percentage, a coupon."""
    engine = make_engine(url)
    now = clock.now()
    with transaction(make_sessionmaker(engine)) as session:
        admin = auth_service.load_actor(session, 1)
        product = session.scalar(sa.select(Product))
        cats = [catalog.create_category(session, admin, name=f"C{n}", slug=f"c-{n}", parent_id=None) for n in range(5)]
        items = []
        for n in range(50):
            p = catalog.create_product(
                session,
                admin,
                supplier_id=product.supplier_id,
                data={
                    "name": f"P{n}",
                    "category_id": cats[n % 5].id,
                    "origin_district_id": product.origin_district_id,
                    "skus": [{"code": f"Q-{n}", "price_fen": 500 + 37 * n, "unit": "box"}],
                },
            )
            items.append(quoting.Item(key=str(n), sku_id=p.skus[0].id, quantity=1 + n % 3))
            certify(session, admin, admin, p, "in_force", now, 7, 365)
        window = {"starts_at": now - timedelta(days=1), "ends_at": now + timedelta(days=1)}
        offers.create_promotion(
            session,
            admin,
            data={
                "name": "满减",
                "kind": PromotionKind.THRESHOLD_DISCOUNT,
                "tiers": [[9900, 1000], [19900, 3000]],
                **window,
            },
        )
        offers.create_promotion(
            session,
            admin,
            data={
                "name": "9折",
                "kind": PromotionKind.PERCENT_DISCOUNT,
                "percent_bp": 1000,
                "category_ids": [cats[0].id],
                **window,
            },
        )
        offers.create_coupon(
            session,
            admin,
            data={"code": "BENCH", "name": "b", "kind": "fixed", "value": 500, "min_spend_fen": 1000, **window},
        )
        buyer = auth_service.register_user(session, login="quoter@bench.cq", password="bench-pass", display_name="q")
        buyer_id = buyer.id
    engine.dispose()
    return buyer_id, items


def _quote_latencies(url: str, buyer_id: int, items: list[quoting.Item]) -> list[float]:
    engine = make_engine(url)
    factory = make_sessionmaker(engine)
    times = []
    for _ in range(QUOTES):
        started = time.perf_counter()
        with transaction(factory) as session:
            quote = quoting.quote(
                session,
                user_id=buyer_id,
                items=items,
                coupon_code="BENCH",
                points_requested=0,
                settings=quoting.PointsSettings(),
                now=clock.now(),
            )
        times.append((time.perf_counter() - started) * 1000)
        assert len(quote.lines) == 50 and not quote.problems
    engine.dispose()
    return times


def _http_quote_latencies(url: str, buyer_id: int, items: list[quoting.Item]) -> list[float]:
    app = create_app({"DATABASE_URL": url})
    from flask_jwt_extended import create_access_token

    with app.app_context():
        token = create_access_token(identity=str(buyer_id))
    client = app.test_client()
    body = {"items": [{"sku_id": i.sku_id, "quantity": i.quantity} for i in items], "coupon_code": "BENCH"}
    times = []
    for _ in range(QUOTES):
        started = time.perf_counter()
        response = client.post("/api/v1/quotes", json=body, headers={"Authorization": f"Bearer {token}"})
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200
    app.extensions["shop"]["engine"].dispose()
    return times


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


def main() -> None:
    with scratch_database() as url:
        hall_id, sku_id = seed(url)
        buyers = _buyers(url, BUYERS_PER_CLIENT * max(CLIENTS))
        rows = []
        for clients in CLIENTS:
            bare, bare_errors = measure("bare", url, hall_id, sku_id, buyers, clients)
            checkouts, errors = measure("checkout", url, hall_id, sku_id, buyers, clients)
            rows.append([clients, f"{bare:,.0f}", f"{checkouts:,.0f}", f"{bare / checkouts:.1f}", bare_errors + errors])
        engine = make_engine(url)
        with transaction(make_sessionmaker(engine)) as session:
            drifts = check_balances(session)
            reserved = session.scalar(sa.text("SELECT sum(reserved) FROM stock_levels"))
            orders_made = session.scalar(sa.text("SELECT count(*) FROM orders"))
        engine.dispose()
        buyer_id, items = _fifty_line_cart(url)
        service_ms = _quote_latencies(url, buyer_id, items)
        http_ms = _http_quote_latencies(url, buyer_id, items)
        dialect = "postgresql" if url.startswith("postgresql") else "sqlite"
    suffix = " BENCH_DATABASE_URL=…" if dialect == "postgresql" else ""
    print(
        table(
            f"Checkouts on one hot SKU vs a bare conditional UPDATE: {dialect}, {SECONDS:g} s per cell, client "
            f"processes, Python {platform.python_version()}, {os.cpu_count()} cores",
            "make bench BENCH=orders" + suffix,
            ["clients", "bare UPDATE tx/s", "checkouts/s", "bare/checkout", "errors"],
            rows,
        )
    )
    print(f"afterwards: {orders_made:,} orders, {reserved:,} units reserved, {len(drifts)} balance(s) drifting\n")
    print(
        table(
            f"Pricing a 50-line cart (2 promotions, a coupon), {QUOTES} quotes, {dialect}",
            "make bench BENCH=orders" + suffix,
            ["path", "p50 ms", "p99 ms", "mean ms"],
            [
                [
                    "quoting.quote (service, own transaction)",
                    f"{_p(service_ms, 0.5):.2f}",
                    f"{_p(service_ms, 0.99):.2f}",
                    f"{statistics.mean(service_ms):.2f}",
                ],
                [
                    "POST /api/v1/quotes (in-process client)",
                    f"{_p(http_ms, 0.5):.2f}",
                    f"{_p(http_ms, 0.99):.2f}",
                    f"{statistics.mean(http_ms):.2f}",
                ],
            ],
        )
    )


if __name__ == "__main__":
    main()
