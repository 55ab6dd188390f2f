"""Importing lines from CSV and XLSX: all rows or none, every bad row and column named."""

import csv
import io

from openpyxl import Workbook

from tests.procurement.conftest import P, new_order


def csv_file(rows, header=("sku_code", "quantity", "department", "delivery_address", "pickup_location_id")):
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8-sig")


def xlsx_file(rows, header):
    book = Workbook()
    sheet = book.active
    sheet.append(list(header))
    for row in rows:
        sheet.append(list(row))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def upload(client, o, order_id, data, name="lines.csv"):
    return client.post(
        f"{P}/bulk-orders/{order_id}/lines/import",
        headers=o.headers["purchaser"],
        data={"file": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
    )


def line_count(client, o, order_id):
    return client.get(f"{P}/bulk-orders/{order_id}/lines", headers=o.headers["purchaser"]).json["total"]


def test_one_bad_row_among_500_creates_nothing_and_names_row_and_column(client, buyer_org):
    o = buyer_org
    order = new_order(client, o)
    rows = [(o.sku.code, 1, f"部门{i % 7}", f"解放碑 {i}号", "") for i in range(500)]
    rows[316] = (o.sku.code, "两箱", "部门", "解放碑", "")  # quantity not a number: file row 318
    response = upload(client, o, order["id"], csv_file(rows))
    assert response.status_code == 422
    error = response.json["error"]
    assert error["code"] == "lines_rejected"
    assert error["details"]["errors"] == [
        {"row": 318, "column": "quantity", "message": "'两箱' is not a whole number."}
    ]
    assert line_count(client, o, order["id"]) == 0

    rows[316] = (o.sku.code, 1, "部门", "解放碑", "")
    ok = upload(client, o, order["id"], csv_file(rows))
    assert ok.status_code == 200, ok.json
    assert ok.json["line_count"] == 500 and ok.json["total_fen"] == 500 * 10_000


def test_semantic_and_cell_errors_are_reported_together(client, make, buyer_org):
    o = buyer_org
    order = new_order(client, o)
    rows = [
        (o.sku.code, 2, "", "", o.counter.id),
        ("UNKNOWN-SKU", 1, "", "x", ""),
        (o.sku.code, 0, "", "x", ""),
        (o.sku.code, 1, "", "", ""),
    ]
    response = upload(client, o, order["id"], csv_file(rows))
    errors = [(e["row"], e["column"]) for e in response.json["error"]["details"]["errors"]]
    assert errors == [(3, "sku_code"), (4, "quantity"), (5, "delivery_address")]
    assert line_count(client, o, order["id"]) == 0


def test_xlsx_with_chinese_headers(client, buyer_org):
    o = buyer_org
    order = new_order(client, o)
    data = xlsx_file(
        [(o.sku.code, 3, "工会办", o.counter.id), (o.sku.code, 4, "后勤", o.counter.id)],
        ("商品编码", "数量", "部门", "自提点"),
    )
    response = upload(client, o, order["id"], data, name="lines.xlsx")
    assert response.status_code == 200, response.json
    assert response.json["line_count"] == 2 and response.json["total_fen"] == 70_000
    rows = client.get(f"{P}/bulk-orders/{order['id']}/lines", headers=o.headers["purchaser"]).json["items"]
    assert [(r["row_number"], r["department"], r["pickup_location_id"]) for r in rows] == [
        (2, "工会办", o.counter.id),
        (3, "后勤", o.counter.id),
    ]


def test_bad_files_are_bad_input_never_500(client, buyer_org):
    o = buyer_org
    order = new_order(client, o)
    cases = [
        b"",
        b"nonsense,quantity\n1,2\n",
        b"sku_code\nX\n",
        b"PK\x03\x04garbage",
        "sku_code,quantity\n".encode("utf-16"),
        b"sku_code,quantity\n",
    ]
    for data in cases:
        response = upload(client, o, order["id"], data)
        assert response.status_code == 422, (data, response.json)
        assert set(response.json["error"]) == {"code", "message", "details"}
    missing = client.post(f"{P}/bulk-orders/{order['id']}/lines/import", headers=o.headers["purchaser"])
    assert missing.status_code == 422
    assert line_count(client, o, order["id"]) == 0


def test_gb18030_csv_from_spreadsheets(client, buyer_org):
    o = buyer_org
    order = new_order(client, o)
    data = f"商品编码,数量,收货地址\n{o.sku.code},2,渝中区解放碑\n".encode("gb18030")
    response = upload(client, o, order["id"], data)
    assert response.status_code == 200, response.json
    rows = client.get(f"{P}/bulk-orders/{order['id']}/lines", headers=o.headers["purchaser"]).json["items"]
    assert rows[0]["delivery_address"] == "渝中区解放碑"
