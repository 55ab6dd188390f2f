"""Bookings per second on one hot slot under parallel clients, beside the bare conditional UPDATE
that takes the capacity (`UPDATE booking_slots SET booked = booked + 1 WHERE id = :slot AND booked + 1
<= capacity`) on a twin slot of the same database.

A booking is the whole use case in one transaction: put the slot in the buyer's cart (party of one),
lock the cart, re-price it at the slot's price, create the order and its line, take the capacity with
the conditional UPDATE, hold the booking, write the search outbox row, clear the cart, commit. Clients
are processes. Scratch database: SQLite, or one created on the BENCH_DATABASE_URL server and dropped."""

from __future__ import annotations

import multiprocessing
import os
import platform
import time
from datetime import time as day_time
from datetime import timedelta

import sqlalchemy as sa

from bench.common import table
from bench.inventory_stock import SECONDS, scratch_database, seed
from bench.orders_checkout import _buyers
from shop import clock
from shop.auth import service as auth_service
from shop.bookings import offerings
from shop.bookings.models import Slot, UnitKind
from shop.catalog import service as catalog
from shop.catalog.models import Product, ProductKind
from shop.db import make_engine, transaction
from shop.demo.catalog import certify
from shop.errors import DomainError
from shop.inventory.models import china_today
from shop.orders import cart, checkout
from shop.orders import service as orders
from shop.orders.models import Fulfilment
from shop.sessions import make_sessionmaker

CLIENTS = [int(n) for n in os.environ.get("BENCH_BOOKINGS_CLIENTS", "1,4,16").split(",")]
BUYERS_PER_CLIENT = 50
CAPACITY = 300_000_000  # never runs out


def _seed_slots(url: str) -> tuple[int, int, int]:
    """A certified service product with a room offering and two slots tomorrow: the hot one the
    bookings take, and its twin for the bare UPDATE."""
    engine = make_engine(url)
    now = clock.now()
    with transaction(make_sessionmaker(engine)) as session:
        admin = auth_service.load_actor(session, 1)
        goods = session.scalar(sa.select(Product))
        product = catalog.create_product(
            session,
            admin,
            supplier_id=goods.supplier_id,
            data={
                "name": "Homestay",
                "kind": ProductKind.SERVICE,
                "category_id": goods.category_id,
                "origin_district_id": goods.origin_district_id,
                "skus": [{"code": "ROOM-1", "price_fen": 30_000, "unit": "night"}],
            },
        )
        certify(session, admin, admin, product, "in_force", now, 7, 365)
        offering = offerings.create_offering(
            session,
            admin,
            product.id,
            data={
                "sku_id": product.skus[0].id,
                "unit_kind": UnitKind.ROOM,
                "name": "Room",
                "meeting_point": "Gate",
                "max_party": 4,
                "weekday_price_fen": 30_000,
                "weekend_price_fen": 40_000,
                "holiday_price_fen": 50_000,
            },
            now=now,
        )
        tomorrow = china_today(now) + timedelta(days=1)
        hot, twin = offerings.add_slots(
            session,
            admin,
            offering.id,
            data={
                "first_day": tomorrow,
                "last_day": tomorrow,
                "start_times": [day_time(9, 0), day_time(14, 0)],
                "minutes": 120,
                "capacity": CAPACITY,
            },
            now=now,
        )
        ids = product.skus[0].id, hot.id, twin.id
    engine.dispose()
    return ids


def _client(job: tuple) -> tuple[int, int]:
    kind, url, sku_id, slot_id, twin_id, buyers, start, stop = job
    engine = make_engine(url)
    factory = make_sessionmaker(engine)
    bare = sa.text("UPDATE booking_slots SET booked = booked + 1 WHERE id = :slot AND booked + 1 <= capacity")
    settings = orders.OrderSettings()
    done = errors = 0
    while time.time() < start:
        time.sleep(0.001)
    while time.time() < stop:
        try:
            if kind == "bare":
                with engine.begin() as conn:
                    if conn.execute(bare, {"slot": twin_id}).rowcount != 1:
                        raise RuntimeError("the twin slot is full")
            else:
                buyer = buyers[done % len(buyers)]
                with transaction(factory, write=True) as session:
                    actor = auth_service.load_actor(session, buyer)
                    cart.add_line(
                        session,
                        buyer,
                        data={
                            "sku_id": sku_id,
                            "fulfilment": Fulfilment.BOOKING,
                            "slot_id": slot_id,
                            "party_size": 1,
                            "quantity": None,
                            "location_id": None,
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


def measure(kind, url, sku_id, slot_id, twin_id, buyers, clients) -> tuple[float, int]:
    start = time.time() + 1.0
    jobs = [(kind, url, sku_id, slot_id, twin_id, buyers[i::clients], start, start + SECONDS) for i in range(clients)]
    with multiprocessing.get_context("fork").Pool(clients) as pool:
        results = pool.map(_client, jobs)
    return sum(d for d, _ in results) / SECONDS, sum(e for _, e in results)


def main() -> None:
    with scratch_database() as url:
        seed(url)
        sku_id, slot_id, twin_id = _seed_slots(url)
        buyers = _buyers(url, BUYERS_PER_CLIENT * max(CLIENTS))
        rows = []
        for clients in CLIENTS:
            bare, bare_errors = measure("bare", url, sku_id, slot_id, twin_id, buyers, clients)
            booked, errors = measure("booking", url, sku_id, slot_id, twin_id, buyers, clients)
            rows.append([clients, f"{bare:,.0f}", f"{booked:,.0f}", f"{bare / booked:.1f}", bare_errors + errors])
        engine = make_engine(url)
        with transaction(make_sessionmaker(engine)) as session:
            slot_booked = session.scalar(sa.select(Slot.booked).where(Slot.id == slot_id))
            bookings = session.scalar(
                sa.text("SELECT coalesce(sum(units), 0) FROM bookings WHERE slot_id = :s"), {"s": slot_id}
            )
        engine.dispose()
        dialect = "postgresql" if url.startswith("postgresql") else "sqlite"
    suffix = " BENCH_DATABASE_URL=…" if dialect == "postgresql" else ""
    print(
        table(
            f"Bookings of one hot slot vs the bare conditional UPDATE: {dialect}, {SECONDS:g} s per cell, client "
            f"processes, Python {platform.python_version()}, {os.cpu_count()} cores",
            "make bench BENCH=bookings" + suffix,
            ["clients", "bare UPDATE tx/s", "bookings/s", "bare/booking", "errors"],
            rows,
        )
    )
    print(f"afterwards: the hot slot's booked count {slot_booked:,} = units of its bookings {bookings:,}\n")
