"""Purchase records of the 832 platform: imported as facts of channel 832, deduplicated by order
number (a repeated import adds nothing), counted in completion; one bad cell imports nothing."""

import io

import sqlalchemy as sa
from openpyxl import Workbook

from shop import clock
from shop.inventory.models import CHINA
from shop.statistics.models import SalesFact
from tests.statistics.conftest import P

HEADER = "order_number,date,supplier,product,origin_county,amount\n"


def _upload(client, o, data: bytes, name="832.csv", who="finance"):
    return client.post(
        f"/api/v1/statistics/organisations/{o.org.id}/platform-832-imports",
        headers=o.headers[who],
        data={"file": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
    )


def test_an_import_repeated_adds_nothing_and_completion_is_whole(client, session, buyer_org):
    o = buyer_org
    today = clock.now().astimezone(CHINA).date().isoformat()
    body = (
        HEADER
        + f"832-0001,{today},奉节县脐橙合作社,脐橙 5kg,奉节县,120.50\n"
        + f"832-0002,{today},渝中商贸,茶叶,Yuzhong,80\n"
        + f"832-0001,{today},奉节县脐橙合作社,脐橙 5kg,奉节县,120.50\n"
    ).encode()
    first = _upload(client, o, body)
    assert first.status_code == 201, first.json
    assert first.json == {"rows": 3, "imported": 2, "duplicates": 1, "amount_fen": 20_050}
    again = _upload(client, o, body)
    assert again.json == {"rows": 3, "imported": 0, "duplicates": 3, "amount_fen": 0}
    rows = session.scalars(sa.select(SalesFact).where(SalesFact.channel == "832").order_by(SalesFact.id)).all()
    assert [(f.external_supplier, f.amount_fen, f.eligible, f.organisation_id) for f in rows] == [
        ("奉节县脐橙合作社", 12_050, True, o.org.id),
        ("渝中商贸", 8000, False, o.org.id),
    ]
    year = today[:4]
    client.put(
        f"{P}/organisations/{o.org.id}/pledges/{year}",
        headers=o.headers["finance"],
        json={
            "amount_fen": 100_000,
            "canteen_food_budget_fen": 1_000_000,
            "contact_name": "王",
            "contact_phone": "13800000000",
        },
    )
    pledge = client.get(f"{P}/organisations/{o.org.id}/pledges/{year}", headers=o.headers["finance"]).json
    assert pledge["completed_fen"] == 12_050


def test_one_bad_cell_imports_nothing_and_names_row_and_column(client, session, buyer_org):
    o = buyer_org
    body = (HEADER + "832-1,2026-03-01,甲,乙,奉节县,10\n" + "832-2,2026-03-02,甲,乙,奉节县,12.345\n").encode()
    refused = _upload(client, o, body)
    assert refused.status_code == 422
    error = refused.json["error"]
    assert error["code"] == "import_rejected"
    assert (error["details"]["row"], error["details"]["column"]) == (3, "amount")
    unknown_county = _upload(client, o, (HEADER + "832-3,2026-03-01,甲,乙,火星县,10\n").encode())
    assert unknown_county.json["error"]["details"] | {"value": None} == {
        "row": 2,
        "column": "origin_county",
        "reason": "Not a district or county of Chongqing.",
        "value": None,
    }
    assert session.scalar(sa.select(sa.func.count()).select_from(SalesFact)) == 0
    outsider = _upload(client, o, body, who="operator")
    assert outsider.status_code == 404


def test_an_xlsx_file_with_chinese_headers_imports(client, session, buyer_org):
    o = buyer_org
    book = Workbook()
    sheet = book.active
    sheet.append(["订单号", "日期", "供应商", "商品名称", "产地", "金额"])
    sheet.append(["832-X1", clock.now().astimezone(CHINA).date(), "巫山县合作社", "脆李", "巫山县", 99.9])
    out = io.BytesIO()
    book.save(out)
    response = _upload(client, o, out.getvalue(), name="records.xlsx")
    assert response.status_code == 201, response.json
    assert response.json["imported"] == 1 and response.json["amount_fen"] == 9990
