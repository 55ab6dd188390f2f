"""Monitoring reports, as JSON rows and as tables for CSV and XLSX (procurement's writers):
products at risk by district and level over time, campaigns and their absorption, cold-chain
incidents and the value written off."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from shop.auth.actor import Actor
from shop.auth.models import Role
from shop.errors import InvalidInput
from shop.inventory import locations
from shop.inventory.models import CHINA, Location
from shop.monitoring import campaigns as campaign_service
from shop.monitoring.declarations import sees_everything
from shop.monitoring.models import Campaign, ColdChainIncident, Quarantine, QuarantineStatus, RiskLevel, RiskLevelChange
from shop.procurement.reports import XLSX, to_csv, to_xlsx  # noqa: F401  (the writers, shared)

MAX_POINTS = 120

Table = tuple[str, list[str], list[list]]


def _points(date_from: date, date_to: date, period: str) -> list[date]:
    if date_from > date_to:
        raise InvalidInput("The period ends before it starts.", fields={"date_to": ["Before date_from."]})
    points: list[date] = []
    day = date_from
    while day <= date_to and len(points) <= MAX_POINTS:
        if period == "day":
            points.append(day)
            day += timedelta(days=1)
        else:  # the last day of each month, or date_to
            first_next = date(day.year + day.month // 12, day.month % 12 + 1, 1)
            points.append(min(first_next - timedelta(days=1), date_to))
            day = first_next
    if len(points) > MAX_POINTS:
        raise InvalidInput(f"At most {MAX_POINTS} points; choose a shorter period.", fields={"date_to": ["Too far."]})
    return points


def _end(day: date) -> datetime:
    return datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=CHINA)


def risk_over_time(session: Session, actor: Actor, *, date_from: date, date_to: date, period: str) -> list[dict]:
    """At the end of each day or month: how many products stood at each level (watch and above) per
    origin district, from the recorded level changes."""
    if not (sees_everything(actor) or actor.has(Role.CERTIFIER)):
        return []
    districts = None if sees_everything(actor) else sorted(actor.scopes(Role.CERTIFIER))
    c = RiskLevelChange
    rows = []
    for point in _points(date_from, date_to, period):
        latest = sa.select(sa.func.max(c.id)).where(c.at < _end(point)).group_by(c.product_id)
        stmt = (
            sa.select(c.district_id, c.to_level, sa.func.count())
            .where(c.id.in_(latest), c.to_level != RiskLevel.NONE)
            .group_by(c.district_id, c.to_level)
            .order_by(c.district_id, c.to_level)
        )
        if districts is not None:
            stmt = stmt.where(c.district_id.in_(districts))
        rows += [
            {"day": point, "district_id": district, "level": level, "products": count}
            for district, level, count in session.execute(stmt)
        ]
    return rows


def risk_tables(rows: list[dict]) -> list[Table]:
    header = ["day", "district_id", "level", "products"]
    return [
        (
            "risk_by_district",
            header,
            [[r["day"].isoformat(), r["district_id"], r["level"].value, r["products"]] for r in rows],
        )
    ]


def campaigns_report(session: Session, actor: Actor) -> list[dict]:
    """Every campaign, newest first, with its absorption by organisation and channel."""
    actor.require(Role.COORDINATOR, Role.REGULATOR)
    result = []
    for campaign in session.scalars(
        sa.select(Campaign).options(selectinload(Campaign.skus)).order_by(Campaign.id.desc()).limit(500)
    ):
        result.append({"campaign": campaign, "progress": campaign_service.progress(session, campaign)})
    return result


def campaign_tables(rows: list[dict]) -> list[Table]:
    summary, by_org, by_channel = [], [], []
    for row in rows:
        c, p = row["campaign"], row["progress"]
        summary.append(
            [
                c.id,
                c.name,
                c.kind.value,
                c.status.value,
                c.starts_at.astimezone(CHINA).date().isoformat(),
                (c.ends_at - timedelta(seconds=1)).astimezone(CHINA).date().isoformat(),
                p["target"],
                p["allocated"],
                p["absorbed"],
                p["absorbed_bp"],
            ]
        )
        by_org += [
            [c.id, o["organisation_id"], o["organisation_name"] or "", o["allocated"], o["absorbed"]]
            for o in p["by_organisation"]
        ]
        by_channel += [[c.id, ch["channel"].value, ch["absorbed"]] for ch in p["by_channel"]]
    return [
        (
            "campaigns",
            ["id", "name", "kind", "status", "starts_on", "ends_on", "target", "allocated", "absorbed", "absorbed_bp"],
            summary,
        ),
        ("by_organisation", ["campaign_id", "organisation_id", "organisation", "allocated", "absorbed"], by_org),
        ("by_channel", ["campaign_id", "channel", "absorbed"], by_channel),
    ]


def cold_chain_report(session: Session, actor: Actor, *, date_from: date, date_to: date) -> list[dict]:
    """Incidents opened in the period (Asia/Shanghai days) at the counters the actor may see, with the
    units quarantined, released and written off, and the value written off."""
    if date_from > date_to:
        raise InvalidInput("The period ends before it starts.", fields={"date_to": ["Before date_from."]})
    start = datetime.combine(date_from, datetime.min.time(), tzinfo=CHINA)
    stmt = (
        sa.select(ColdChainIncident, Location.name)
        .options(selectinload(ColdChainIncident.quarantines))
        .join(Location, Location.id == ColdChainIncident.location_id)
        .where(ColdChainIncident.opened_at >= start, ColdChainIncident.opened_at < _end(date_to))
        .order_by(ColdChainIncident.opened_at, ColdChainIncident.id)
    )
    if not (actor.is_admin or actor.has(Role.COORDINATOR) or actor.has(Role.REGULATOR)):
        stmt = stmt.where(locations.scope_clause(actor) if actor.has(Role.HALL_OPERATOR) else sa.false())
    rows = []
    for incident, name in session.execute(stmt):
        quarantines: list[Quarantine] = incident.quarantines
        rows.append(
            {
                "incident_id": incident.id,
                "location_id": incident.location_id,
                "location_name": name,
                "status": incident.status,
                "opened_at": incident.opened_at,
                "celsius": incident.decicelsius / 10,
                "batches": len(quarantines),
                "units_quarantined": sum(q.units for q in quarantines),
                "units_released": sum(q.units for q in quarantines if q.status == QuarantineStatus.RELEASED),
                "units_written_off": sum(q.written_off_units for q in quarantines),
                "written_off_fen": sum(q.written_off_fen for q in quarantines),
            }
        )
    return rows


COLD_CHAIN_COLUMNS = (
    "incident_id",
    "location_id",
    "location_name",
    "status",
    "opened_at",
    "celsius",
    "batches",
    "units_quarantined",
    "units_released",
    "units_written_off",
    "written_off_fen",
)


def cold_chain_tables(rows: list[dict]) -> list[Table]:
    def cell(value):
        if isinstance(value, datetime):
            return value.astimezone(CHINA).strftime("%Y-%m-%d %H:%M")
        return getattr(value, "value", value)

    table = [[cell(row[c]) for c in COLD_CHAIN_COLUMNS] for row in rows]
    total = ["total", "", "", "", "", "", sum(r["batches"] for r in rows)]
    total += [sum(r[c] for r in rows) for c in COLD_CHAIN_COLUMNS[7:]]
    return [("cold_chain_incidents", list(COLD_CHAIN_COLUMNS), [*table, total] if rows else table)]
