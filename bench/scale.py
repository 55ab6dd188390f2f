"""The buyer's and the coordinator's paths at the platform's scale, through gunicorn, on PostgreSQL.

BENCH_DATABASE_URL names the database (required). If it has no products it is filled first with
`flask demo scale` (BENCH_SCALE_FRACTION, default 1: 300,000 products, 1,000,000 orders, a year of
counter sales; the fill time is printed). Then, through gunicorn (BENCH_WORKERS sync workers,
default 3) and BENCH_CONCURRENCY client threads (default 4), each path is loaded with
BENCH_SCALE_REQUESTS requests (default 600; checkout and statistics a third of it; searches BENCH_SCALE_SEARCHES):
- list: GET /api/v1/products?size=20
- detail: GET /api/v1/products/{id}, products in force picked by popularity
- search: GET /api/v1/search, the embedded backend, a mixed set (words, pinyin, English, filters,
  sorts, with the facets)
- checkout: POST /api/v1/orders of a one-line cart (pickup at a hall with stock), the cart line put
  in just before by the same buyer (untimed); each thread is another buyer
- statistics: GET /api/v1/statistics/sales, a few shapes (by channel per month, by district, a
  district's products, a district per day, by the two flags per quarter), as the coordinator
and the peak resident memory (VmHWM) of the workers is read from /proc at the end."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import platform
import random
import time
from pathlib import Path

import sqlalchemy as sa

from bench.common import gunicorn, run_load, table
from shop import clock, migrate
from shop.db import make_engine
from shop.demo import scale as scale_data

URL = os.environ.get("BENCH_DATABASE_URL")
FRACTION = float(os.environ.get("BENCH_SCALE_FRACTION", 1))
REQUESTS = int(os.environ.get("BENCH_SCALE_REQUESTS", 600))
SEARCHES = int(os.environ.get("BENCH_SCALE_SEARCHES", REQUESTS))
CONCURRENCY = int(os.environ.get("BENCH_CONCURRENCY", 4))
WORKERS = int(os.environ.get("BENCH_WORKERS", 3))
RSS_TARGET_MB = 300


def fill_if_empty(url: str) -> str:
    migrate.upgrade(url)
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            if scale_data.is_filled(conn):
                return "already filled"
        started = time.monotonic()
        summary = scale_data.run(
            engine, scale_data.Scale().times(FRACTION), clock.now(), log=lambda m: print(m, flush=True)
        )
        return f"filled in {time.monotonic() - started:.0f} s ({summary})"
    finally:
        engine.dispose()


class Sample:
    """Ids and words to ask about, read from the database."""

    def __init__(self, url: str):
        engine = make_engine(url)
        rng = random.Random(7)
        with engine.connect() as conn:
            self.products = list(
                conn.scalars(
                    sa.text(
                        "SELECT product_id FROM sales_facts WHERE product_id IS NOT NULL ORDER BY id DESC LIMIT 5000"
                    )
                )
            )  # recent sales: popular products in force
            self.districts = list(conn.scalars(sa.text("SELECT id FROM districts ORDER BY id")))
            self.categories = list(conn.scalars(sa.text("SELECT id FROM categories WHERE parent_id IS NOT NULL")))
            hall_stock = conn.execute(
                sa.text(
                    "SELECT sl.location_id, sl.sku_id FROM stock_levels sl JOIN locations l ON l.id = sl.location_id "
                    "WHERE l.kind = 'hall' AND sl.on_hand - sl.reserved >= 200 ORDER BY sl.sku_id LIMIT 2000"
                )
            ).all()
            self.hall_stock = [tuple(r) for r in hall_stock]
            self.buyers = list(
                conn.scalars(sa.text("SELECT email FROM users WHERE email LIKE 'buyer%@scale.cq' ORDER BY id LIMIT 64"))
            )
            self.year = clock.now().year
        engine.dispose()
        rng.shuffle(self.products)
        self.rng = rng

    def searches(self, n: int) -> list[str]:
        rng = random.Random(11)
        words = [w for _, _, items in scale_data.CATEGORIES for w in items]
        out = []
        for _ in range(n):
            word, english, _unit, price = rng.choice(words)
            roll = rng.random()
            if roll < 0.35:
                q = word
            elif roll < 0.5:
                q = f"奉节{word}"
            elif roll < 0.65:
                from search.text import pinyin_keys

                keys = pinyin_keys(word)
                q = keys[-1] if keys else word
            elif roll < 0.85:
                q = english.split()[-1]
            else:
                q = ""
            params = [("q", q), ("size", "20")]
            if rng.random() < 0.3:
                params.append(("district_id", str(rng.choice(self.districts))))
            if rng.random() < 0.2:
                params.append(("label", rng.choice(["geographical_indication", "green_food", "organic"])))
            if rng.random() < 0.2:
                params += [("price_min_fen", str(price // 2)), ("price_max_fen", str(price * 2))]
            if rng.random() < 0.15:
                params.append(("poverty_alleviated", "true"))
            if rng.random() < 0.1:
                params.append(("category_id", str(rng.choice(self.categories))))
            if rng.random() < 0.2:
                params.append(("in_stock", "true"))
            params.append(("sort", rng.choices(["relevance", "price", "newest", "sales"], [7, 1, 1, 1])[0]))
            out.append("/api/v1/search?" + "&".join(f"{k}={_quote(v)}" for k, v in params))
        return out

    def statistics(self) -> list[str]:
        y = self.year
        district = self.districts[len(self.districts) // 2]
        return [
            f"/api/v1/statistics/sales?group_by=channel&period=month&date_from={y - 1}-01-01&date_to={y}-12-31",
            f"/api/v1/statistics/sales?group_by=district&period=year&date_from={y}-01-01&date_to={y}-12-31",
            # one district's products (over every product the answer is every product: 12 MB at scale)
            f"/api/v1/statistics/sales?group_by=product&district_id={district}&date_from={y}-01-01&date_to={y}-12-31",
            f"/api/v1/statistics/sales?district_id={district}&period=day&date_from={y}-01-01&date_to={y}-12-31",
            f"/api/v1/statistics/sales?group_by=deep_poverty&group_by=eligible&period=quarter"
            f"&date_from={y - 1}-01-01&date_to={y}-12-31",
        ]


def _quote(value: str) -> str:
    from urllib.parse import quote

    return quote(value, safe="")


def request(port: int, method: str, path: str, body: dict | None = None, token: str | None = None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    headers = {"Content-Type": "application/json"} if body is not None else {}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
    response = conn.getresponse()
    data = response.read()
    conn.close()
    return response.status, data


def login(port: int, email: str) -> str:
    status, data = request(port, "POST", "/api/v1/auth/token", {"login": email, "password": scale_data.SCALE_PASSWORD})
    if status != 200:
        raise RuntimeError(f"log-in of {email} failed: {status} {data[:200]!r}")
    return json.loads(data)["access_token"]


def timed_get(port: int, path: str, token: str | None = None, ok_statuses=(200,)) -> tuple[bool, float]:
    start = time.perf_counter()
    status, _ = request(port, "GET", path, token=token)
    return status in ok_statuses, time.perf_counter() - start


def worker_peak_rss_mb(port: int) -> tuple[float, int]:
    """The largest VmHWM among the gunicorn workers serving `port`, and how many there are."""
    me = os.getpid()
    procs = {}
    for status in Path("/proc").glob("[0-9]*/status"):
        with contextlib.suppress(OSError):
            cmdline = (status.parent / "cmdline").read_bytes().replace(b"\0", b" ")
            if b"gunicorn" in cmdline and f"127.0.0.1:{port}".encode() in cmdline:
                fields = dict(line.split(":", 1) for line in status.read_text().splitlines() if ":" in line)
                procs[int(status.parent.name)] = (int(fields["PPid"]), int(fields["VmHWM"].split()[0]))
    master = [pid for pid, (ppid, _) in procs.items() if ppid == me]
    workers = [hwm for pid, (ppid, hwm) in procs.items() if ppid in master]
    return (max(workers) / 1024 if workers else 0.0), len(workers)


def main() -> None:
    if not URL or not URL.startswith("postgresql"):
        print("bench scale: set BENCH_DATABASE_URL to a PostgreSQL database (it is filled if empty)")
        return
    filled = fill_if_empty(URL)
    sample = Sample(URL)
    # no worker restarts (the peak memory is of the whole run), quiet request logs, a quick stop
    # and slow requests finish (a worker killed by the timeout would take its peak memory with it)
    os.environ.update(WEB_MAX_REQUESTS="0", LOG_LEVEL="WARNING", WEB_GRACEFUL_TIMEOUT="5", WEB_TIMEOUT="300")
    rows = []
    with gunicorn(URL, WORKERS) as port:
        coordinator = login(port, "coordinator@scale.cq")
        buyers = [login(port, email) for email in sample.buyers[:CONCURRENCY]]
        searches = sample.searches(SEARCHES)
        stats = sample.statistics()
        products = sample.products or [1]
        for path in ("/api/v1/products?size=20", f"/api/v1/products/{products[0]}", searches[0], stats[0]):
            request(port, "GET", path, token=coordinator)  # warm up the workers

        def listing(_t, _i):
            return timed_get(port, "/api/v1/products?size=20")

        def detail(t, i):
            return timed_get(port, f"/api/v1/products/{products[(t * 997 + i) % len(products)]}")

        def search(t, i):
            return timed_get(port, searches[(t * (SEARCHES // CONCURRENCY) + i) % len(searches)])

        def statistics(t, i):
            return timed_get(port, stats[(t + i) % len(stats)], token=coordinator)

        rng = random.Random(5)

        def checkout(t, i):
            location_id, sku_id = rng.choice(sample.hall_stock)
            status, data = request(
                port,
                "POST",
                "/api/v1/cart/lines",
                {"sku_id": sku_id, "quantity": 1, "fulfilment": "pickup", "location_id": location_id},
                token=buyers[t],
            )
            if status not in (200, 201):
                return False, 0.0
            start = time.perf_counter()
            status, data = request(port, "POST", "/api/v1/orders", {}, token=buyers[t])
            elapsed = time.perf_counter() - start
            if status not in (200, 201) and os.environ.get("BENCH_VERBOSE"):
                print("checkout", status, data[:300])
            return status in (200, 201), elapsed

        paths = [
            ("list", "GET /api/v1/products?size=20", listing, REQUESTS),
            ("detail", "GET /api/v1/products/{id}", detail, REQUESTS),
            ("search", "GET /api/v1/search (mixed, facets)", search, SEARCHES),
            ("checkout", "POST /api/v1/orders (1 line)", checkout, max(CONCURRENCY, REQUESTS // 3)),
            ("statistics", "GET /api/v1/statistics/sales (5 shapes)", statistics, REQUESTS // 3),
        ]
        for name, label, one, n in paths:
            if name == "checkout" and (not sample.hall_stock or len(buyers) < CONCURRENCY):
                rows.append([name, label, 0, "-", "-", "-", "-", "-"])
                continue
            r = run_load(n, CONCURRENCY, one)
            rows.append(
                [
                    name,
                    label,
                    r["requests"],
                    r["errors"],
                    f"{r['rps']:.1f}",
                    f"{r['p50']:.1f}",
                    f"{r['p95']:.1f}",
                    f"{r['p99']:.1f}",
                ]
            )
        peak, workers = worker_peak_rss_mb(port)
    with make_engine(URL).connect() as conn:
        counts = {
            t: conn.scalar(sa.text(f"SELECT count(*) FROM {t}"))
            for t in ("products", "suppliers", "locations", "orders", "sales_facts", "search_documents")
        }
    print(
        table(
            f"Scale: {', '.join(f'{v:,} {k}' for k, v in counts.items())}; gunicorn {WORKERS} sync workers, "
            f"{CONCURRENCY} client threads; PostgreSQL; {platform.python_implementation()} "
            f"{platform.python_version()}, {os.cpu_count()} cores. Database: {filled}. "
            f"Peak RSS of a worker (VmHWM, {workers} workers): {peak:.0f} MB (target <= {RSS_TARGET_MB} MB)",
            "BENCH_DATABASE_URL=postgresql://... make bench BENCH=scale",
            ["path", "request", "n", "errors", "req/s", "p50 ms", "p95 ms", "p99 ms"],
            rows,
        )
    )


if __name__ == "__main__":
    main()
