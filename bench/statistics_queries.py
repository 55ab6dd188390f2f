"""Grouped queries over sales facts: BENCH_STATISTICS_FACTS facts (default 1,000,000) spread over two
years, every channel, the districts and deep-poverty townships of the reference data; then each
query shape of the statistics API timed (p50/p95 over repeated runs, the service function as the
API calls it). PostgreSQL via BENCH_DATABASE_URL (the facts are made by one INSERT … SELECT over
generate_series); on SQLite the default is 100,000 facts."""

from __future__ import annotations

import os
import statistics
import time
from datetime import date

import sqlalchemy as sa

from bench.common import table
from bench.inventory_stock import scratch_database
from shop import clock, migrate
from shop.auth.actor import Actor
from shop.auth.models import Role
from shop.db import make_engine
from shop.inventory.models import CHINA
from shop.sessions import make_sessionmaker
from shop.statistics import queries
from shop.statistics.models import BuyerType, Channel, SalesFact

RUNS = int(os.environ.get("BENCH_STATISTICS_RUNS", 30))
THIS_YEAR = clock.now().astimezone(CHINA).year


def _fill_postgres(conn, facts: int, districts: list[int], townships: list[tuple[int, int, bool]]) -> None:
    conn.execute(sa.text("CREATE TEMP TABLE bench_districts (n int, id int)"))
    conn.execute(
        sa.text("INSERT INTO bench_districts VALUES (:n, :id)"), [{"n": i, "id": d} for i, d in enumerate(districts)]
    )
    conn.execute(sa.text("CREATE TEMP TABLE bench_townships (n int, id int, district_id int, deep boolean)"))
    conn.execute(
        sa.text("INSERT INTO bench_townships VALUES (:n, :id, :d, :deep)"),
        [{"n": i, "id": t, "d": d, "deep": deep} for i, (t, d, deep) in enumerate(townships)],
    )
    channels = "ARRAY[" + ",".join(f"'{c.value}'" for c in Channel) + "]"
    buyers = "ARRAY[" + ",".join(f"'{b.value}'" for b in BuyerType) + "]"
    conn.execute(
        sa.text(
            f"""
            INSERT INTO sales_facts (source_key, occurred_at, day, year, quarter, month, channel, buyer_type,
                organisation_id, location_id, product_id, sku_id, supplier_id, category_id,
                origin_district_id, origin_township_id, deep_poverty, eligible, quantity, amount_fen, created_at)
            SELECT 'bench:' || g, d::timestamp AT TIME ZONE 'Asia/Shanghai', d, extract(year FROM d),
                extract(quarter FROM d), extract(month FROM d),
                ({channels})[1 + g % {len(Channel)}], ({buyers})[1 + (g / 7) % {len(BuyerType)}],
                NULL, NULL, NULL, NULL, NULL, NULL,
                t.district_id, t.id, t.deep, g % 5 <> 0, 1 + g % 4, 500 + (g * 7919) % 20000, now()
            FROM (SELECT g, DATE '{THIS_YEAR - 1}-01-01' + (g % 730)::int AS d
                  FROM generate_series(1::bigint, {facts}) g) s
            JOIN bench_townships t ON t.n = (s.g * 31) % {len(townships)}
            """
        )
    )
    conn.execute(sa.text("ANALYZE sales_facts"))


def _fill_python(conn, facts: int, townships: list[tuple[int, int, bool]]) -> None:
    from datetime import timedelta

    start = date(THIS_YEAR - 1, 1, 1)
    channels, buyers = list(Channel), list(BuyerType)
    rows = []
    for g in range(1, facts + 1):
        day = start + timedelta(days=g % 730)
        township, district, deep = townships[(g * 31) % len(townships)]
        rows.append(
            {
                "source_key": f"bench:{g}",
                "occurred_at": day,
                "day": day,
                "year": day.year,
                "quarter": (day.month - 1) // 3 + 1,
                "month": day.month,
                "channel": channels[g % len(channels)].value,
                "buyer_type": buyers[(g // 7) % len(buyers)].value,
                "origin_district_id": district,
                "origin_township_id": township,
                "deep_poverty": deep,
                "eligible": g % 5 != 0,
                "quantity": 1 + g % 4,
                "amount_fen": 500 + (g * 7919) % 20000,
                "created_at": day,
            }
        )
        if len(rows) == 10_000:
            conn.execute(sa.insert(SalesFact), rows)
            rows = []
    if rows:
        conn.execute(sa.insert(SalesFact), rows)


def main() -> None:
    with scratch_database() as url:
        postgres = url.startswith("postgresql")
        facts = int(os.environ.get("BENCH_STATISTICS_FACTS", 1_000_000 if postgres else 100_000))
        migrate.upgrade(url)
        engine = make_engine(url)
        started = time.perf_counter()
        with engine.begin() as conn:
            districts = [r[0] for r in conn.execute(sa.text("SELECT id FROM districts ORDER BY id"))]
            townships = [
                tuple(r)
                for r in conn.execute(sa.text("SELECT id, district_id, deep_poverty FROM townships ORDER BY id"))
            ]
            if postgres:
                _fill_postgres(conn, facts, districts, townships)
            else:
                _fill_python(conn, facts, townships)
        fill_seconds = time.perf_counter() - started
        session = make_sessionmaker(engine)()
        actor = Actor(user_id=1, grants=frozenset({(Role.REGULATOR, 0)}))
        year = THIS_YEAR
        whole_year = {"date_from": date(year, 1, 1), "date_to": date(year, 12, 31)}
        shapes = {
            "channel × month, a year, year on year": dict(
                group_by=["channel"], period="month", year_on_year=True, filters={}, **whole_year
            ),
            "district × quarter, a year": dict(group_by=["district"], period="quarter", filters={}, **whole_year),
            "buyer type, eligible only, a year": dict(
                group_by=["buyer_type"], period="all", filters={"eligible": True}, **whole_year
            ),
            "township × day, one month, deep poverty": dict(
                group_by=["township"],
                period="day",
                filters={"deep_poverty": True},
                date_from=date(year, 3, 1),
                date_to=date(year, 3, 31),
            ),
            "one district, by channel, a year, yoy": dict(
                group_by=["channel"],
                period="year",
                year_on_year=True,
                filters={"district_id": districts[len(districts) // 2]},
                **whole_year,
            ),
        }
        rows = []
        for name, args in shapes.items():
            timings = []
            for _ in range(RUNS):
                start = time.perf_counter()
                queries.sales_totals(session, actor, **args)
                timings.append((time.perf_counter() - start) * 1000)
                session.rollback()
            timings.sort()
            rows.append([name, f"{statistics.median(timings):.1f}", f"{timings[int(len(timings) * 0.95) - 1]:.1f}"])
        timings = []
        for _ in range(RUNS):
            start = time.perf_counter()
            queries.deep_poverty_check(session, actor, date_from=date(year, 1, 1), date_to=date(year, 6, 30))
            timings.append((time.perf_counter() - start) * 1000)
            session.rollback()
        timings.sort()
        rows.append(
            [
                "deep-poverty townships, half a year vs last",
                f"{statistics.median(timings):.1f}",
                f"{timings[int(len(timings) * 0.95) - 1]:.1f}",
            ]
        )
        session.close()
        engine.dispose()
    engine_name = "PostgreSQL" if postgres else "SQLite"
    print(
        table(
            f"Statistics: grouped queries over {facts:,} facts ({engine_name}; filled in {fill_seconds:.0f} s)",
            "make bench BENCH=statistics",
            ["query", "p50 ms", "p95 ms"],
            rows,
        )
    )
