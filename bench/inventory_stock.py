"""Stock movements per second on one hot SKU at one location under parallel clients, beside a bare
conditional UPDATE (`SET qty = qty - 1 WHERE id = 1 AND qty >= 1`) on the same database.

A movement is the whole sale use case in its own transaction: lock the SKU's level, check the
certification is in force, pick the batch FEFO, two conditional UPDATEs, the ledger row, commit.
Clients are processes (not threads), so Python's GIL does not hide the database's own queueing.
Runs in a scratch database: an SQLite file, or a database created on the BENCH_DATABASE_URL server
and dropped afterwards. At the end the ledger check must find no drift."""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import platform
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta

import sqlalchemy as sa

from bench.common import scratch_sqlite, table
from shop import clock, migrate
from shop.auth import service as auth_service
from shop.auth.models import Role
from shop.catalog import service as catalog
from shop.db import make_engine, normalise_url, transaction
from shop.demo.catalog import certify
from shop.demo.inventory import create_place
from shop.errors import DomainError
from shop.inventory import movements
from shop.inventory.ledger import check_balances
from shop.inventory.models import LocationKind, china_today
from shop.sessions import make_sessionmaker
from shop.suppliers import service as suppliers
from shop.suppliers.uscc import check_character

CLIENTS = [int(n) for n in os.environ.get("BENCH_INVENTORY_CLIENTS", "1,4,16").split(",")]
SECONDS = float(os.environ.get("BENCH_INVENTORY_SECONDS", 3))
UNITS = 300_000_000  # per batch, three batches: never runs out
FENGJIE, YUZHONG = 500236, 500103


@contextlib.contextmanager
def scratch_database() -> Iterator[str]:
    url = os.environ.get("BENCH_DATABASE_URL")
    if not url or not normalise_url(url).startswith("postgresql"):
        with scratch_sqlite() as sqlite_url:
            yield sqlite_url
        return
    name = f"shop_bench_{uuid.uuid4().hex[:10]}"
    server = make_engine(url).execution_options(isolation_level="AUTOCOMMIT")
    with server.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield sa.make_url(normalise_url(url)).set(database=name).render_as_string(hide_password=False)
    finally:
        with server.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        server.dispose()


def seed(url: str) -> tuple[int, int]:
    """A certified product with one SKU, three batches of it at a hall; and the bare counter row."""
    migrate.upgrade(url)
    engine = make_engine(url)
    now = clock.now()
    with transaction(make_sessionmaker(engine)) as session:
        user = auth_service.register_user(session, login="bench@bench.cq", password="bench-pass", display_name="b")
        auth_service.add_grant(session, user, Role.ADMIN, 0, granted_by_id=None)
        auth_service.add_grant(session, user, Role.CERTIFIER, FENGJIE, granted_by_id=None)
        actor = auth_service.load_actor(session, user.id)
        first17 = f"91{FENGJIE}MA0000001"
        supplier = suppliers.create_supplier(
            session,
            actor,
            data={
                "name": "Bench",
                "uscc": first17 + check_character(first17),
                "district_id": FENGJIE,
                "contact_name": "c",
                "contact_phone": "13800000000",
            },
        )
        category = catalog.create_category(session, actor, name="Fruit", slug="fruit", parent_id=None)
        product = catalog.create_product(
            session,
            actor,
            supplier_id=supplier.id,
            data={
                "name": "Navel oranges",
                "category_id": category.id,
                "origin_district_id": FENGJIE,
                "skus": [{"code": "HOT-1", "price_fen": 6980, "unit": "box"}],
            },
        )
        certify(session, actor, actor, product, "in_force", now, 7, 365)
        centre = create_place(session, actor, LocationKind.CENTRE, None, "Centre", YUZHONG, "x")
        hall = create_place(session, actor, LocationKind.HALL, centre, "Hall", YUZHONG, "x")
        sku_id = product.skus[0].id
        today = china_today(now)
        movements.receive_stock(
            session,
            actor,
            hall.id,
            lines=[
                {
                    "sku_id": sku_id,
                    "trace_code": f"HOT-BATCH-{n}",
                    "produced_on": today,
                    "best_before": today + timedelta(days=30 * n),
                    "quantity": UNITS,
                }
                for n in (1, 2, 3)
            ],
            reference=None,
            now=now,
        )
        hall_id = hall.id
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE bench_counter (id INTEGER PRIMARY KEY, qty INTEGER NOT NULL)"))
        conn.execute(sa.text("INSERT INTO bench_counter (id, qty) VALUES (1, :qty)"), {"qty": 3 * UNITS})
    engine.dispose()
    return hall_id, sku_id


def _client(job: tuple) -> tuple[int, int]:
    """One client process: as many transactions as it can between `start` and `stop`."""
    kind, url, hall_id, sku_id, start, stop = job
    engine = make_engine(url)
    factory = make_sessionmaker(engine)
    bare = sa.text("UPDATE bench_counter SET qty = qty - 1 WHERE id = 1 AND qty >= 1")
    done = errors = 0
    while time.time() < start:
        time.sleep(0.001)
    while time.time() < stop:
        try:
            if kind == "bare":
                with engine.begin() as conn:
                    if conn.execute(bare).rowcount != 1:
                        raise RuntimeError("the bare counter ran out")
            else:
                with transaction(factory, write=True) as session:
                    movements.sell(session, hall_id, [{"sku_id": sku_id, "quantity": 1}], now=clock.now())
            done += 1
        except (sa.exc.OperationalError, DomainError):
            errors += 1
    engine.dispose()
    return done, errors


def measure(kind: str, url: str, hall_id: int, sku_id: int, clients: int) -> tuple[float, int]:
    start = time.time() + 1.0
    jobs = [(kind, url, hall_id, sku_id, start, start + SECONDS)] * clients
    with multiprocessing.get_context("fork").Pool(clients) as pool:
        results = pool.map(_client, jobs)
    return sum(done for done, _ in results) / SECONDS, sum(errors for _, errors in results)


def main() -> None:
    with scratch_database() as url:
        hall_id, sku_id = seed(url)
        rows = []
        for clients in CLIENTS:
            bare, bare_errors = measure("bare", url, hall_id, sku_id, clients)
            moves, move_errors = measure("movement", url, hall_id, sku_id, clients)
            rows.append([clients, f"{bare:,.0f}", f"{moves:,.0f}", f"{bare / moves:.1f}", bare_errors + move_errors])
        engine = make_engine(url)
        with transaction(make_sessionmaker(engine)) as session:
            drifts = check_balances(session)
            moved = session.scalar(sa.text("SELECT count(*) FROM stock_movements"))
        engine.dispose()
        dialect = "postgresql" if url.startswith("postgresql") else "sqlite"
        version = ""
        if dialect == "postgresql":
            engine = make_engine(url)
            with engine.connect() as conn:
                version = " " + conn.scalar(sa.text("SHOW server_version"))
            engine.dispose()
    print(
        table(
            f"Stock movements on one hot SKU at one location vs a bare conditional UPDATE: {dialect}{version}, "
            f"{SECONDS:g} s per cell, client processes, Python {platform.python_version()}, {os.cpu_count()} cores",
            "make bench BENCH=inventory" + (" BENCH_DATABASE_URL=…" if dialect == "postgresql" else ""),
            ["clients", "bare UPDATE tx/s", "sale movement tx/s", "bare/movement", "errors"],
            rows,
        )
    )
    print(f"ledger check afterwards: {moved:,} movements, {len(drifts)} balance(s) drifting\n")


if __name__ == "__main__":
    main()
