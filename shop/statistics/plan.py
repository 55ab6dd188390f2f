"""年度指导性计划: the coordinator's yearly targets per origin district, per kind of buyer and per
channel; progress is the year's facts against each target, with the pace of the calendar."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from shop.auth.actor import Actor
from shop.auth.models import Role
from shop.errors import InvalidInput, NotFound
from shop.inventory.models import CHINA
from shop.reference.models import District
from shop.statistics.models import BuyerType, Channel, PlanKind, PlanTarget, SalesFact
from shop.statistics.queries import SEES_ALL, scope_clause

YEARS = range(2001, 2101)
PLANNERS = tuple(r for r in SEES_ALL if r != Role.REGULATOR)
COLUMN = {
    PlanKind.DISTRICT: SalesFact.origin_district_id,
    PlanKind.ORG_KIND: SalesFact.buyer_type,
    PlanKind.CHANNEL: SalesFact.channel,
}


def _check_key(session: Session, kind: PlanKind, key: str) -> str:
    if kind == PlanKind.DISTRICT:
        if not (key.isascii() and key.isdigit() and len(key) <= 9) or session.get(District, int(key)) is None:
            raise InvalidInput("No such district.", fields={"key": [f"Unknown district {key}."]})
    elif kind == PlanKind.ORG_KIND:
        if key not in {b.value for b in BuyerType} or key == BuyerType.INDIVIDUAL:
            raise InvalidInput("No such kind of organisation.", fields={"key": [f"Unknown kind {key}."]})
    elif key not in {c.value for c in Channel}:
        raise InvalidInput("No such channel.", fields={"key": [f"Unknown channel {key}."]})
    return key


def set_targets(session: Session, actor: Actor, year: int, *, targets: list[dict], now: datetime) -> list[PlanTarget]:
    """Enter or change targets of the year (the coordinator; admins)."""
    actor.require(*PLANNERS)
    _year(year)
    for item in targets:
        kind = PlanKind(item["kind"])
        key = _check_key(session, kind, str(item["key"]))
        row = session.scalar(
            sa.select(PlanTarget).where(PlanTarget.year == year, PlanTarget.kind == kind, PlanTarget.key == key)
        )
        if row is None:
            row = PlanTarget(year=year, kind=kind, key=key, target_fen=item["target_fen"])
            session.add(row)
        row.target_fen = item["target_fen"]
        row.set_by_id = actor.user_id
        row.updated_at = now
    session.flush()
    return list(
        session.scalars(sa.select(PlanTarget).where(PlanTarget.year == year).order_by(PlanTarget.kind, PlanTarget.key))
    )


def _year(year: int) -> None:
    if year not in YEARS:
        raise NotFound("No such plan year.")


def elapsed_bp(year: int, now: datetime) -> int:
    """How much of the calendar year has passed at `now` (Asia/Shanghai), in basis points."""
    today = now.astimezone(CHINA).date()
    start, end = date(year, 1, 1), date(year + 1, 1, 1)
    if today < start:
        return 0
    if today >= end:
        return 10_000
    return ((today - start).days + 1) * 10_000 // (end - start).days


def progress(session: Session, actor: Actor, year: int, *, now: datetime) -> dict:
    """Each target with the amount sold toward it, its share of the target and the pace: the share
    against the share of the year gone (10000 = on pace)."""
    _year(year)
    scope = scope_clause(actor)
    targets = list(
        session.scalars(sa.select(PlanTarget).where(PlanTarget.year == year).order_by(PlanTarget.kind, PlanTarget.key))
    )
    elapsed = elapsed_bp(year, now)
    rows = []
    for kind in PlanKind:
        wanted = [t for t in targets if t.kind == kind]
        if not wanted:
            continue
        column = COLUMN[kind]
        stmt = sa.select(column, sa.func.sum(SalesFact.amount_fen)).where(SalesFact.year == year).group_by(column)
        if scope is not None:
            stmt = stmt.where(scope)
        sold = {str(k.value if hasattr(k, "value") else k): int(v or 0) for k, v in session.execute(stmt)}
        for target in wanted:
            amount = sold.get(target.key, 0)
            share = amount * 10_000 // target.target_fen
            rows.append(
                {
                    "kind": kind.value,
                    "key": target.key,
                    "target_fen": target.target_fen,
                    "amount_fen": amount,
                    "share_bp": share,
                    "expected_share_bp": elapsed,
                    "pace_bp": share * 10_000 // elapsed if elapsed else None,
                    "behind": share < elapsed,
                }
            )
    return {"year": year, "elapsed_bp": elapsed, "targets": rows}
