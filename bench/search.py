"""Search: indexing docs/s and p50/p95/p99 of a fixed mix of queries (text + filters + 6 facets,
size 20), end to end through the API (Flask's in-process client: the whole application, no
network), for the embedded backend at each size of BENCH_PRODUCTS (comma-separated) on SQLite and,
when BENCH_DATABASE_URL names one, on PostgreSQL; and for the engine backend on osmem at
BENCH_SEARCH_ENGINE_SIZE with our own overhead (API time minus the engine's `took`) beside it, and
the API time outside the engine's HTTP round trip (`took` misses what an engine does after its
timer stops: osmem collects and fetches the hits outside it). `BENCH_PRODUCTS= python -m bench.search`
runs the engine part only.

    make bench BENCH=search
    BENCH_PRODUCTS=300000 BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/shop_bench make bench BENCH=search

Seeding is bulk inserts (the PostgreSQL database is emptied first: give it a scratch one); indexing
goes through the application's own reindex. With
BENCH_SEARCH_REUSE=1 a database (BENCH_DATABASE_URL, or the SQLite file BENCH_SQLITE_PATH) that
already holds that many search documents is measured as it is, without seeding again.
"""

from __future__ import annotations

import os
import platform
import random
import statistics
import time
from datetime import timedelta

import sqlalchemy as sa

from bench.common import scratch_sqlite, table
from shop import clock, migrate
from shop.db import make_engine

SIZES = [int(s) for s in os.environ.get("BENCH_PRODUCTS", "300000").split(",") if s]
ENGINE_SIZE = int(os.environ.get("BENCH_SEARCH_ENGINE_SIZE", 10_000))
PG_URL = os.environ.get("BENCH_DATABASE_URL", "")
SQLITE_PATH = os.environ.get("BENCH_SQLITE_PATH", "")
REUSE = os.environ.get("BENCH_SEARCH_REUSE") == "1"
QUERIES = int(os.environ.get("BENCH_SEARCH_QUERIES", 1000))
COMMAND = "make bench BENCH=search"

ITEMS = [
    ("脐橙", "navel oranges"),
    ("脆李", "crisp plums"),
    ("榨菜", "zhacai pickles"),
    ("腊肉", "cured pork"),
    ("蜂蜜", "honey"),
    ("辣椒", "chili peppers"),
    ("绿茶", "green tea"),
    ("猕猴桃", "kiwi fruit"),
    ("土鸡", "free range chicken"),
    ("大米", "fragrant rice"),
    ("木耳", "black fungus"),
    ("核桃", "walnuts"),
    ("花椒", "sichuan pepper"),
    ("红薯粉", "sweet potato noodles"),
    ("柚子", "pomelo"),
    ("竹笋", "bamboo shoots"),
    ("香菇", "shiitake mushrooms"),
    ("魔芋", "konjac"),
    ("板栗", "chestnuts"),
    ("民宿", "homestay"),
]
ADJECTIVES = [("精品", "premium"), ("礼盒", "gift box"), ("有机", "organic"), ("农家", "farmhouse"), ("生态", "eco")]
PINYIN = {"脐橙": ("qicheng", "qc"), "蜂蜜": ("fengmi", "fm"), "腊肉": ("larou", "lr"), "榨菜": ("zhacai", "zc")}
TYPOS = {"honey": "hony", "walnuts": "walnust", "pomelo": "pomleo", "konjac": "konjak", "chestnuts": "chesnuts"}
LABELS = ["geographical_indication", "green_food", "organic"]


def seed(database_url: str, products: int) -> None:
    """Bulk-insert products, each with one or two SKUs, labels, and a certification in force."""
    migrate.upgrade(database_url)
    engine = make_engine(database_url)
    meta = sa.MetaData()
    meta.reflect(engine)
    t = meta.tables
    now = clock.now()
    rng = random.Random(7)
    with engine.begin() as conn:
        districts = conn.execute(sa.text("SELECT id, name FROM districts ORDER BY id")).all()
        townships = conn.execute(sa.text("SELECT id, district_id FROM townships ORDER BY id")).all()
        conn.execute(
            t["users"].insert(),
            [
                {
                    "id": 1,
                    "email": "b@x.cq",
                    "password_hash": "-",
                    "display_name": "b",
                    "is_active": True,
                    "created_at": now,
                }
            ],
        )
        categories = [{"id": 1, "parent_id": None, "name": "农产品", "slug": "farm", "path": "/1/"}]
        for n, (cn, _en) in enumerate(ITEMS, start=2):
            categories.append({"id": n, "parent_id": 1, "name": cn, "slug": f"c{n}", "path": f"/1/{n}/"})
        conn.execute(t["categories"].insert(), categories)
        conn.execute(
            t["brands"].insert(),
            [
                {"id": 1, "name": "巴味渝珍", "tier": "regional_public", "district_id": None, "supplier_id": None},
                *[
                    {
                        "id": i + 2,
                        "name": f"{d.name}好物",
                        "tier": "district_public",
                        "district_id": d.id,
                        "supplier_id": None,
                    }
                    for i, d in enumerate(districts)
                ],
            ],
        )
        conn.execute(
            t["suppliers"].insert(),
            [
                {
                    "id": i + 1,
                    "name": f"{d.name}农业合作社",
                    "uscc": f"{i:018d}",
                    "district_id": d.id,
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
            [{"id": 1, "title": "b", "published_at": now, "objection_until": now, "published_by_id": 1}],
        )
        by_district = {}
        for township in townships:
            by_district.setdefault(township.district_id, []).append(township.id)
        for start in range(0, products, 5_000):
            rows, skus, labels, certs = [], [], [], []
            for i in range(start + 1, min(start + 5_000, products) + 1):
                d_index = rng.randrange(len(districts))
                district = districts[d_index]
                item = rng.randrange(len(ITEMS))
                adjective = ADJECTIVES[rng.randrange(len(ADJECTIVES))]
                cn, en = ITEMS[item]
                rows.append(
                    {
                        "id": i,
                        "supplier_id": d_index + 1,
                        "category_id": item + 2,
                        "brand_id": rng.choice([None, None, 1, d_index + 2]),
                        "kind": "service" if cn == "民宿" else "goods",
                        "name": f"{district.name[:2]}{adjective[0]}{cn} {adjective[1]} {en}",
                        "description": f"来自{district.name}的{cn}，{adjective[0]}。Fresh {en} from Chongqing.",
                        "origin_district_id": district.id,
                        "origin_township_id": rng.choice([None, *by_district.get(district.id, [])]),
                        "images": [],
                        "created_at": now - timedelta(minutes=i),
                        "updated_at": now,
                    }
                )
                for k in range(1 + i % 2):
                    skus.append(
                        {
                            "id": 2 * i + k,
                            "product_id": i,
                            "code": f"S{i}-{k}",
                            "name": "",
                            "price_fen": rng.randrange(500, 30_000),
                            "unit": "box",
                            "net_weight_g": None,
                            "is_active": True,
                        }
                    )
                for n, label in enumerate(LABELS):
                    if rng.random() < 0.2:
                        labels.append({"id": 3 * i + n, "product_id": i, "kind": label, "certificate_no": "x"})
                certs.append(
                    {
                        "id": i,
                        "product_id": i,
                        "supplier_id": d_index + 1,
                        "district_id": district.id,
                        "township_id": None,
                        "status": "published",
                        "production_base": "b",
                        "expected_yearly_output": 1,
                        "output_unit": "kg",
                        "households_benefiting": 1,
                        "renews_id": None,
                        "certificate_no": f"C{i}",
                        "decision_reason": None,
                        "announcement_id": 1,
                        "objection_until": now - timedelta(days=10),
                        "valid_from": now - timedelta(days=10),
                        # a tenth expire during the run's lifetime window: filtered at query time
                        "valid_until": now + timedelta(days=-1 if i % 10 == 0 else 365),
                        "applied_by_id": 1,
                        "created_at": now,
                    }
                )
            conn.execute(t["products"].insert(), rows)
            conn.execute(t["skus"].insert(), skus)
            if labels:
                conn.execute(t["product_labels"].insert(), labels)
            conn.execute(t["certifications"].insert(), certs)
    engine.dispose()


def query_mix(n: int, district_ids: list[int]) -> list[dict]:
    rng = random.Random(11)
    queries = []
    for _ in range(n):
        cn, en = ITEMS[rng.randrange(len(ITEMS))]
        roll = rng.random()
        if roll < 0.3:
            q = cn
        elif roll < 0.4:
            q = f"奉节{cn}"
        elif roll < 0.55:
            q = rng.choice(list(PINYIN.values()))[0]
        elif roll < 0.65:
            q = rng.choice(list(PINYIN.values()))[1]
        elif roll < 0.8:
            q = en.split()[-1]
        elif roll < 0.9:
            q = rng.choice(list(TYPOS.values()))
        else:
            q = ""
        params: dict = {"q": q, "size": 20}
        if rng.random() < 0.3:
            params["district_id"] = rng.choice(district_ids)
        if rng.random() < 0.2:
            params["label"] = rng.choice(LABELS)
        if rng.random() < 0.2:
            low = rng.randrange(500, 20_000)
            params["price_min_fen"], params["price_max_fen"] = low, low + 5_000
        if rng.random() < 0.15:
            params["poverty_alleviated"] = "true"
        if rng.random() < 0.1:
            params["category_id"] = rng.randrange(2, len(ITEMS) + 2)
        params["sort"] = rng.choices(["relevance", "price", "newest", "sales"], [7, 1, 1, 1])[0]
        queries.append(params)
    return queries


def _percentiles(values: list[float]) -> tuple[float, float, float]:
    values = sorted(values)
    at = lambda q: values[max(0, int(len(values) * q) - 1)]  # noqa: E731
    return statistics.median(values), at(0.95), at(0.99)


def query_kind(params: dict) -> str:
    """What a query of the mix is: its text's kind, its sort and its number of filters."""
    q = params["q"]
    if not q:
        kind = "empty"
    elif not q.isascii():
        kind = "cjk+place" if q.startswith("奉节") else "cjk"
    elif q in {initials for _full, initials in PINYIN.values()}:
        kind = "initials"
    elif q in {full for full, _initials in PINYIN.values()}:
        kind = "pinyin"
    else:
        kind = "typo" if q in TYPOS.values() else "word"
    filters = sum(f in params for f in ("district_id", "label", "price_min_fen", "poverty_alleviated", "category_id"))
    return f"{kind}, sort={params['sort']}, filters={min(filters, 2)}"


def slowest_kinds(queries: list[dict], latencies: list[float], n: int = 8) -> str:
    by_kind: dict[str, list[float]] = {}
    for params, ms in zip(queries, latencies, strict=True):
        by_kind.setdefault(query_kind(params), []).append(ms)
    rows = sorted(by_kind.items(), key=lambda item: -max(item[1]))[:n]
    return "\n".join(
        f"  {kind:40} n={len(values):3} p50 {statistics.median(values):7.1f} max {max(values):7.1f} ms"
        for kind, values in rows
    )


def run_queries(app, queries: list[dict], took: list[float] | None = None, trips: list[float] | None = None) -> dict:
    client = app.test_client()
    latencies, overheads, engine_times, errors, degraded, bounded = [], [], [], 0, 0, 0
    outside, estimated = [], 0
    for params in queries[:20]:  # warm-up
        client.get("/api/v1/search", query_string=params)
    for params in queries:
        if took is not None:
            took.clear()
        if trips is not None:
            trips.clear()
        start = time.perf_counter()
        response = client.get("/api/v1/search", query_string=params)
        elapsed = (time.perf_counter() - start) * 1000
        latencies.append(elapsed)
        errors += response.status_code != 200
        degraded += bool(response.status_code == 200 and response.json["degraded"])
        bounded += bool(response.status_code == 200 and not response.json["facets_exact"])
        estimated += bool(response.status_code == 200 and response.json.get("total_is_estimate"))
        if took:
            engine_times.append(took[-1])
            overheads.append(elapsed - took[-1])
        if trips:
            outside.append(elapsed - trips[-1])
    result = {
        "latency": _percentiles(latencies),
        "errors": errors,
        "degraded": degraded,
        "bounded": bounded,
        "estimated": estimated,
        "slowest": slowest_kinds(queries, latencies),
    }
    if engine_times:
        result["engine"] = _percentiles(engine_times)
        result["overhead"] = _percentiles(overheads)
    if outside:
        result["outside"] = _percentiles(outside)
    return result


def _app(database_url: str, **config):
    from shop import create_app

    return create_app({"DATABASE_URL": database_url, "SEARCH_DRAIN_AFTER_COMMIT": "off", **config})


def _indexed(database_url: str) -> int:
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            return conn.scalar(sa.text("SELECT count(*) FROM search_documents")) or 0
    except sa.exc.DBAPIError:
        return 0
    finally:
        engine.dispose()


def _reset_postgres(database_url: str) -> None:
    engine = make_engine(database_url)
    with engine.begin() as conn:
        conn.execute(sa.text("DROP SCHEMA public CASCADE"))
        conn.execute(sa.text("CREATE SCHEMA public"))
    engine.dispose()


def bench_embedded(database_url: str, size: int) -> list:
    from search.maintenance import reindex_embedded
    from shop.db import transaction

    dialect = database_url.split(":")[0].split("+")[0]
    rate = "reused"
    if not (REUSE and _indexed(database_url) == size):
        if dialect == "postgresql":
            _reset_postgres(database_url)
        seed(database_url, size)
        app = _app(database_url, SEARCH_BACKEND="embedded", ELASTICSEARCH_URL="")
        started = time.perf_counter()
        with transaction(app.extensions["shop"]["sessionmaker"]) as session:
            total = reindex_embedded(session, lambda n: None)
        rate = f"{total / (time.perf_counter() - started):,.0f}"
        app.extensions["shop"]["engine"].dispose()
    engine = make_engine(database_url)
    # PostgreSQL: as autovacuum leaves a table after a bulk load (statistics and the visibility map,
    # without which an index-only scan reads every row it counts)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text("VACUUM ANALYZE" if dialect == "postgresql" else "ANALYZE"))
    engine.dispose()
    migrate.upgrade(database_url)
    app = _app(database_url, SEARCH_BACKEND="embedded", ELASTICSEARCH_URL="")
    districts = _district_ids(database_url)
    result = run_queries(app, query_mix(QUERIES, districts))
    app.extensions["shop"]["engine"].dispose()
    print(f"embedded ({dialect}) at {size:,}: the slowest kinds of query\n{result['slowest']}", flush=True)
    return [
        f"embedded ({dialect})",
        f"{size:,}",
        rate,
        QUERIES,
        *(f"{v:.1f}" for v in result["latency"]),
        "–",
        "–",
        "–",
        result["errors"],
        f"{result['bounded']} / {result['estimated']}",
    ]


def bench_engine(database_url: str, size: int) -> list:
    from osmem_server import OsmemServer

    from search import extension
    from search.maintenance import reindex_engine

    seed(database_url, size)
    server = OsmemServer.start(addr="127.0.0.1:0")
    try:
        app = _app(
            database_url,
            SEARCH_BACKEND="elasticsearch",
            ELASTICSEARCH_URL=server.url,
            SEARCH_ENGINE_FLAVOR="opensearch",
            SEARCH_ENGINE_TIMEOUT=30.0,
        )
        ext = extension(app)
        started = time.perf_counter()
        _name, total = reindex_engine(app.extensions["shop"]["sessionmaker"], ext.engine, lambda n: None)
        indexing = time.perf_counter() - started
        took: list[float] = []
        original = ext.engine.search

        def timed(query, facets=True):
            result = original(query, facets=facets)
            took.append(result.took_ms or 0.0)
            return result

        ext.engine.search = timed
        # the engine's whole answer as the client sees it (the HTTP round trip): `took` leaves out
        # work some engines do after their timer stops (osmem fetches the hits outside it)
        trips: list[float] = []
        client_search = ext.engine.client.search

        def round_trip(**kwargs):
            response = client_search(**kwargs)
            trips.append(response.meta.duration * 1000)
            return response

        ext.engine.client.search = round_trip
        result = run_queries(app, query_mix(QUERIES, _district_ids(database_url)), took, trips)
        app.extensions["shop"]["engine"].dispose()
    finally:
        server.close()
    return [
        "engine (osmem)",
        f"{size:,}",
        f"{total / indexing:,.0f}",
        QUERIES,
        *(f"{v:.1f}" for v in result["latency"]),
        f"{result['engine'][0]:.1f} / {result['engine'][2]:.1f}",
        f"{result['overhead'][0]:.1f} / {result['overhead'][2]:.1f}",
        f"{result['outside'][0]:.1f} / {result['outside'][2]:.1f}",
        result["errors"] + result["degraded"],
        "–",
    ]


def _district_ids(database_url: str) -> list[int]:
    engine = make_engine(database_url)
    with engine.connect() as conn:
        ids = list(conn.scalars(sa.text("SELECT DISTINCT origin_district_id FROM products ORDER BY 1")))
    engine.dispose()
    return ids


def main() -> None:
    rows = []
    for size in SIZES:
        if SQLITE_PATH:
            rows.append(bench_embedded(f"sqlite:///{SQLITE_PATH}", size))
        else:
            with scratch_sqlite() as url:
                rows.append(bench_embedded(url, size))
        print(rows[-1], flush=True)
        if PG_URL:
            rows.append(bench_embedded(PG_URL, size))
            print(rows[-1], flush=True)
    if ENGINE_SIZE:
        with scratch_sqlite() as url:
            rows.append(bench_engine(url, ENGINE_SIZE))
            print(rows[-1], flush=True)
    print(
        table(
            f"Search through the API: {QUERIES:,} mixed queries (text + filters + 6 facets, size 20), "
            f"one client, Python {platform.python_version()}, {os.cpu_count()} cores",
            COMMAND,
            [
                "backend",
                "products",
                "indexing docs/s",
                "queries",
                "p50 ms",
                "p95 ms",
                "p99 ms",
                "engine took p50/p99 ms",
                "our overhead p50/p99 ms",
                "outside the engine's round trip p50/p99 ms",
                "errors",
                "facets bounded / total estimated",
            ],
            rows,
        )
    )


if __name__ == "__main__":
    main()
