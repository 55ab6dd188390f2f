import csv
import io
from datetime import timedelta

from openpyxl import load_workbook

from shop import clock
from shop.auth.models import Role
from tests.factories import FENGJIE, WUSHAN
from tests.supervision.conftest import P


def _complaints(client, make):
    fj = make.product(make.supplier(FENGJIE, name="奉节果园"))
    ws = make.product(make.supplier(WUSHAN, name="巫山果园"))
    buyer = make.headers(make.user())
    t0 = clock.now()
    made = []
    for product, category in ((fj, "service"), (fj, "false_label"), (ws, "short_weight")):
        with clock.frozen_at(t0):
            body = {"category": category, "product_id": product.id, "description": "问题"}
            made.append(client.post(f"{P}/complaints", json=body, headers=buyer).json)
    handler = make.headers(make.certifier(FENGJIE))
    with clock.frozen_at(t0 + timedelta(hours=1)):
        client.post(f"{P}/complaints/{made[0]['id']}/accept", json={}, headers=handler)
    with clock.frozen_at(t0 + timedelta(hours=10)):
        client.post(
            f"{P}/complaints/{made[0]['id']}/decide", json={"outcome": "upheld", "decision": "属实"}, headers=handler
        )
    return t0, made


def test_certifiers_report_their_own_district_regulators_all(client, make):
    t0, made = _complaints(client, make)
    fj, ws = make.headers(make.certifier(FENGJIE)), make.headers(make.certifier(WUSHAN))
    regulator = make.headers(make.user(Role.REGULATOR))
    with clock.frozen_at(t0 + timedelta(days=4)):  # past the 72 hours to accept
        own = client.get(f"{P}/supervision/reports/summary", headers=fj).json
        everything = client.get(f"{P}/supervision/reports/summary", headers=regulator).json
        assert client.get(f"{P}/supervision/reports/summary", headers=make.headers(make.user())).status_code == 403
    assert [(r["key"], r["filed"], r["upheld"]) for r in own["complaints_by_district"]] == [(FENGJIE, 2, 1)]
    assert own["complaints_by_district"][0]["avg_hours_to_decision"] == 10.0
    assert own["complaints_by_district"][0]["district_name"] == "奉节县"
    assert {r["key"] for r in own["complaints_by_category"]} == {"service", "false_label"}
    assert [o["id"] for o in own["overdue_complaints"]] == [made[1]["id"]]
    assert {r["key"] for r in everything["complaints_by_district"]} >= {FENGJIE, WUSHAN}
    with clock.frozen_at(t0 + timedelta(days=4)):
        assert all(
            r["key"] == WUSHAN
            for r in client.get(f"{P}/supervision/reports/summary", headers=ws).json["complaints_by_district"]
        )


def test_exports_as_csv_and_xlsx(client, make):
    t0, _made = _complaints(client, make)
    fj = make.headers(make.certifier(FENGJIE))
    with clock.frozen_at(t0 + timedelta(days=4)):
        as_csv = client.get(f"{P}/supervision/reports/summary/export?format=csv", headers=fj)
        as_xlsx = client.get(f"{P}/supervision/reports/summary/export?format=xlsx", headers=fj)
    assert as_csv.status_code == 200 and as_csv.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(as_csv.data.decode("utf-8-sig"))))
    assert rows[0][:3] == ["district_id", "district_name", "filed"] and rows[1][:3] == [str(FENGJIE), "奉节县", "2"]
    book = load_workbook(io.BytesIO(as_xlsx.data))
    assert {"complaints_by_district", "overdue_complaints", "sanctions", "failed_inspections"} <= set(book.sheetnames)
    sheet = book["complaints_by_district"]
    assert [c.value for c in sheet[2]][:3] == [FENGJIE, "奉节县", 2]
