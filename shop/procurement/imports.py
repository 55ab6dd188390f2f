"""Bulk-order lines from a CSV or XLSX file: the header names the columns (English or Chinese), each
row is typed and checked, and one bad cell anywhere rejects the whole file, naming every bad row
(as numbered in the file, the header being row 1) and column."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator

from shop.errors import InvalidInput
from shop.procurement.errors import LinesRejected

MAX_BYTES = 10 * 1024 * 1024
ALIASES = {
    "sku_code": ("sku_code", "sku", "商品编码", "sku编码"),
    "quantity": ("quantity", "qty", "数量"),
    "department": ("department", "部门"),
    "pickup_location_id": ("pickup_location_id", "pickup", "自提点"),
    "delivery_address": ("delivery_address", "address", "收货地址", "地址"),
    "recipient": ("recipient", "holder", "收货人", "领取人"),
    "phone": ("phone", "电话", "手机"),
    "voucher_value_fen": ("voucher_value_fen", "面值(分)", "面值"),
    "slot_id": ("slot_id", "slot", "场次"),  # a trip member's slot (shop.bookings.trips)
}
_BY_ALIAS = {alias.lower(): column for column, aliases in ALIASES.items() for alias in aliases}
TEXT_LIMITS = {"department": 100, "delivery_address": 300, "recipient": 100, "phone": 20, "sku_code": 64}
PHONE_RE = re.compile(r"^[0-9+\- ]{5,20}$")

MAX_LINES = 10_000  # of one bulk order
LINE_COLUMNS = (
    "sku_code",
    "quantity",
    "department",
    "pickup_location_id",
    "delivery_address",
    "recipient",
    "phone",
    "voucher_value_fen",
    "slot_id",
)


def _rows_csv(data: bytes) -> Iterator[list[str]]:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise InvalidInput("The file is neither UTF-8 nor GB18030 text.", fields={"file": ["Unreadable."]})
    yield from csv.reader(io.StringIO(text, newline=""))


def _rows_xlsx(data: bytes) -> Iterator[list[str]]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # a corrupt or foreign file: openpyxl raises many kinds
        raise InvalidInput("Not a readable XLSX workbook.", fields={"file": ["Unreadable."]}) from None
    try:
        sheet = book.worksheets[0]
        for row in sheet.iter_rows(values_only=True):
            yield [
                "" if v is None else (str(int(v)) if isinstance(v, float) and v.is_integer() else str(v)) for v in row
            ]
    finally:
        book.close()


def _kind(filename: str, data: bytes) -> str:
    if data[:4] == b"PK\x03\x04" or filename.lower().endswith(".xlsx"):
        return "xlsx"
    return "csv"


def parse(filename: str, data: bytes) -> tuple[list[dict], list[dict]]:
    """Typed rows {"row": n, column: value, ...} and the cells that could not be typed
    ({"row", "column", "message"}); a file whose header or size is wrong is refused at once."""
    if len(data) > MAX_BYTES:
        raise InvalidInput(f"The file is larger than {MAX_BYTES // 1024 // 1024} MB.", fields={"file": ["Too large."]})
    rows = _rows_xlsx(data) if _kind(filename, data) == "xlsx" else _rows_csv(data)
    header = next(rows, None)
    if header is None:
        raise InvalidInput("The file is empty.", fields={"file": ["No header row."]})
    columns: list[str | None] = []
    errors: list[dict] = []
    for i, name in enumerate(header):
        key = _BY_ALIAS.get(name.strip().lower())
        if name.strip() and key is None:
            errors.append(
                {"row": 1, "column": name.strip(), "message": f"Unknown column; use {', '.join(LINE_COLUMNS)}."}
            )
        if key in columns:
            errors.append({"row": 1, "column": name.strip(), "message": "Column given twice."})
        columns.append(key)
        del i
    if "quantity" not in columns:
        errors.append({"row": 1, "column": "quantity", "message": "Missing column."})
    if errors:
        raise LinesRejected(error_count=len(errors), errors=errors)

    typed: list[dict] = []
    for number, cells in enumerate(rows, start=2):
        if not any(c.strip() for c in cells):
            continue  # blank lines are not rows
        if len(typed) >= MAX_LINES:
            raise InvalidInput(f"At most {MAX_LINES} rows per file.", fields={"file": ["Too many rows."]})
        row: dict = {"row": number}
        for column, cell in zip(columns, cells, strict=False):
            if column is None:
                continue
            value = cell.strip()
            row[column] = _typed(column, value, number, errors)
        row.setdefault("quantity", None)
        if row["quantity"] is None and not any(e["row"] == number and e["column"] == "quantity" for e in errors):
            errors.append({"row": number, "column": "quantity", "message": "Required."})
        typed.append(row)
    if not typed and not errors:
        raise InvalidInput("The file has no rows.", fields={"file": ["No rows under the header."]})
    return typed, errors


def _typed(column: str, value: str, row: int, errors: list[dict]):
    def bad(message: str):
        errors.append({"row": row, "column": column, "message": message})

    if value == "":
        return None
    if column in ("quantity", "pickup_location_id", "voucher_value_fen", "slot_id"):
        if not re.fullmatch(r"\d{1,10}", value):
            bad(f"{value!r} is not a whole number.")
            return None
        number = int(value)
        upper = {"quantity": 100_000, "pickup_location_id": 2**31 - 1, "voucher_value_fen": 10_000_000}.get(
            column, 2**31 - 1
        )
        if not 1 <= number <= upper:
            bad(f"Must be from 1 to {upper}.")
            return None
        return number
    if len(value) > TEXT_LIMITS[column]:
        bad(f"At most {TEXT_LIMITS[column]} characters.")
        return None
    if column == "phone" and not PHONE_RE.match(value):
        bad("Not a phone number.")
        return None
    return value
