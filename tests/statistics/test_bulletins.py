"""Bulletins: a numbered, immutable snapshot of a period's figures, read by the roles it is published
to, exported as XLSX with native charts, CSV, and ECharts options."""

import io
import zipfile

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError

from shop import clock
from shop.auth.models import Role
from shop.inventory.models import CHINA
from shop.statistics.models import Bulletin
from tests.factories import FENGJIE
from tests.statistics.conftest import P, received_bulk_order

S = "/api/v1/statistics"


def test_a_published_bulletin_is_numbered_ranked_and_never_changes(client, session, make, buyer_org):
    o = buyer_org
    today = clock.now().astimezone(CHINA).date()
    coordinator = make.headers(make.user(Role.COORDINATOR))
    client.put(
        f"{P}/organisations/{o.org.id}/pledges/{today.year}",
        headers=o.headers["finance"],
        json={
            "amount_fen": 10_000_000,
            "canteen_food_budget_fen": 40_000_000,
            "contact_name": "王",
            "contact_phone": "13800000000",
        },
    )
    received_bulk_order(client, o, [{"sku_code": o.sku.code, "quantity": 3, "delivery_address": "解放碑 8号"}])
    client.put(
        f"{S}/plans/{today.year}",
        headers=coordinator,
        json={"targets": [{"kind": "district", "key": str(FENGJIE), "target_fen": 60_000}]},
    )
    body = {"period": "month", "year": today.year, "number": today.month, "audience": ["regulator"]}
    assert client.post(f"{S}/bulletins", headers=o.headers["finance"], json=body).status_code == 403
    published = client.post(f"{S}/bulletins", headers=coordinator, json=body)
    assert published.status_code == 201, published.json
    bulletin = published.json
    assert bulletin["number"] == f"{today.year}-001"
    figures = bulletin["figures"]
    assert figures["districts"][0] | {"district": None} == {
        "rank": 1,
        "district_id": FENGJIE,
        "district": None,
        "amount_fen": 30_000,
        "year_to_date_fen": 30_000,
        "target_fen": 60_000,
        "share_bp": 5000,
    }
    assert figures["channels"] == [{"channel": "bulk", "amount_fen": 30_000, "share_bp": 10_000}]
    [org] = figures["organisations"]
    assert (org["completed_fen"], org["completion_bp"]) == (30_000, 30)
    assert figures["lagging_organisations"] == ([o.org.name] if org["lagging"] else [])
    again = client.post(f"{S}/bulletins", headers=coordinator, json=body)
    assert again.status_code == 409 and again.json["error"]["code"] == "bulletin_exists"
    # later sales do not change it
    received_bulk_order(client, o, [{"sku_code": o.sku.code, "quantity": 1, "delivery_address": "解放碑 8号"}])
    regulator = make.headers(make.user(Role.REGULATOR))
    read = client.get(f"{S}/bulletins/{bulletin['id']}", headers=regulator)
    assert read.status_code == 200 and read.json["figures"] == figures
    assert client.get(f"{S}/bulletins/{bulletin['id']}", headers=o.headers["finance"]).status_code == 404
    assert [b["id"] for b in client.get(f"{S}/bulletins", headers=regulator).json["items"]] == [bulletin["id"]]
    with pytest.raises(DBAPIError), session.begin_nested():
        session.execute(sa.update(Bulletin).where(Bulletin.id == bulletin["id"]).values(serial=9))


def test_exports_xlsx_with_native_charts_csv_and_echarts_options(client, session, make, buyer_org):
    o = buyer_org
    today = clock.now().astimezone(CHINA).date()
    coordinator = make.headers(make.user(Role.COORDINATOR))
    received_bulk_order(client, o, [{"sku_code": o.sku.code, "quantity": 2, "delivery_address": "解放碑 8号"}])
    quarter = (today.month - 1) // 3 + 1
    bulletin = client.post(
        f"{S}/bulletins", headers=coordinator, json={"period": "quarter", "year": today.year, "number": quarter}
    ).json
    xlsx = client.get(f"{S}/bulletins/{bulletin['id']}/export?format=xlsx", headers=coordinator)
    assert xlsx.status_code == 200
    names = zipfile.ZipFile(io.BytesIO(xlsx.data)).namelist()
    charts = [n for n in names if n.startswith("xl/charts/chart")]
    assert len(charts) >= 3  # districts, channels (a pie), deep-poverty townships
    pie = [n for n in charts if b"pieChart" in zipfile.ZipFile(io.BytesIO(xlsx.data)).read(n)]
    assert len(pie) == 1
    csv_body = client.get(f"{S}/bulletins/{bulletin['id']}/export?format=csv", headers=coordinator)
    text = csv_body.data.decode("utf-8-sig")
    assert csv_body.status_code == 200 and f"bulletin {bulletin['number']}" in text and "bulk,20000,10000" in text
    options = client.get(f"{S}/bulletins/{bulletin['id']}/charts", headers=coordinator).json["options"]
    assert options["channels"]["series"][0]["type"] == "pie"
    assert options["channels"]["series"][0]["data"] == [{"name": "bulk", "value": 20_000}]
    assert (
        options["districts"]["xAxis"]["type"] == "category" and options["districts"]["series"][0]["data"][0] == 20_000
    )
    assert {s["name"] for s in options["deep_poverty_townships"]["series"]} == {"amount_fen", "last_year_amount_fen"}
