"""定期通报: monthly or quarterly bulletins. Publishing takes a snapshot of the figures (districts
ranked against their plan targets, organisations' pledge completion ranked with the lagging ones
named, the channel mix, the deep-poverty townships) and numbers it; it never changes afterwards.
Exports: CSV, XLSX with native charts, and an ECharts option per figure."""

from __future__ import annotations

import calendar
import csv
import io
from datetime import date, datetime, time

import sqlalchemy as sa
from sqlalchemy.orm import Session

from shop.auth.actor import Actor
from shop.auth.models import Role
from shop.errors import InvalidInput, NotFound
from shop.inventory.models import CHINA
from shop.procurement.models import Organisation, Pledge
from shop.reference.models import District, Township
from shop.statistics.errors import BulletinExists
from shop.statistics.models import Bulletin, BulletinPeriod, PlanKind, PlanTarget, SalesFact
from shop.statistics.plan import elapsed_bp
from shop.statistics.queries import SEES_ALL, change_bp

F = SalesFact
PUBLISHERS = tuple(r for r in SEES_ALL if r != Role.REGULATOR)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DEFAULT_AUDIENCE = [r.value for r in (*SEES_ALL, Role.CERTIFIER)]


def period_dates(period: BulletinPeriod, year: int, number: int) -> tuple[date, date]:
    if period == BulletinPeriod.MONTH:
        if not 1 <= number <= 12:
            raise InvalidInput("A month is 1 to 12.", fields={"number": ["Out of range."]})
        return date(year, number, 1), date(year, number, calendar.monthrange(year, number)[1])
    if not 1 <= number <= 4:
        raise InvalidInput("A quarter is 1 to 4.", fields={"number": ["Out of range."]})
    last_month = number * 3
    return date(year, last_month - 2, 1), date(year, last_month, calendar.monthrange(year, last_month)[1])


def _sum_by(session: Session, column, date_from: date, date_to: date, *where) -> dict:
    stmt = (
        sa.select(column, sa.func.sum(F.amount_fen))
        .where(F.day >= date_from, F.day <= date_to, *where)
        .group_by(column)
    )
    return {key: int(amount or 0) for key, amount in session.execute(stmt)}


def _shift(day: date) -> date:
    try:
        return day.replace(year=day.year - 1)
    except ValueError:
        return day.replace(year=day.year - 1, day=28)


def figures(session: Session, date_from: date, date_to: date) -> dict:
    year = date_to.year
    year_start = date(year, 1, 1)
    at_end = datetime.combine(date_to, time(23, 59), CHINA)
    elapsed = elapsed_bp(year, at_end)
    names = dict(session.execute(sa.select(District.id, District.name)).all())
    # districts: the period's sales of their products, the year to date against their targets
    period = _sum_by(session, F.origin_district_id, date_from, date_to, F.origin_district_id.is_not(None))
    to_date = _sum_by(session, F.origin_district_id, year_start, date_to, F.origin_district_id.is_not(None))
    targets = {
        int(key): target
        for key, target in session.execute(
            sa.select(PlanTarget.key, PlanTarget.target_fen).where(
                PlanTarget.year == year, PlanTarget.kind == PlanKind.DISTRICT
            )
        )
    }
    districts = sorted(
        (
            {
                "district_id": district_id,
                "district": names.get(district_id, ""),
                "amount_fen": period.get(district_id, 0),
                "year_to_date_fen": to_date.get(district_id, 0),
                "target_fen": targets.get(district_id),
                "share_bp": to_date.get(district_id, 0) * 10_000 // targets[district_id]
                if district_id in targets
                else None,
            }
            for district_id in set(period) | set(targets)
        ),
        key=lambda row: (-row["amount_fen"], row["district_id"]),
    )
    for rank, row in enumerate(districts, start=1):
        row["rank"] = rank
    # organisations: pledge completion to the end of the period, ranked; lagging behind the calendar
    done = _sum_by(
        session, F.organisation_id, year_start, date_to, F.eligible.is_(True), F.organisation_id.is_not(None)
    )
    pledges = session.execute(
        sa.select(Organisation.id, Organisation.name, Pledge.amount_fen)
        .join(Pledge, Pledge.organisation_id == Organisation.id)
        .where(Pledge.fiscal_year == year)
    ).all()
    organisations = sorted(
        (
            {
                "organisation_id": org_id,
                "organisation": name,
                "pledge_fen": pledge,
                "completed_fen": done.get(org_id, 0),
                "completion_bp": min(10_000, done.get(org_id, 0) * 10_000 // pledge),
            }
            for org_id, name, pledge in pledges
        ),
        key=lambda row: (-row["completion_bp"], row["organisation_id"]),
    )
    for rank, row in enumerate(organisations, start=1):
        row["rank"] = rank
        row["lagging"] = row["completion_bp"] < elapsed
    # channel mix of the period
    channels = _sum_by(session, F.channel, date_from, date_to)
    total = sum(channels.values())
    channel_mix = [
        {"channel": channel.value, "amount_fen": amount, "share_bp": amount * 10_000 // total if total else 0}
        for channel, amount in sorted(channels.items(), key=lambda kv: (-kv[1], kv[0].value))
    ]
    # deep-poverty townships against the same period a year before
    now_t = _sum_by(session, F.origin_township_id, date_from, date_to, F.deep_poverty.is_(True))
    before_t = _sum_by(session, F.origin_township_id, _shift(date_from), _shift(date_to), F.deep_poverty.is_(True))
    townships = [
        {
            "township_id": township_id,
            "township": name,
            "amount_fen": now_t.get(township_id, 0),
            "last_year_amount_fen": before_t.get(township_id, 0),
            "change_bp": change_bp(now_t.get(township_id, 0), before_t.get(township_id, 0)),
            "flagged": now_t.get(township_id, 0) < before_t.get(township_id, 0),
        }
        for township_id, name in session.execute(
            sa.select(Township.id, Township.name).where(Township.deep_poverty.is_(True)).order_by(Township.id)
        )
    ]
    return {
        "total_fen": total,
        "elapsed_bp": elapsed,
        "districts": districts,
        "organisations": organisations,
        "lagging_organisations": [row["organisation"] for row in organisations if row["lagging"]],
        "channels": channel_mix,
        "deep_poverty_townships": townships,
    }


def publish(
    session: Session,
    actor: Actor,
    *,
    period: BulletinPeriod,
    year: int,
    number: int,
    audience: list[str] | None,
    now: datetime,
) -> Bulletin:
    actor.require(*PUBLISHERS)
    date_from, date_to = period_dates(period, year, number)
    exists = session.scalar(
        sa.select(Bulletin.id).where(Bulletin.period == period, Bulletin.year == year, Bulletin.period_no == number)
    )
    if exists is not None:
        raise BulletinExists(bulletin_id=exists)
    serial = (session.scalar(sa.select(sa.func.max(Bulletin.serial)).where(Bulletin.year == year)) or 0) + 1
    bulletin = Bulletin(
        year=year,
        serial=serial,
        period=period,
        period_no=number,
        date_from=date_from,
        date_to=date_to,
        audience=sorted(set(audience or DEFAULT_AUDIENCE) | {r.value for r in PUBLISHERS}),
        figures=figures(session, date_from, date_to),
        published_by_id=actor.user_id,
        published_at=now,
    )
    session.add(bulletin)
    session.flush()
    return bulletin


def _readable(actor: Actor, bulletin: Bulletin) -> bool:
    return actor.is_admin or any(actor.has(Role(role)) for role in bulletin.audience if role in Role._value2member_map_)


def get_bulletin(session: Session, actor: Actor, bulletin_id: int) -> Bulletin:
    bulletin = session.get(Bulletin, bulletin_id)
    if bulletin is None or not _readable(actor, bulletin):
        raise NotFound("No such bulletin.")
    return bulletin


def list_bulletins(session: Session, actor: Actor) -> list[Bulletin]:
    rows = session.scalars(sa.select(Bulletin).order_by(Bulletin.year.desc(), Bulletin.serial.desc()).limit(500))
    return [b for b in rows if _readable(actor, b)]


# --- exports ----------------------------------------------------------------------------------

TABLES = {
    "districts": ("rank", "district_id", "district", "amount_fen", "year_to_date_fen", "target_fen", "share_bp"),
    "organisations": (
        "rank",
        "organisation_id",
        "organisation",
        "pledge_fen",
        "completed_fen",
        "completion_bp",
        "lagging",
    ),
    "channels": ("channel", "amount_fen", "share_bp"),
    "deep_poverty_townships": ("township_id", "township", "amount_fen", "last_year_amount_fen", "change_bp", "flagged"),
}


def tables(bulletin: Bulletin) -> list[tuple[str, list[str], list[list]]]:
    return [
        (name, list(columns), [[row.get(c) for c in columns] for row in bulletin.figures[name]])
        for name, columns in TABLES.items()
    ]


def to_csv(bulletin: Bulletin) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([f"bulletin {bulletin.number}", bulletin.date_from.isoformat(), bulletin.date_to.isoformat()])
    for name, header, rows in tables(bulletin):
        writer.writerow([])
        writer.writerow([name])
        writer.writerow(header)
        writer.writerows(rows)
    return out.getvalue().encode("utf-8-sig")


def to_xlsx(bulletin: Bulletin) -> bytes:
    """One sheet per figure, each with a native chart of its amounts (bars; the channel mix a pie)."""
    from openpyxl import Workbook
    from openpyxl.chart import BarChart, PieChart, Reference

    book = Workbook()
    book.remove(book.active)
    label_and_value = {
        "districts": ("district", "amount_fen"),
        "organisations": ("organisation", "completion_bp"),
        "channels": ("channel", "amount_fen"),
        "deep_poverty_townships": ("township", "amount_fen"),
    }
    for name, header, rows in tables(bulletin):
        sheet = book.create_sheet(title=name[:31])
        sheet.append(header)
        for row in rows:
            sheet.append(row)
        label, value = label_and_value[name]
        if not rows:
            continue
        chart = PieChart() if name == "channels" else BarChart()
        chart.title = f"{bulletin.number} {name}"
        data = Reference(sheet, min_col=header.index(value) + 1, min_row=1, max_row=len(rows) + 1)
        labels = Reference(sheet, min_col=header.index(label) + 1, min_row=2, max_row=len(rows) + 1)
        chart.add_data(data, titles_from_data=True)
        chart.set_categories(labels)
        sheet.add_chart(chart, f"{chr(ord('A') + len(header) + 1)}2")
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def echarts(bulletin: Bulletin) -> dict:
    """For each figure, an ECharts option object ready for `chart.setOption(...)`."""
    f = bulletin.figures
    title = f"{bulletin.number} ({bulletin.date_from.isoformat()} – {bulletin.date_to.isoformat()})"

    def bars(name: str, label: str, value: str, series: str) -> dict:
        return {
            "title": {"text": f"{title} {name}"},
            "tooltip": {"trigger": "axis"},
            "xAxis": {"type": "category", "data": [row[label] for row in f[name]]},
            "yAxis": {"type": "value"},
            "series": [{"name": series, "type": "bar", "data": [row[value] for row in f[name]]}],
        }

    return {
        "districts": bars("districts", "district", "amount_fen", "amount_fen"),
        "organisations": bars("organisations", "organisation", "completion_bp", "completion_bp"),
        "channels": {
            "title": {"text": f"{title} channels"},
            "tooltip": {"trigger": "item"},
            "series": [
                {
                    "name": "amount_fen",
                    "type": "pie",
                    "data": [{"name": row["channel"], "value": row["amount_fen"]} for row in f["channels"]],
                }
            ],
        },
        "deep_poverty_townships": {
            **bars("deep_poverty_townships", "township", "amount_fen", "amount_fen"),
            "series": [
                {
                    "name": "amount_fen",
                    "type": "bar",
                    "data": [row["amount_fen"] for row in f["deep_poverty_townships"]],
                },
                {
                    "name": "last_year_amount_fen",
                    "type": "bar",
                    "data": [row["last_year_amount_fen"] for row in f["deep_poverty_townships"]],
                },
            ],
            "legend": {"data": ["amount_fen", "last_year_amount_fen"]},
        },
    }
