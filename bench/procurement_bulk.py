"""Import and approve a 5,000-line bulk order: the file upload (CSV, then XLSX) through the API with
every row checked, then submission (pricing with volume tiers) and approval (budget commitment and a
reservation of 50 SKUs at a hall). Time per step, and the peak of Python memory (tracemalloc) in a
second, traced run of the same steps. Scratch database: an SQLite file, or one on the
BENCH_DATABASE_URL server."""

from __future__ import annotations

import csv
import io
import os
import time
import tracemalloc
from datetime import timedelta

from flask_jwt_extended import create_access_token
from openpyxl import Workbook

from bench.common import table
from bench.inventory_stock import scratch_database
from shop import clock, create_app, migrate
from shop.db import transaction
from shop.promotions import tiers

LINES = int(os.environ.get("BENCH_PROCUREMENT_LINES", 5000))
SKUS = 50
P = "/api/v1/procurement"


def seed(app):
    from tests.factories import Factory
    from tests.procurement.conftest import make_org

    with app.app_context(), transaction(app.extensions["shop"]["sessionmaker"]) as session:
        make = Factory(app, session)
        org, purchaser, approver, _finance = make_org(make, session, headcount=100_000, budget_fen=5_000_000_000)
        hall = make.hall()
        codes = []
        for i in range(SKUS):
            sku = make.sku(price_fen=5_000 + i * 10)
            make.stock(hall, sku, 1_000_000)
            if i % 2 == 0:
                tiers.replace_tiers(
                    session,
                    make.admin,
                    sku.id,
                    tiers=[
                        {"min_quantity": 50, "unit_price_fen": 4_500},
                        {"min_quantity": 200, "unit_price_fen": 4_000},
                    ],
                    now=clock.now() - timedelta(days=1),
                )
            codes.append(sku.code)
        headers = {
            who: {"Authorization": f"Bearer {create_access_token(identity=str(user.id))}"}
            for who, user in (("purchaser", purchaser), ("approver", approver))
        }
        return org.id, hall.id, codes, headers


def files(codes) -> dict[str, bytes]:
    header = ["sku_code", "quantity", "department", "delivery_address", "recipient", "phone"]
    rows = [
        [codes[i % SKUS], 1 + i % 5, f"第{i % 120}科室", f"渝中区解放碑 {i % 300} 号", f"职工{i}", "13800000000"]
        for i in range(LINES)
    ]
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    book = Workbook(write_only=True)
    sheet = book.create_sheet()
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    xlsx = io.BytesIO()
    book.save(xlsx)
    return {"csv": out.getvalue().encode("utf-8-sig"), "xlsx": xlsx.getvalue()}


def run(client, org_id, hall_id, headers, name: str, data: bytes) -> list[tuple[str, float, float]]:
    """Create, import, submit and approve one order; returns (step, seconds, peak MiB or 0)."""
    steps = []

    def step(label, method, url, who, **kwargs):
        traced = tracemalloc.is_tracing()
        if traced:
            tracemalloc.reset_peak()
        started = time.perf_counter()
        response = getattr(client, method)(url, headers=headers[who], **kwargs)
        seconds = time.perf_counter() - started
        assert response.status_code in (200, 201), (label, response.status_code, response.json)
        peak = tracemalloc.get_traced_memory()[1] / 2**20 if traced else 0.0
        steps.append((label, seconds, peak))
        return response.json

    order = step(
        "create draft",
        "post",
        f"{P}/organisations/{org_id}/bulk-orders",
        "purchaser",
        json={"title": "bench", "supply_location_id": hall_id},
    )
    imported = step(
        f"import {LINES} lines ({name})",
        "post",
        f"{P}/bulk-orders/{order['id']}/lines/import",
        "purchaser",
        data={"file": (io.BytesIO(data), f"lines.{name}")},
        content_type="multipart/form-data",
    )
    assert imported["line_count"] == LINES
    step("submit (reprice)", "post", f"{P}/bulk-orders/{order['id']}/submit", "purchaser")
    step("approve (budget + reservation)", "post", f"{P}/bulk-orders/{order['id']}/approve", "approver", json={})
    return steps


def main() -> None:
    with scratch_database() as url:
        migrate.upgrade(url)
        app = create_app({"DATABASE_URL": url, "PASSWORD_HASH_TIME_COST": 1, "PASSWORD_HASH_MEMORY_KIB": 64})
        org_id, hall_id, codes, headers = seed(app)
        data = files(codes)
        rows = []
        with app.app_context():
            client = app.test_client()
            for name in ("csv", "xlsx"):
                timed = run(client, org_id, hall_id, headers, name, data[name])
                tracemalloc.start()
                traced = run(client, org_id, hall_id, headers, name, data[name])
                tracemalloc.stop()
                for (label, seconds, _), (_, _, peak) in zip(timed, traced, strict=True):
                    rows.append([label, f"{seconds * 1000:.0f}", f"{peak:.1f}"])
        app.extensions["shop"]["engine"].dispose()
        backend = url.split(":", 1)[0]
    print(
        table(
            f"procurement: import and approve a {LINES}-line bulk order ({backend}, {SKUS} SKUs, "
            f"CSV {len(data['csv']) // 1024} KiB, XLSX {len(data['xlsx']) // 1024} KiB)",
            "make bench BENCH=procurement",
            ["step", "ms", "peak MiB (tracemalloc)"],
            rows,
        )
    )
