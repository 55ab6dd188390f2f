"""Totals of sales facts grouped by dimensions and period, with filters, year-on-year change, the
deep-poverty townships' "only more, never less" check and reserved-share completion. Who sees what:
a certifier its districts' products, an organisation's members its own purchases, the coordinator,
the regulator and admins everything."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Session

from shop.auth.actor import Actor
from shop.auth.models import Role
from shop.errors import Forbidden, InvalidInput
from shop.procurement.models import Organisation
from shop.reference.models import Township
from shop.statistics.models import SalesFact

F = SalesFact
DIMENSIONS = {
    "district": F.origin_district_id,
    "township": F.origin_township_id,
    "deep_poverty": F.deep_poverty,
    "eligible": F.eligible,
    "supplier": F.supplier_id,
    "category": F.category_id,
    "product": F.product_id,
    "channel": F.channel,
    "buyer_type": F.buyer_type,
    "organisation": F.organisation_id,
    "location": F.location_id,
}
PERIODS = {
    "day": (F.day,),
    "month": (F.year, F.month),
    "quarter": (F.year, F.quarter),
    "year": (F.year,),
    "all": (),
}
FILTERS = {
    "district_id": F.origin_district_id,
    "township_id": F.origin_township_id,
    "deep_poverty": F.deep_poverty,
    "eligible": F.eligible,
    "supplier_id": F.supplier_id,
    "category_id": F.category_id,
    "product_id": F.product_id,
    "channel": F.channel,
    "buyer_type": F.buyer_type,
    "organisation_id": F.organisation_id,
    "location_id": F.location_id,
}
ORG_ROLES = (Role.ORG_MEMBER, Role.ORG_APPROVER, Role.ORG_FINANCE)
COORDINATOR = getattr(Role, "COORDINATOR", None)
SEES_ALL = tuple(r for r in (Role.ADMIN, Role.REGULATOR, COORDINATOR) if r is not None)


def scope_clause(actor: Actor) -> sa.ColumnElement[bool] | None:
    """None: everything. Otherwise the facts the actor may see; Forbidden if none."""
    if any(actor.has(role) for role in SEES_ALL):
        return None
    clauses = []
    districts = actor.scopes(Role.CERTIFIER)
    if districts:
        clauses.append(F.origin_district_id.in_(sorted(districts)))
    organisations = set().union(*(actor.scopes(role) for role in ORG_ROLES))
    if organisations:
        clauses.append(F.organisation_id.in_(sorted(organisations)))
    if not clauses:
        raise Forbidden(required_roles=[r.value for r in (*SEES_ALL, Role.CERTIFIER, *ORG_ROLES)])
    return sa.or_(*clauses)


def _shift_year(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def _where(stmt: sa.Select, scope, filters: dict, date_from: date, date_to: date) -> sa.Select:
    stmt = stmt.where(F.day >= date_from, F.day <= date_to)
    if scope is not None:
        stmt = stmt.where(scope)
    for name, value in filters.items():
        if value is None:
            continue
        column = FILTERS[name]
        stmt = stmt.where(column.in_(value) if isinstance(value, list | tuple | set) else column == value)
    return stmt


def _totals(session: Session, scope, group_by: list[str], period: str, filters: dict, date_from, date_to) -> dict:
    keys = [*PERIODS[period], *(DIMENSIONS[d] for d in group_by)]
    stmt = sa.select(*keys, sa.func.sum(F.quantity), sa.func.sum(F.amount_fen), sa.func.count())
    stmt = _where(stmt, scope, filters, date_from, date_to)
    if keys:
        stmt = stmt.group_by(*keys)
    out = {}
    for row in session.execute(stmt):
        *key, quantity, amount, count = row
        out[tuple(key)] = (int(quantity or 0), int(amount or 0), int(count))
    return out


def _period_fields(period: str, key: tuple) -> dict:
    if period == "day":
        return {"period": key[0].isoformat()}
    if period == "month":
        return {"period": f"{key[0]:04d}-{key[1]:02d}"}
    if period == "quarter":
        return {"period": f"{key[0]:04d}-Q{key[1]}"}
    if period == "year":
        return {"period": f"{key[0]:04d}"}
    return {"period": "all"}


def _last_year_key(period: str, key: tuple) -> tuple:
    if period == "day":
        return (_shift_year(key[0], -1), *key[1:])
    if period in ("month", "quarter", "year"):
        return (key[0] - 1, *key[1:])
    return key


def _sort_key(key: tuple) -> tuple:
    return tuple((True, 0) if v is None else (False, v) for v in key)


def change_bp(now: int, before: int) -> int | None:
    """Change against `before` in basis points, rounded half-up; None when there was nothing before."""
    if not before:
        return None
    diff = (now - before) * 10_000
    sign = -1 if diff * before < 0 else 1
    return sign * ((abs(diff) * 2 + abs(before)) // (2 * abs(before)))


def sales_totals(
    session: Session,
    actor: Actor,
    *,
    group_by: list[str],
    period: str,
    date_from: date,
    date_to: date,
    filters: dict,
    year_on_year: bool = False,
) -> list[dict]:
    """Sum of quantity and amount per group; with `year_on_year` each group also carries the same
    period a year before and the change in basis points."""
    if date_to < date_from:
        raise InvalidInput("The period ends before it starts.", fields={"date_to": ["Before date_from."]})
    unknown = [d for d in group_by if d not in DIMENSIONS]
    if unknown or period not in PERIODS:
        raise InvalidInput(
            "Unknown dimension or period.", fields={"group_by": unknown} if unknown else {"period": [period]}
        )
    scope = scope_clause(actor)
    now = _totals(session, scope, group_by, period, filters, date_from, date_to)
    before = {}
    if year_on_year:
        before = _totals(
            session, scope, group_by, period, filters, _shift_year(date_from, -1), _shift_year(date_to, -1)
        )
    periods = len(PERIODS[period])
    rows = []
    for key in sorted(now, key=_sort_key):
        quantity, amount, count = now[key]
        row = {
            **_period_fields(period, key[:periods]),
            "dimensions": {
                d: (v.value if hasattr(v, "value") else v) for d, v in zip(group_by, key[periods:], strict=True)
            },
            "quantity": quantity,
            "amount_fen": amount,
            "facts": count,
        }
        if year_on_year:
            last = before.get(_last_year_key(period, key[:periods]) + key[periods:], (0, 0, 0))
            row["last_year_amount_fen"] = last[1]
            row["change_bp"] = change_bp(amount, last[1])
        rows.append(row)
    return rows


def deep_poverty_check(session: Session, actor: Actor, *, date_from: date, date_to: date) -> list[dict]:
    """只增不减: every deep-poverty township's sales in the period against the same period a year
    before; `flagged` when it sold less."""
    scope = scope_clause(actor)

    def by_township(start: date, end: date) -> dict[int, int]:
        stmt = sa.select(F.origin_township_id, sa.func.sum(F.amount_fen)).where(F.deep_poverty.is_(True))
        stmt = _where(stmt, scope, {}, start, end).group_by(F.origin_township_id)
        return {t: int(a or 0) for t, a in session.execute(stmt)}

    now = by_township(date_from, date_to)
    before = by_township(_shift_year(date_from, -1), _shift_year(date_to, -1))
    townships = session.execute(
        sa.select(Township.id, Township.name, Township.district_id)
        .where(Township.deep_poverty.is_(True))
        .order_by(Township.id)
    )
    rows = []
    for township_id, name, district_id in townships:
        seen = township_id in now or township_id in before
        if scope is not None and district_id not in actor.scopes(Role.CERTIFIER) and not seen:
            continue
        amount, last = now.get(township_id, 0), before.get(township_id, 0)
        rows.append(
            {
                "township_id": township_id,
                "township": name,
                "district_id": district_id,
                "amount_fen": amount,
                "last_year_amount_fen": last,
                "change_bp": change_bp(amount, last),
                "flagged": amount < last,
            }
        )
    return rows


def completed_fen(session: Session, organisation_id: int, fiscal_year: int) -> int:
    """Reserved-share completion: the organisation's purchases in the year of certified products from
    eligible origins, in every channel (bulk orders received, vouchers by value redeemed, shop orders
    its vouchers paid, 832 imports), refunds deducted. Value never redeemed never counts, so value
    that went back to the budget is out of it."""
    return int(
        session.scalar(
            sa.select(sa.func.coalesce(sa.func.sum(F.amount_fen), 0)).where(
                F.organisation_id == organisation_id, F.year == fiscal_year, F.eligible.is_(True)
            )
        )
        or 0
    )


def completed_by_district(session: Session, fiscal_year: int) -> dict[int, int]:
    """Completion summed per district of the organisations."""
    return {
        district_id: int(amount or 0)
        for district_id, amount in session.execute(
            sa.select(Organisation.district_id, sa.func.sum(F.amount_fen))
            .join(Organisation, Organisation.id == F.organisation_id)
            .where(F.year == fiscal_year, F.eligible.is_(True))
            .group_by(Organisation.district_id)
        )
    }
