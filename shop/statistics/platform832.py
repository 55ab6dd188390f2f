"""Purchase records of the national 832 platform (CSV or XLSX: order number, date, supplier, product,
origin county, amount in yuan) imported as facts of channel 832 under the importing organisation.
One bad cell rejects the whole file, naming its row (the header is row 1) and column; an order
number imported before (or twice in the file) is skipped, so a repeated import adds nothing."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation

import sqlalchemy as sa
from sqlalchemy.orm import Session

from shop.auth.actor import Actor
from shop.auth.models import Role
from shop.db import insert_ignore
from shop.errors import InvalidInput, NotFound
from shop.inventory.models import CHINA
from shop.procurement.models import Organisation
from shop.reference.models import District
from shop.statistics.errors import ImportRejected
from shop.statistics.facts import buyer_of
from shop.statistics.models import Channel, SalesFact
from shop.statistics.queries import SEES_ALL

MAX_BYTES = 10 * 1024 * 1024
MAX_ROWS = 50_000
ALIASES = {
    "order_number": ("order_number", "订单号", "订单编号"),
    "date": ("date", "日期", "下单日期", "订单日期"),
    "supplier": ("supplier", "供应商", "店铺"),
    "product": ("product", "商品", "商品名称"),
    "origin_county": ("origin_county", "产地", "产地区县", "区县"),
    "amount": ("amount", "金额", "金额(元)", "订单金额"),
}
_BY_ALIAS = {alias.lower(): column for column, aliases in ALIASES.items() for alias in aliases}
AMOUNT_RE = re.compile(r"^\d{1,12}(\.\d{1,2})?$", re.ASCII)


def _rows(filename: str, data: bytes) -> Iterator[list[str]]:
    if data[:4] == b"PK\x03\x04" or filename.lower().endswith(".xlsx"):
        from openpyxl import load_workbook

        try:
            book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except Exception:  # a corrupt or foreign file: openpyxl raises many kinds
            raise InvalidInput("Not a readable XLSX workbook.", fields={"file": ["Unreadable."]}) from None
        try:
            for row in book.worksheets[0].iter_rows(values_only=True):
                yield [_cell(v) for v in row]
        finally:
            book.close()
        return
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise InvalidInput("The file is neither UTF-8 nor GB18030 text.", fields={"file": ["Unreadable."]})
    yield from csv.reader(io.StringIO(text, newline=""))


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _rejected(row: int, column: str, reason: str, **extra) -> ImportRejected:
    return ImportRejected(
        f"Row {row}, column {column}: {reason} Nothing was imported.", row=row, column=column, reason=reason, **extra
    )


def parse(session: Session, filename: str, data: bytes) -> list[dict]:
    """Typed rows, or ImportRejected naming the first bad cell (row and column)."""
    if len(data) > MAX_BYTES:
        raise InvalidInput("The file is larger than 10 MB.", fields={"file": ["Too large."]})
    rows = _rows(filename, data)
    header = next(rows, None)
    if header is None:
        raise InvalidInput("The file is empty.", fields={"file": ["No header row."]})
    columns = [_BY_ALIAS.get(name.strip().lower()) for name in header]
    for name, column in zip(header, columns, strict=True):
        if name.strip() and column is None:
            raise _rejected(1, name.strip(), f"Unknown column; use {', '.join(ALIASES)}.")
    for column in ALIASES:
        if column not in columns:
            raise _rejected(1, column, "Missing column.")
    districts = {}
    for district_id, name, name_en in session.execute(sa.select(District.id, District.name, District.name_en)):
        districts[name] = districts[name_en.lower()] = districts[str(district_id)] = district_id
    typed = []
    for number, cells in enumerate(rows, start=2):
        if not any(c.strip() for c in cells):
            continue
        if len(typed) >= MAX_ROWS:
            raise InvalidInput(f"At most {MAX_ROWS} rows per file.", fields={"file": ["Too many rows."]})
        values = {c: v.strip() for c, v in zip(columns, cells, strict=False) if c is not None}
        row = {"row": number}
        for column in ALIASES:
            row[column] = _typed(column, values.get(column, ""), number, districts)
        typed.append(row)
    if not typed:
        raise InvalidInput("The file has no rows.", fields={"file": ["No rows under the header."]})
    return typed


def _typed(column: str, value: str, row: int, districts: dict):
    def bad(reason: str):
        raise _rejected(row, column, reason, value=value[:100])

    if value == "":
        bad("Required.")
    if column == "date":
        try:
            day = date.fromisoformat(value[:10].replace("/", "-"))
        except ValueError:
            bad("Not a date (YYYY-MM-DD).")
        if not date(2001, 1, 1) <= day <= date(2100, 12, 31):
            bad("Out of range.")
        return day
    if column == "amount":
        if not AMOUNT_RE.match(value):
            bad("Not an amount in yuan (up to two decimals).")
        try:
            return int(Decimal(value) * 100)
        except InvalidOperation:
            bad("Not an amount.")
    if column == "origin_county":
        district_id = districts.get(value) or districts.get(value.lower())
        if district_id is None:
            bad("Not a district or county of Chongqing.")
        return district_id
    if len(value) > (64 if column == "order_number" else 200):
        bad("Too long.")
    return value


def import_records(
    session: Session, actor: Actor, organisation_id: int, *, filename: str, data: bytes, now: datetime
) -> dict:
    """The organisation's members (approver, finance), the coordinator or admins."""
    organisation = session.get(Organisation, organisation_id)
    allowed = any(actor.has(r) for r in SEES_ALL if r != Role.REGULATOR) or any(
        actor.has(r, organisation_id) for r in (Role.ORG_APPROVER, Role.ORG_FINANCE)
    )
    if organisation is None or not allowed:
        raise NotFound("No such organisation.")
    rows = parse(session, filename, data)
    poor = set(session.scalars(sa.select(District.id).where(District.poverty_alleviated.is_(True))))
    buyer = buyer_of(organisation.kind)
    seen: set[str] = set()
    facts = []
    for row in rows:
        if row["order_number"] in seen:
            continue
        seen.add(row["order_number"])
        at = datetime.combine(row["date"], time(12), CHINA)
        facts.append(
            {
                "source_key": f"832:{row['order_number']}",
                "occurred_at": at,
                "day": row["date"],
                "year": row["date"].year,
                "quarter": (row["date"].month - 1) // 3 + 1,
                "month": row["date"].month,
                "channel": Channel.PLATFORM_832.value,
                "buyer_type": buyer.value,
                "organisation_id": organisation.id,
                "location_id": None,
                "product_id": None,
                "sku_id": None,
                "supplier_id": None,
                "category_id": None,
                "origin_district_id": row["origin_county"],
                "origin_township_id": None,
                "deep_poverty": False,
                # the 832 platform sells only products of poverty-alleviated areas
                "eligible": row["origin_county"] in poor,
                "quantity": 0,
                "amount_fen": row["amount"],
                "external_supplier": row["supplier"],
                "external_product": row["product"],
                "created_at": now,
            }
        )
    known = (
        set(
            session.scalars(
                sa.select(SalesFact.source_key).where(SalesFact.source_key.in_([f["source_key"] for f in facts]))
            )
        )
        if len(facts) <= 5000
        else set(session.scalars(sa.select(SalesFact.source_key).where(SalesFact.channel == Channel.PLATFORM_832)))
    )
    fresh = [f for f in facts if f["source_key"] not in known]
    for start in range(0, len(fresh), 500):
        insert_ignore(session, SalesFact.__table__, fresh[start : start + 500], ["source_key"])
    session.flush()
    return {
        "rows": len(rows),
        "imported": len(fresh),
        "duplicates": len(rows) - len(fresh),
        "amount_fen": sum(f["amount_fen"] for f in fresh),
    }
