"""Reports: one organisation's year (budget and per-capita use, pledge completion, purchases by
origin district with poverty-alleviated areas marked, vouchers), and pledges rolled up per district
and year. Exported as CSV or XLSX."""

from __future__ import annotations

import csv
import io

import sqlalchemy as sa
from sqlalchemy.orm import Session

from shop.auth.actor import Actor
from shop.auth.models import Role
from shop.catalog.models import Product, Sku
from shop.procurement import access, pledges
from shop.procurement.models import (
    PURCHASED,
    Budget,
    BulkOrder,
    BulkOrderLine,
    Organisation,
    Pledge,
    Voucher,
)
from shop.reference.models import District
from shop.statistics import queries as statistics


def _bp(part: int, whole: int) -> int:
    return min(10_000, part * 10_000 // whole) if whole else 0


def purchases_by_origin(session: Session, *, organisation_id: int | None, fiscal_year: int) -> list[dict]:
    """Paid purchases (goods and gift-box vouchers) by the origin district of their products."""
    stmt = (
        sa.select(
            District.id,
            District.name,
            District.poverty_alleviated,
            sa.func.sum(BulkOrderLine.quantity),
            sa.func.sum(BulkOrderLine.total_fen),
        )
        .select_from(BulkOrderLine)
        .join(BulkOrder, BulkOrder.id == BulkOrderLine.bulk_order_id)
        .join(Sku, Sku.id == BulkOrderLine.sku_id)
        .join(Product, Product.id == Sku.product_id)
        .join(District, District.id == Product.origin_district_id)
        .where(BulkOrder.fiscal_year == fiscal_year, BulkOrder.status.in_(PURCHASED))
        .group_by(District.id, District.name, District.poverty_alleviated)
        .order_by(sa.func.sum(BulkOrderLine.total_fen).desc(), District.id)
    )
    if organisation_id is not None:
        stmt = stmt.where(BulkOrder.organisation_id == organisation_id)
    return [
        {
            "district_id": district_id,
            "district": name,
            "poverty_alleviated": bool(poor),
            "quantity": int(quantity or 0),
            "amount_fen": int(amount or 0),
        }
        for district_id, name, poor, quantity, amount in session.execute(stmt)
    ]


def organisation_report(session: Session, actor: Actor, organisation_id: int, fiscal_year: int) -> dict:
    organisation = access.get_organisation(session, actor, organisation_id)
    budget = session.scalar(
        sa.select(Budget).where(Budget.organisation_id == organisation_id, Budget.fiscal_year == fiscal_year)
    )
    pledge = session.scalar(
        sa.select(Pledge).where(Pledge.organisation_id == organisation_id, Pledge.fiscal_year == fiscal_year)
    )
    purchased_fen, orders = session.execute(
        sa.select(sa.func.coalesce(sa.func.sum(BulkOrder.paid_fen), 0), sa.func.count(BulkOrder.id)).where(
            BulkOrder.organisation_id == organisation_id,
            BulkOrder.fiscal_year == fiscal_year,
            BulkOrder.status.in_(PURCHASED),
        )
    ).one()
    vouchers = session.execute(
        sa.select(
            sa.func.count(Voucher.id),
            sa.func.coalesce(sa.func.sum(Voucher.value_fen), 0),
            sa.func.coalesce(sa.func.sum(Voucher.value_fen - Voucher.remaining_fen), 0),
            sa.func.coalesce(sa.func.sum(Voucher.returned_fen), 0),
        )
        .join(BulkOrder, BulkOrder.id == Voucher.bulk_order_id)
        .where(Voucher.organisation_id == organisation_id, BulkOrder.fiscal_year == fiscal_year)
    ).one()
    used = (budget.committed_fen + budget.spent_fen) if budget else 0
    per_capita_used = used // organisation.headcount if organisation.headcount else 0
    by_origin = purchases_by_origin(session, organisation_id=organisation_id, fiscal_year=fiscal_year)
    done = pledges.completed_fen(session, organisation_id, fiscal_year)
    return {
        "organisation_id": organisation.id,
        "organisation": organisation.name,
        "fiscal_year": fiscal_year,
        "headcount": organisation.headcount,
        "per_capita_cap_fen": organisation.per_capita_cap_fen,
        "budget_amount_fen": budget.amount_fen if budget else 0,
        "budget_available_fen": budget.available_fen if budget else 0,
        "budget_committed_fen": budget.committed_fen if budget else 0,
        "budget_spent_fen": budget.spent_fen if budget else 0,
        "per_capita_used_fen": per_capita_used,
        "per_capita_use_bp": _bp(per_capita_used, organisation.per_capita_cap_fen),
        "pledge_fen": pledge.amount_fen if pledge else 0,
        "pledge_completed_fen": done,
        "pledge_completion_bp": _bp(done, pledge.amount_fen) if pledge else 0,
        "purchase_orders": int(orders),
        "purchased_fen": int(purchased_fen),
        "poverty_area_purchased_fen": sum(r["amount_fen"] for r in by_origin if r["poverty_alleviated"]),
        "vouchers_issued": int(vouchers[0]),
        "vouchers_value_fen": int(vouchers[1]),
        "vouchers_redeemed_fen": int(vouchers[2]),
        "vouchers_returned_fen": int(vouchers[3]),
        "by_origin_district": by_origin,
    }


def district_rollup(session: Session, actor: Actor, fiscal_year: int) -> list[dict]:
    """Per district of the organisations: pledges, completion and purchases of the year (admins and
    regulators)."""
    actor.require(Role.ADMIN, Role.REGULATOR)
    pledged = dict(
        session.execute(
            sa.select(Organisation.district_id, sa.func.sum(Pledge.amount_fen))
            .join(Organisation, Organisation.id == Pledge.organisation_id)
            .where(Pledge.fiscal_year == fiscal_year)
            .group_by(Organisation.district_id)
        ).all()
    )
    pledging = dict(
        session.execute(
            sa.select(Organisation.district_id, sa.func.count(Pledge.id))
            .join(Organisation, Organisation.id == Pledge.organisation_id)
            .where(Pledge.fiscal_year == fiscal_year)
            .group_by(Organisation.district_id)
        ).all()
    )

    def paid_by_district(statuses) -> dict:
        return dict(
            session.execute(
                sa.select(Organisation.district_id, sa.func.sum(BulkOrder.paid_fen))
                .join(Organisation, Organisation.id == BulkOrder.organisation_id)
                .where(BulkOrder.fiscal_year == fiscal_year, BulkOrder.status.in_(statuses))
                .group_by(Organisation.district_id)
            ).all()
        )

    completed, purchased = statistics.completed_by_district(session, fiscal_year), paid_by_district(PURCHASED)
    district_ids = sorted(set(pledged) | set(purchased))
    names = dict(session.execute(sa.select(District.id, District.name).where(District.id.in_(district_ids))).all())
    rows = []
    for district_id in district_ids:
        pledge_fen, done = int(pledged.get(district_id) or 0), int(completed.get(district_id) or 0)
        rows.append(
            {
                "district_id": district_id,
                "district": names.get(district_id, ""),
                "fiscal_year": fiscal_year,
                "organisations_pledging": int(pledging.get(district_id) or 0),
                "pledged_fen": pledge_fen,
                "completed_fen": done,
                "completion_bp": _bp(done, pledge_fen),
                "purchased_fen": int(purchased.get(district_id) or 0),
            }
        )
    return rows


# --- export ------------------------------------------------------------------------------------

ORIGIN_COLUMNS = ("district_id", "district", "poverty_alleviated", "quantity", "amount_fen")
ROLLUP_COLUMNS = (
    "district_id",
    "district",
    "fiscal_year",
    "organisations_pledging",
    "pledged_fen",
    "completed_fen",
    "completion_bp",
    "purchased_fen",
)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def organisation_tables(report: dict) -> list[tuple[str, list[str], list[list]]]:
    summary = [[key, value] for key, value in report.items() if key != "by_origin_district"]
    origin = [[row[c] for c in ORIGIN_COLUMNS] for row in report["by_origin_district"]]
    return [("summary", ["metric", "value"], summary), ("by_origin_district", list(ORIGIN_COLUMNS), origin)]


def rollup_tables(rows: list[dict]) -> list[tuple[str, list[str], list[list]]]:
    return [("pledges_by_district", list(ROLLUP_COLUMNS), [[row[c] for c in ROLLUP_COLUMNS] for row in rows])]


def to_csv(tables: list[tuple[str, list[str], list[list]]]) -> bytes:
    """Each table under its header; tables apart by an empty line. UTF-8 with a BOM for spreadsheets."""
    out = io.StringIO()
    writer = csv.writer(out)
    for i, (_name, header, rows) in enumerate(tables):
        if i:
            writer.writerow([])
        writer.writerow(header)
        writer.writerows(rows)
    return out.getvalue().encode("utf-8-sig")


def to_xlsx(tables: list[tuple[str, list[str], list[list]]]) -> bytes:
    """One sheet per table."""
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    for name, header, rows in tables:
        sheet = book.create_sheet(title=name[:31])
        sheet.append(header)
        for row in rows:
            sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
