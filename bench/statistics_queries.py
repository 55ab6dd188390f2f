"""Grouped queries over sales facts: BENCH_STATISTICS_FACTS facts (default 1,000,000) spread over two
years, every channel, the districts and deep-poverty townships of the reference data. The rollups are
built (timed: a full build), more facts of today are written and folded (timed: an incremental run),
and more again are left unfolded, as the live tail a query reads beside the rollups. Then each query
shape of the statistics API is timed (p50/p95 over repeated runs, the service function as the API
calls it) from the facts alone and from rollups plus the live tail. PostgreSQL via BENCH_DATABASE_URL
(the facts are made by one INSERT … SELECT over generate_series); on SQLite the default is 100,000
facts. BENCH_STATISTICS_RUNS (default 30) runs per query from the rollups, BENCH_STATISTICS_RAW_RUNS
(default 10) from the facts."""

from __future__ import annotations

import os
import statistics
import time
from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa

from bench.common import table
from bench.inventory_stock import scratch_database
from shop import clock, migrate
from shop.auth.actor import Actor
from shop.auth.models import Role
from shop.db import make_engine
from shop.inventory.models import CHINA
from shop.sessions import make_sessionmaker
from shop.statistics import queries, rollups
from shop.statistics.models import BuyerType, Channel, SalesFact

RUNS = int(os.environ.get("BENCH_STATISTICS_RUNS", 30))
RAW_RUNS = int(os.environ.get("BENCH_STATISTICS_RAW_RUNS", 10))
INCREMENT = 5_000  # facts written between two runs of the job (a busy minute)
TAIL = 2_000  # facts written since the job's last run
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


def _fill_python(conn, facts: int, townships: list[tuple[int, int, bool]], *, first: int = 1, on=None) -> None:
    """Facts `first`..`first + facts - 1` as _fill_postgres makes them; all on day `on` if given."""
    start = date(THIS_YEAR - 1, 1, 1)
    channels, buyers = list(Channel), list(BuyerType)
    rows = []
    for g in range(first, first + facts):
        day = on or start + timedelta(days=g % 730)
        township, district, deep = townships[(g * 31) % len(townships)]
        at = datetime(day.year, day.month, day.day, 4, tzinfo=UTC)
        rows.append(
            {
                "source_key": f"bench:{g}",
                "occurred_at": at,
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
                "created_at": at,
            }
        )
        if len(rows) == 10_000:
            conn.execute(sa.insert(SalesFact), rows)
            rows = []
    if rows:
        conn.execute(sa.insert(SalesFact), rows)


def _timed(runs: int, call) -> tuple[float, float]:
    timings = []
    for _ in range(runs):
        start = time.perf_counter()
        call()
        timings.append((time.perf_counter() - start) * 1000)
    timings.sort()
    return statistics.median(timings), timings[max(0, -(-len(timings) * 95 // 100) - 1)]


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
        factory = make_sessionmaker(engine)
        today = clock.now().astimezone(CHINA).date()

        started = time.perf_counter()
        rollups.refresh(factory, clock.now())
        full_seconds = time.perf_counter() - started
        with engine.begin() as conn:
            _fill_python(conn, INCREMENT, townships, first=facts + 1, on=today)
        started = time.perf_counter()
        rollups.refresh(factory, clock.now())
        increment_ms = (time.perf_counter() - started) * 1000
        started = time.perf_counter()
        rollups.refresh(factory, clock.now())
        idle_ms = (time.perf_counter() - started) * 1000
        with engine.begin() as conn:
            _fill_python(conn, TAIL, townships, first=facts + INCREMENT + 1, on=today)
            if postgres:
                conn.execute(sa.text("ANALYZE"))
        session = factory()
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
                filters={"district_id": townships[len(townships) // 2][1]},
                **whole_year,
            ),
        }

        def measured(name, call):
            def run(from_facts):
                def once():
                    answer = call(from_facts)
                    session.rollback()
                    return answer

                return once

            assert run(True)() == run(False)(), name  # the same answer both ways
            raw = _timed(RAW_RUNS, run(True))
            fast = _timed(RUNS, run(False))
            rows.append(
                [name, f"{raw[0]:.1f}", f"{raw[1]:.1f}", f"{fast[0]:.1f}", f"{fast[1]:.1f}", f"{raw[0] / fast[0]:.1f}×"]
            )

        rows = []
        for name, args in shapes.items():
            measured(
                name, lambda from_facts, args=args: queries.sales_totals(session, actor, **args, from_facts=from_facts)
            )
        measured(
            "deep-poverty townships, half a year vs last",
            lambda from_facts: queries.deep_poverty_check(
                session, actor, date_from=date(year, 1, 1), date_to=date(year, 6, 30), from_facts=from_facts
            ),
        )
        session.close()
        engine.dispose()
    engine_name = "PostgreSQL" if postgres else "SQLite"
    print(
        table(
            f"Statistics: grouped queries over {facts:,} facts ({engine_name}; filled in {fill_seconds:.0f} s), "
            f"from the facts alone and from the rollups plus the {TAIL:,} facts written since the job's last run",
            "make bench BENCH=statistics",
            ["query", "facts p50 ms", "facts p95 ms", "rollups p50 ms", "rollups p95 ms", "p50 ratio"],
            rows,
        )
    )
    print(
        table(
            "Statistics: the rollup job",
            "make bench BENCH=statistics",
            ["run", "time"],
            [
                [f"full build, {facts:,} facts", f"{full_seconds:.1f} s"],
                [f"incremental, {INCREMENT:,} new facts", f"{increment_ms:.0f} ms"],
                ["incremental, nothing new", f"{idle_ms:.0f} ms"],
            ],
        )
    )
