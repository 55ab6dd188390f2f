"""The unsold-produce risk job over BENCH_MONITORING_PRODUCTS declared products (default 300,000 on
PostgreSQL, 20,000 on SQLite) with a year of sales facts, BENCH_MONITORING_FACTS_PER_PRODUCT per
product (default 12), and a tenth of the products with a batch near its best-before at a hall.
PostgreSQL via BENCH_DATABASE_URL (the rows are made by INSERT … SELECT over generate_series).

Three runs of the job, as the worker runs it (one transaction per batch of 2,000 products): the
first assesses everything (every assessment and level change is new), the second finds the same
figures and writes nothing, the third follows a new day of sales for a tenth of the products.
Time and the process's peak memory (resident set, and Python's own allocations) are printed."""

from __future__ import annotations

import os
import resource
import time
import tracemalloc
from datetime import timedelta

import sqlalchemy as sa

from bench.common import table
from bench.inventory_stock import scratch_database
from shop import clock, migrate
from shop.auth import service as auth_service
from shop.auth.models import Role
from shop.catalog import service as catalog
from shop.db import make_engine, transaction
from shop.demo.inventory import create_place
from shop.inventory.models import LocationKind, china_today
from shop.monitoring.assessments import assess_all
from shop.monitoring.models import RiskAssessment
from shop.monitoring.risk import RiskRules
from shop.sessions import make_sessionmaker
from shop.suppliers import service as suppliers
from shop.suppliers.uscc import check_character

FENGJIE, YUZHONG = 500236, 500103


def _seed(url: str) -> tuple[int, int, int]:
    """A supplier, a category, a centre and a hall, through the services; returns their ids."""
    migrate.upgrade(url)
    engine = make_engine(url)
    with transaction(make_sessionmaker(engine)) as session:
        user = auth_service.register_user(session, login="bench@bench.cq", password="bench-pass", display_name="b")
        auth_service.add_grant(session, user, Role.ADMIN, 0, granted_by_id=None)
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
        centre = create_place(session, actor, LocationKind.CENTRE, None, "Centre", YUZHONG, "x")
        hall = create_place(session, actor, LocationKind.HALL, centre, "Hall", YUZHONG, "x")
        ids = supplier.id, category.id, hall.id
    engine.dispose()
    return ids


# Each statement gets :n (products), :facts, :supplier, :category, :hall, :today, :now. Product g has SKU g.
FILL_POSTGRES = [
    """INSERT INTO products (id, supplier_id, category_id, kind, name, description, origin_district_id, images,
           created_at, updated_at)
       SELECT g, :supplier, :category, 'goods', 'Produce ' || g, '', :district, '[]', :now, :now
       FROM generate_series(1, :n) g""",
    """INSERT INTO skus (id, product_id, code, name, price_fen, unit, net_weight_g, is_active)
       SELECT g, g, 'B-' || g, '', 1000 + g % 5000, 'box', 5000, true FROM generate_series(1, :n) g""",
    """INSERT INTO supply_declarations (product_id, supplier_id, district_id, version, unit, expected_quantity,
           expected_kg, unsold_quantity, unsold_kg, harvest_from, harvest_until, keeps_days, note, declared_at)
       SELECT g, :supplier, :district, 1, 'box', 1000, 5000,
           CASE WHEN g % 4 = 0 THEN g % 20 ELSE (g::bigint * 7919) % 400 END, 0,
           CAST(:today AS date) - 30, CAST(:today AS date) + g % 20, 5 + g % 40, '', :now
       FROM generate_series(1, :n) g""",
    """INSERT INTO sales_facts (source_key, occurred_at, day, year, quarter, month, channel, buyer_type,
           product_id, sku_id, supplier_id, origin_district_id, deep_poverty, eligible, quantity, amount_fen,
           created_at)
       SELECT 'bench:' || f, d::timestamp AT TIME ZONE 'Asia/Shanghai', d, extract(year FROM d),
           extract(quarter FROM d), extract(month FROM d), (ARRAY['online','hall','counter','bulk'])[1 + f % 4],
           'individual', p, p, :supplier, :district, false, true, 1 + f % 4, 1000, :now
       FROM (SELECT f, 1 + (f * 2654435761) % :n AS p, CAST(:today AS date) - (f % 365)::int AS d
             FROM generate_series(1::bigint, :facts) f) s""",
    """INSERT INTO stock_batches (id, sku_id, trace_code, produced_on, best_before, created_at)
       SELECT g, g, 'BB-' || g, CAST(:today AS date) - 20, CAST(:today AS date) + g % 7, :now
       FROM generate_series(10, :n, 10) g""",
    """INSERT INTO stock_levels (location_id, sku_id, on_hand, reserved, low_stock_threshold)
       SELECT :hall, g, 5 + g % 30, 0, 0 FROM generate_series(10, :n, 10) g""",
    """INSERT INTO batch_levels (location_id, batch_id, sku_id, best_before, on_hand, reserved)
       SELECT :hall, g, g, CAST(:today AS date) + g % 7, 5 + g % 30, 0 FROM generate_series(10, :n, 10) g""",
    "ANALYZE",
]


def _fill_postgres(conn, params: dict) -> None:
    for statement in FILL_POSTGRES:
        conn.execute(sa.text(statement), params)
    for table_name in ("products", "skus", "stock_batches"):
        conn.execute(sa.text(f"SELECT setval(pg_get_serial_sequence('{table_name}', 'id'), {params['n'] + 1})"))


def _fill_python(conn, params: dict) -> None:
    """The same rows for SQLite, in batches from Python."""
    n, today, now = params["n"], params["today"], params["now"]
    common = {"supplier_id": params["supplier"], "now": now}

    def chunks(rows, size=5000):
        batch = []
        for row in rows:
            batch.append(row)
            if len(batch) == size:
                yield batch
                batch = []
        if batch:
            yield batch

    inserts = [
        (
            "INSERT INTO products (id, supplier_id, category_id, kind, name, description, origin_district_id, images,"
            " created_at, updated_at) VALUES (:g, :supplier_id, :category, 'goods', :name, '', :district, '[]',"
            " :now, :now)",
            (
                {"g": g, "name": f"Produce {g}", "category": params["category"], "district": FENGJIE, **common}
                for g in range(1, n + 1)
            ),
        ),
        (
            "INSERT INTO skus (id, product_id, code, name, price_fen, unit, net_weight_g, is_active)"
            " VALUES (:g, :g, :code, '', :price, 'box', 5000, 1)",
            ({"g": g, "code": f"B-{g}", "price": 1000 + g % 5000} for g in range(1, n + 1)),
        ),
        (
            "INSERT INTO supply_declarations (product_id, supplier_id, district_id, version, unit, expected_quantity,"
            " expected_kg, unsold_quantity, unsold_kg, harvest_from, harvest_until, keeps_days, note, declared_at)"
            " VALUES (:g, :supplier_id, :district, 1, 'box', 1000, 5000, :unsold, 0, :start, :until, :keeps, '',"
            " :now)",
            (
                {
                    "g": g,
                    "district": FENGJIE,
                    "unsold": g % 20 if g % 4 == 0 else (g * 7919) % 400,
                    "start": today - timedelta(days=30),
                    "until": today + timedelta(days=g % 20),
                    "keeps": 5 + g % 40,
                    **common,
                }
                for g in range(1, n + 1)
            ),
        ),
        (
            "INSERT INTO sales_facts (source_key, occurred_at, day, year, quarter, month, channel, buyer_type,"
            " product_id, sku_id, supplier_id, origin_district_id, deep_poverty, eligible, quantity, amount_fen,"
            " created_at) VALUES (:key, :now, :day, :year, 1, 1, 'hall', 'individual', :p, :p, :supplier_id,"
            " :district, 0, 1, :q, 1000, :now)",
            (
                {
                    "key": f"bench:{f}",
                    "day": today - timedelta(days=f % 365),
                    "year": (today - timedelta(days=f % 365)).year,
                    "p": 1 + (f * 2654435761) % n,
                    "q": 1 + f % 4,
                    "district": FENGJIE,
                    **common,
                }
                for f in range(1, params["facts"] + 1)
            ),
        ),
        (
            "INSERT INTO stock_batches (id, sku_id, trace_code, produced_on, best_before, created_at)"
            " VALUES (:g, :g, :code, :produced, :bb, :now)",
            (
                {
                    "g": g,
                    "code": f"BB-{g}",
                    "produced": today - timedelta(days=20),
                    "bb": today + timedelta(days=g % 7),
                    "now": now,
                }
                for g in range(10, n + 1, 10)
            ),
        ),
        (
            "INSERT INTO stock_levels (location_id, sku_id, on_hand, reserved, low_stock_threshold)"
            " VALUES (:hall, :g, :units, 0, 0)",
            ({"hall": params["hall"], "g": g, "units": 5 + g % 30} for g in range(10, n + 1, 10)),
        ),
        (
            "INSERT INTO batch_levels (location_id, batch_id, sku_id, best_before, on_hand, reserved)"
            " VALUES (:hall, :g, :g, :bb, :units, 0)",
            (
                {"hall": params["hall"], "g": g, "bb": today + timedelta(days=g % 7), "units": 5 + g % 30}
                for g in range(10, n + 1, 10)
            ),
        ),
    ]
    for statement, rows in inserts:
        for batch in chunks(rows):
            conn.execute(sa.text(statement), batch)


def _new_day_of_sales(conn, n: int, now, today) -> None:
    rows = [
        {"key": f"bench:new:{g}", "p": g, "now": now, "day": today, "year": today.year} for g in range(3, n + 1, 10)
    ]
    for start in range(0, len(rows), 5000):
        conn.execute(
            sa.text(
                "INSERT INTO sales_facts (source_key, occurred_at, day, year, quarter, month, channel, buyer_type,"
                " product_id, sku_id, deep_poverty, eligible, quantity, amount_fen, created_at)"
                " VALUES (:key, :now, :day, :year, 1, 1, 'online', 'individual', :p, :p, false, true, 25, 1000,"
                " :now)"
            ),
            rows[start : start + 5000],
        )


def _run(factory, rules, now) -> tuple[float, float, object]:
    tracemalloc.start()
    started = time.perf_counter()
    outcome = assess_all(factory, rules, now)
    seconds = time.perf_counter() - started
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return seconds, peak / 2**20, outcome


def main() -> None:
    with scratch_database() as url:
        postgres = url.startswith("postgresql")
        n = int(os.environ.get("BENCH_MONITORING_PRODUCTS", 300_000 if postgres else 20_000))
        per_product = int(os.environ.get("BENCH_MONITORING_FACTS_PER_PRODUCT", 12))
        supplier, category, hall = _seed(url)
        now = clock.now()
        today = china_today(now)
        params = {
            "n": n,
            "facts": n * per_product,
            "supplier": supplier,
            "category": category,
            "hall": hall,
            "district": FENGJIE,
            "today": today,
            "now": now,
        }
        engine = make_engine(url)
        started = time.perf_counter()
        with engine.begin() as conn:
            (_fill_postgres if postgres else _fill_python)(conn, params)
        fill_seconds = time.perf_counter() - started
        factory = make_sessionmaker(engine)
        rules = RiskRules()
        rows = []
        for name in ("first run: everything new", "second run: the same figures"):
            seconds, peak_mib, outcome = _run(factory, rules, now)
            rows.append(_row(name, seconds, peak_mib, outcome, n))
        with engine.begin() as conn:
            _new_day_of_sales(conn, n, now, today)
        seconds, peak_mib, outcome = _run(factory, rules, now)
        rows.append(_row("third run: a day of sales for a tenth", seconds, peak_mib, outcome, n))
        with transaction(factory) as session:
            levels = dict(
                session.execute(sa.select(RiskAssessment.level, sa.func.count()).group_by(RiskAssessment.level)).all()
            )
        engine.dispose()
    rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    engine_name = "PostgreSQL" if postgres else "SQLite"
    spread = ", ".join(f"{level.value} {count:,}" for level, count in sorted(levels.items()))
    print(
        table(
            f"Monitoring: the risk job over {n:,} products and {n * per_product:,} sales facts of a year "
            f"({engine_name}; filled in {fill_seconds:.0f} s; peak RSS of the process {rss_mib:.0f} MiB; "
            f"levels: {spread})",
            "make bench BENCH=monitoring",
            ["run", "seconds", "products/s", "Python peak MiB", "figures changed", "levels changed"],
            rows,
        )
    )


def _row(name: str, seconds: float, peak_mib: float, outcome, n: int) -> list:
    return [
        name,
        f"{seconds:.1f}",
        f"{n / seconds:,.0f}",
        f"{peak_mib:.1f}",
        f"{outcome.changed_figures:,}",
        f"{outcome.changed_levels:,}",
    ]
