"""Reports for regulators (everything) and certifiers (their own districts): complaints by district,
supplier and category with time to decision and overdue counts; sanctions; open price flags;
failed inspections. As JSON, or as CSV and XLSX tables."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from shop.auth.actor import Actor
from shop.auth.models import Role
from shop.errors import Forbidden
from shop.inventory.models import Batch
from shop.reference.models import District
from shop.supervision.models import (
    Complaint,
    ComplaintStatus,
    FlagStatus,
    Inspection,
    InspectionResult,
    Outcome,
    PriceFlag,
    Recall,
    Sanction,
)
from shop.supervision.service import district_scope, is_supervisor
from shop.suppliers.models import Supplier


def _hours(delta) -> float:
    return round(delta.total_seconds() / 3600, 1)


def _group(complaints: list[Complaint], key, now: datetime) -> list[dict]:
    groups: dict = defaultdict(list)
    for c in complaints:
        groups[key(c)].append(c)
    rows = []
    for k in sorted(groups, key=lambda v: (v is None, str(v))):
        items = groups[k]
        decided = [c for c in items if c.decided_at is not None]
        rows.append(
            {
                "key": k,
                "filed": len(items),
                "decided": len(decided),
                "upheld": sum(c.outcome == Outcome.UPHELD for c in items),
                "dismissed": sum(c.outcome == Outcome.DISMISSED for c in items),
                "overdue": sum(c.status != ComplaintStatus.CLOSED and c.deadline_at <= now for c in items),
                "avg_hours_to_decision": (
                    round(sum(_hours(c.decided_at - c.filed_at) for c in decided) / len(decided), 1)
                    if decided
                    else None
                ),
            }
        )
    return rows


def supervision_report(
    session: Session, actor: Actor, *, since: datetime | None, until: datetime | None, now: datetime
) -> dict:
    if not (is_supervisor(actor) or actor.has(Role.CERTIFIER)):
        raise Forbidden("Only regulators and certifiers read supervision reports.")
    districts = district_scope(actor)

    def scoped(stmt, column):
        return stmt if districts is None else stmt.where(column.in_(districts))

    stmt = scoped(sa.select(Complaint), Complaint.district_id)
    if since is not None:
        stmt = stmt.where(Complaint.filed_at >= since)
    if until is not None:
        stmt = stmt.where(Complaint.filed_at < until)
    complaints = session.scalars(stmt.order_by(Complaint.id)).all()
    names = dict(session.execute(sa.select(District.id, District.name)).all())
    supplier_ids = {c.supplier_id for c in complaints if c.supplier_id}
    suppliers = dict(session.execute(sa.select(Supplier.id, Supplier.name).where(Supplier.id.in_(supplier_ids))).all())

    by_district = _group(complaints, lambda c: c.district_id, now)
    for row in by_district:
        row["district_name"] = names.get(row["key"])
    by_supplier = _group(complaints, lambda c: c.supplier_id, now)
    for row in by_supplier:
        row["supplier_name"] = suppliers.get(row["key"])
    by_category = _group(complaints, lambda c: c.category.value, now)
    overdue = [
        {
            "id": c.id,
            "category": c.category.value,
            "district_id": c.district_id,
            "status": c.status.value,
            "deadline_at": c.deadline_at,
            "hours_overdue": _hours(now - c.deadline_at),
        }
        for c in sorted(complaints, key=lambda c: (c.deadline_at or now, c.id))
        if c.status != ComplaintStatus.CLOSED and c.deadline_at is not None and c.deadline_at <= now
    ]
    sanctions = session.scalars(scoped(sa.select(Sanction), Sanction.district_id).order_by(Sanction.id)).all()
    flags = session.scalars(
        scoped(sa.select(PriceFlag), PriceFlag.district_id)
        .where(PriceFlag.status.in_((FlagStatus.OPEN, FlagStatus.JUSTIFIED)))
        .order_by(PriceFlag.id)
    ).all()
    recalls = sa.select(sa.func.count()).where(Recall.inspection_id == Inspection.id).scalar_subquery()
    failed = session.execute(
        scoped(
            sa.select(Inspection, Batch.trace_code, recalls.label("recalls")).outerjoin(
                Batch, Batch.id == Inspection.batch_id
            ),
            Inspection.district_id,
        )
        .where(Inspection.result == InspectionResult.FAILED)
        .order_by(Inspection.id)
    ).all()
    return {
        "complaints_by_district": by_district,
        "complaints_by_supplier": by_supplier,
        "complaints_by_category": by_category,
        "overdue_complaints": overdue,
        "sanctions": [
            {
                "id": s.id,
                "supplier_id": s.supplier_id,
                "kind": s.kind.value,
                "status": s.status.value,
                "district_id": s.district_id,
                "certification_id": s.certification_id,
                "imposed_at": s.imposed_at,
                "until": s.until,
            }
            for s in sanctions
        ],
        "open_price_flags": [
            {
                "id": f.id,
                "sku_id": f.sku_id,
                "supplier_id": f.supplier_id,
                "district_id": f.district_id,
                "kind": f.kind.value,
                "status": f.status.value,
                "price_fen": f.price_fen,
                "flagged_at": f.flagged_at,
            }
            for f in flags
        ],
        "failed_inspections": [
            {
                "id": i.id,
                "product_id": i.product_id,
                "trace_code": trace_code,
                "district_id": i.district_id,
                "inspected_at": i.inspected_at,
                "recalled_orders": count,
            }
            for i, trace_code, count in failed
        ],
    }


GROUP_COLUMNS = ["filed", "decided", "upheld", "dismissed", "overdue", "avg_hours_to_decision"]


def _cell(value):
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def report_tables(report: dict) -> list[tuple[str, list[str], list[list]]]:
    tables = [
        (
            "complaints_by_district",
            ["district_id", "district_name", *GROUP_COLUMNS],
            [[r["key"], r["district_name"], *(r[c] for c in GROUP_COLUMNS)] for r in report["complaints_by_district"]],
        ),
        (
            "complaints_by_supplier",
            ["supplier_id", "supplier_name", *GROUP_COLUMNS],
            [[r["key"], r["supplier_name"], *(r[c] for c in GROUP_COLUMNS)] for r in report["complaints_by_supplier"]],
        ),
        (
            "complaints_by_category",
            ["category", *GROUP_COLUMNS],
            [[r["key"], *(r[c] for c in GROUP_COLUMNS)] for r in report["complaints_by_category"]],
        ),
    ]
    for name in ("overdue_complaints", "sanctions", "open_price_flags", "failed_inspections"):
        rows = report[name]
        header = list(rows[0]) if rows else []
        tables.append((name, header, [[_cell(row[c]) for c in header] for row in rows]))
    return tables
