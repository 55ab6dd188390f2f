"""Checkouts per second on one hot SKU under parallel clients, beside a bare conditional UPDATE on
the same database; the SQL statements of one checkout request; and the latency of pricing a 50-line cart.

A checkout is what the request does, in one transaction: check the bearer token and load the actor
(one statement), claim the Idempotency-Key, take the one-line cart (locked), re-price it
(certification, promotions), create the order, its event and its line, reserve the unit at the hall
(the level's conditional UPDATE, the FEFO batch's, the ledger row), store the key's result, the
search outbox row, commit. Each buyer's cart holds the line beforehand (adding it is its own
request). Clients are processes. Scratch database: SQLite, or one created on the BENCH_DATABASE_URL
server and dropped."""

from __future__ import annotations

import multiprocessing
import os
import platform
import statistics
import time
import uuid
from datetime import timedelta

import sqlalchemy as sa

from bench.common import table
from bench.inventory_stock import SECONDS, scratch_database, seed
from shop import clock, create_app, idempotency
from shop.auth import service as auth_service
from shop.auth.models import User
from shop.catalog import service as catalog
from shop.catalog.models import Product
from shop.db import make_engine, transaction
from shop.demo.catalog import certify
from shop.errors import DomainError
from shop.inventory.ledger import check_balances
from shop.orders import checkout
from shop.orders import service as orders
from shop.orders.models import CartLine, Fulfilment
from shop.promotions import quoting
from shop.promotions import service as offers
from shop.promotions.pricing import PromotionKind
from shop.sessions import make_sessionmaker

CLIENTS = [int(n) for n in os.environ.get("BENCH_ORDERS_CLIENTS", "1,16").split(",")]
QUOTES = int(os.environ.get("BENCH_QUOTES", 300))
BUYERS = int(os.environ.get("BENCH_ORDERS_BUYERS", 40_000))  # carts filled before each cell


def _buyers(url: str, count: int) -> list[int]:
    """Buyers without a password (they act through tokens here), made in one statement."""
    engine = make_engine(url)
    now = clock.now()
    with engine.begin() as conn:
        conn.execute(
            sa.insert(User.__table__),
            [
                {"email": f"buyer{n}@bench.cq", "display_name": "b", "is_active": True, "created_at": now}
                for n in range(count)
            ],
        )
        ids = list(conn.scalars(sa.select(User.id).where(User.email.like("buyer%@bench.cq")).order_by(User.id)))
    engine.dispose()
    return ids


def _fill_carts(url: str, buyers: list[int], hall_id: int, sku_id: int) -> None:
    """Every buyer's cart: one unit of the hot SKU, for pick-up at the hall."""
    engine = make_engine(url)
    now = clock.now()
    with engine.begin() as conn:
        conn.execute(sa.delete(CartLine.__table__))
        conn.execute(
            sa.insert(CartLine.__table__),
            [
                {
                    "user_id": b,
                    "sku_id": sku_id,
                    "quantity": 1,
                    "fulfilment": Fulfilment.PICKUP.value,
                    "location_id": hall_id,
                    "created_at": now,
                }
                for b in buyers
            ],
        )
    engine.dispose()


def _checkout(session, buyer: int, settings: orders.OrderSettings) -> int:
    """The checkout request's work: the token check and actor (one statement), the key, the checkout."""
    revoked, actor = auth_service.check_token(session, buyer, uuid.uuid4().hex, uuid.uuid4().hex)
    assert actor is not None and not revoked
    body = {"line_ids": None, "coupon_code": None, "points": 0, "delivery_address": None, "address_id": None}
    order_id, _ = idempotency.run_once(
        session,
        user_id=buyer,
        scope="orders.create",
        key=uuid.uuid4().hex,
        payload=body,
        create=lambda: (
            checkout.checkout(
                session,
                actor,
                line_ids=None,
                coupon_code=None,
                points_requested=0,
                delivery_address=None,
                settings=settings,
                now=clock.now(),
            ).id
        ),
    )
    return order_id


def _client(job: tuple) -> tuple[int, int]:
    kind, url, buyers, start, stop = job
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
                if done >= len(buyers):
                    raise RuntimeError("the carts ran out: raise BENCH_ORDERS_BUYERS")
                with transaction(factory, write=True) as session:
                    _checkout(session, buyers[done], settings)
            done += 1
        except (sa.exc.OperationalError, DomainError):
            errors += 1
    engine.dispose()
    return done, errors


def measure(kind, url, buyers, clients) -> tuple[float, int]:
    start = time.time() + 1.0
    jobs = [(kind, url, buyers[i::clients], start, start + SECONDS) for i in range(clients)]
    with multiprocessing.get_context("fork").Pool(clients) as pool:
        results = pool.map(_client, jobs)
    return sum(d for d, _ in results) / SECONDS, sum(e for _, e in results)


def statements_per_checkout(url: str, buyer_id: int, hall_id: int, sku_id: int) -> int:
    """Every SQL statement of one POST /api/v1/orders through the app (token check to commit; the
    search drain after the commit runs off the request), for a one-line cart, with an Idempotency-Key."""
    from flask_jwt_extended import create_access_token

    _fill_carts(url, [buyer_id], hall_id, sku_id)
    app = create_app({"DATABASE_URL": url, "SEARCH_DRAIN_AFTER_COMMIT": "off"})
    with app.app_context():
        token = create_access_token(identity=str(buyer_id))
    engine = app.extensions["shop"]["engine"]
    statements: list[str] = []

    def count(_conn, _cursor, statement, *_args):
        statements.append(statement)

    client = app.test_client()
    sa.event.listen(engine, "before_cursor_execute", count)
    response = client.post(
        "/api/v1/orders", json={}, headers={"Authorization": f"Bearer {token}", "Idempotency-Key": "statements"}
    )
    sa.event.remove(engine, "before_cursor_execute", count)
    assert response.status_code == 201, response.json
    engine.dispose()
    skipped = ("SAVEPOINT", "RELEASE", "ROLLBACK", "BEGIN", "COMMIT")
    return sum(1 for s in statements if not s.lstrip().upper().startswith(skipped))


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
                requested={item.key: item for item in items},
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


def _cell(kind, url, buyers, clients, hall_id, sku_id) -> tuple[float, int]:
    if kind == "checkout":
        _fill_carts(url, buyers, hall_id, sku_id)
    return measure(kind, url, buyers, clients)


def main() -> None:
    with scratch_database() as url:
        hall_id, sku_id = seed(url)
        buyers = _buyers(url, BUYERS)
        statements = statements_per_checkout(url, buyers[-1], hall_id, sku_id)
        buyers = buyers[:-1]
        rows = []
        for clients in CLIENTS:
            bare, bare_errors = _cell("bare", url, buyers, clients, hall_id, sku_id)
            checkouts, errors = _cell("checkout", url, buyers, clients, hall_id, sku_id)
            rows.append(
                [
                    clients,
                    f"{bare:,.0f}",
                    f"{checkouts:,.0f}",
                    f"{100 * checkouts / bare:.0f} %",
                    bare_errors + errors,
                ]
            )
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
            f"Checkouts of a one-line cart on one hot SKU vs a bare conditional UPDATE: {dialect}, "
            f"{SECONDS:g} s per cell, client processes, Python {platform.python_version()}, "
            f"{os.cpu_count()} cores; {statements} SQL statements per checkout request",
            "make bench BENCH=orders" + suffix,
            ["clients", "bare UPDATE tx/s", "checkouts/s", "checkout/bare", "errors"],
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
