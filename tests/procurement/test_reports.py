"""Reports per organisation and rolled up per district, as JSON, CSV and XLSX."""

import csv
import io

from openpyxl import load_workbook

from shop.auth.models import Role
from tests.factories import WUSHAN
from tests.procurement.conftest import YEAR, P, add_lines, new_order


def buy(client, o, lines, *, evaluate=True):
    order = new_order(client, o)
    assert add_lines(client, o, order["id"], lines).status_code == 200
    client.post(f"{P}/bulk-orders/{order['id']}/submit", headers=o.headers["purchaser"])
    client.post(f"{P}/bulk-orders/{order['id']}/approve", headers=o.headers["approver"], json={})
    payment = client.post(f"{P}/bulk-orders/{order['id']}/payments", headers=o.headers["finance"], json={}).json
    client.post(
        f"{P}/bulk-orders/{order['id']}/payments/{payment['id']}/confirm",
        headers=o.headers["finance"],
        json={"reference": "r"},
    )
    if evaluate:
        client.post(f"{P}/bulk-orders/{order['id']}/fulfil", headers=o.headers["operator"], json={})
        client.post(f"{P}/bulk-orders/{order['id']}/receive", headers=o.headers["purchaser"], json={})
        client.post(f"{P}/bulk-orders/{order['id']}/evaluate", headers=o.headers["purchaser"], json={"rating": 5})
    return order


def test_organisation_report_and_district_rollup(client, make, buyer_org):
    o = buyer_org
    wushan = make.sku(price_fen=5_000, supplier=make.supplier(district_id=WUSHAN))
    make.stock(o.hall, wushan, 100)
    client.put(
        f"{P}/organisations/{o.org.id}/pledges/{YEAR}",
        headers=o.headers["approver"],
        json={
            "amount_fen": 200_000,
            "canteen_food_budget_fen": 2_000_000,
            "contact_name": "王",
            "contact_phone": "13800000000",
        },
    )
    buy(client, o, [{"sku_code": o.sku.code, "quantity": 10, "delivery_address": "x"}])
    buy(client, o, [{"sku_code": wushan.code, "quantity": 4, "delivery_address": "x"}], evaluate=False)

    report = client.get(f"{P}/organisations/{o.org.id}/report?year={YEAR}", headers=o.headers["purchaser"]).json
    assert report["purchased_fen"] == 120_000 and report["purchase_orders"] == 2
    assert report["budget_spent_fen"] == 120_000 and report["per_capita_used_fen"] == 1_200
    assert report["per_capita_use_bp"] == 240  # ¥12 of ¥500
    assert (report["pledge_fen"], report["pledge_completed_fen"], report["pledge_completion_bp"]) == (
        200_000,
        100_000,
        5000,
    )
    origin = {r["district"]: r for r in report["by_origin_district"]}
    assert origin["巫山县"]["poverty_alleviated"] is True and origin["巫山县"]["amount_fen"] == 20_000
    assert report["poverty_area_purchased_fen"] == sum(
        r["amount_fen"] for r in origin.values() if r["poverty_alleviated"]
    )

    exported = client.get(
        f"{P}/organisations/{o.org.id}/report/export?year={YEAR}&format=csv", headers=o.headers["finance"]
    )
    assert exported.status_code == 200 and exported.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(exported.data.decode("utf-8-sig"))))
    assert ["purchased_fen", "120000"] in rows and [
        "district_id",
        "district",
        "poverty_alleviated",
        "quantity",
        "amount_fen",
    ] in rows
    xlsx = client.get(
        f"{P}/organisations/{o.org.id}/report/export?year={YEAR}&format=xlsx", headers=o.headers["finance"]
    )
    book = load_workbook(io.BytesIO(xlsx.data))
    assert book.sheetnames == ["summary", "by_origin_district"]
    assert ("purchased_fen", 120000) in list(book["summary"].iter_rows(values_only=True))
    bad = client.get(f"{P}/organisations/{o.org.id}/report/export?year={YEAR}&format=pdf", headers=o.headers["finance"])
    assert bad.status_code == 422

    assert client.get(f"{P}/reports/pledges?year={YEAR}", headers=o.headers["approver"]).status_code == 403
    regulator = make.headers(make.user(Role.REGULATOR))
    rollup = client.get(f"{P}/reports/pledges?year={YEAR}", headers=regulator).json["items"]
    assert rollup == [
        {
            "district_id": o.org.district_id,
            "district": "渝中区",
            "fiscal_year": YEAR,
            "organisations_pledging": 1,
            "pledged_fen": 200_000,
            "completed_fen": 100_000,
            "completion_bp": 5000,
            "purchased_fen": 120_000,
        }
    ]
    xlsx = client.get(f"{P}/reports/pledges/export?year={YEAR}&format=xlsx", headers=regulator)
    sheet = load_workbook(io.BytesIO(xlsx.data))["pledges_by_district"]
    assert list(sheet.iter_rows(values_only=True))[1][:2] == (o.org.district_id, "渝中区")
