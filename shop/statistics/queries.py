"""Totals of sales facts grouped by dimensions and period, with filters, year-on-year change, the
deep-poverty townships' "only more, never less" check and reserved-share completion. Who sees what:
a certifier its districts' products, an organisation's members its own purchases, the coordinator,
the regulator and admins everything."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Session

from shop.auth.actor import Actor
from shop.auth.models import Role
from shop.errors import Forbidden, InvalidInput
from shop.procurement.models import Organisation
from shop.reference.models import Township
from shop.statistics import rollups
from shop.statistics.errors import TooManyGroups
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
    "day": ("day",),
    "month": ("year", "month"),
    "quarter": ("year", "quarter"),
    "year": ("year",),
    "all": (),
}
# Filter (as the API names it) → the dimension it filters on.
FILTER_DIMENSION = {
    "district_id": "district",
    "township_id": "township",
    "deep_poverty": "deep_poverty",
    "eligible": "eligible",
    "supplier_id": "supplier",
    "category_id": "category",
    "product_id": "product",
    "channel": "channel",
    "buyer_type": "buyer_type",
    "organisation_id": "organisation",
    "location_id": "location",
}
FILTERS = {name: DIMENSIONS[dimension] for name, dimension in FILTER_DIMENSION.items()}
ORG_ROLES = (Role.ORG_MEMBER, Role.ORG_APPROVER, Role.ORG_FINANCE)
COORDINATOR = getattr(Role, "COORDINATOR", None)
SEES_ALL = tuple(r for r in (Role.ADMIN, Role.REGULATOR, COORDINATOR) if r is not None)


@dataclass(frozen=True)
class Scope:
    """The facts an actor may see: those of these origin districts or of these organisations."""

    districts: tuple[int, ...] = ()
    organisations: tuple[int, ...] = ()

    @property
    def dimensions(self) -> set[str]:
        return {name for name, ids in (("district", self.districts), ("organisation", self.organisations)) if ids}

    def clause(self, column) -> sa.ColumnElement[bool]:
        """`column(dimension)` gives the column of the source read."""
        clauses = []
        if self.districts:
            clauses.append(column("district").in_(self.districts))
        if self.organisations:
            clauses.append(column("organisation").in_(self.organisations))
        return sa.or_(*clauses)


def scope_of(actor: Actor) -> Scope | None:
    """None: everything. Otherwise the facts the actor may see; Forbidden if none."""
    if any(actor.has(role) for role in SEES_ALL):
        return None
    districts = actor.scopes(Role.CERTIFIER)
    organisations = set().union(*(actor.scopes(role) for role in ORG_ROLES))
    if not districts and not organisations:
        raise Forbidden(required_roles=[r.value for r in (*SEES_ALL, Role.CERTIFIER, *ORG_ROLES)])
    return Scope(tuple(sorted(districts)), tuple(sorted(organisations)))


def scope_clause(actor: Actor) -> sa.ColumnElement[bool] | None:
    """None: everything. Otherwise the facts the actor may see, as a clause on the facts."""
    scope = scope_of(actor)
    return None if scope is None else scope.clause(DIMENSIONS.__getitem__)


def _shift_year(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


class _Facts:
    """The facts themselves, as a source of totals (the rollups are the others)."""

    def column(self, dim: str):
        return DIMENSIONS[dim]

    key = column

    def period(self, name: str):
        return FACTS.c[name]

    def measures(self):
        return [sa.func.sum(F.quantity), sa.func.sum(F.amount_fen), sa.func.count()]

    def in_range(self, date_from: date, date_to: date):
        return F.day.between(date_from, date_to)


FACT_SOURCE = _Facts()
MEASURES = ("quantity", "amount_fen", "facts")
FACTS = SalesFact.__table__


def _branch(source, scope: Scope | None, group_by, period: str, filters: dict, date_from, date_to) -> sa.Select:
    """One SELECT of (period keys, dimension keys, quantity, amount, facts) over one source."""
    keys = [*(source.period(name) for name in PERIODS[period]), *(source.key(d) for d in group_by)]
    measures = (m.label(name) for m, name in zip(source.measures(), MEASURES, strict=True))
    stmt = sa.select(*(k.label(f"k{i}") for i, k in enumerate(keys)), *measures)
    stmt = stmt.where(source.in_range(date_from, date_to))
    if scope is not None:
        stmt = stmt.where(scope.clause(source.column))
    for name, value in filters.items():
        column = source.column(FILTER_DIMENSION[name])
        stmt = stmt.where(column.in_(value) if isinstance(value, list | tuple | set) else column == value)
    return stmt.group_by(*keys) if keys else stmt


def _totals(
    session: Session,
    scope: Scope | None,
    group_by: list[str],
    period: str,
    filters: dict,
    date_from,
    date_to,
    *,
    from_facts: bool = False,
    max_groups: int | None = None,
) -> dict:
    """Totals per group: from the smallest rollup that covers the query plus the facts after its
    watermark (one statement, so one snapshot), the days of partly covered months at either end from
    the facts; from the facts alone when no rollup serves or `from_facts`. More than `max_groups`
    groups is refused, having read one more at most."""
    filters = {name: value for name, value in filters.items() if value is not None}
    wanted = {*group_by, *(FILTER_DIMENSION[name] for name in filters), *(scope.dimensions if scope else ())}
    plan = None if from_facts else rollups.plan(wanted, period, date_from, date_to)
    args = (scope, group_by, period, filters)
    if plan is None:
        stmt = _branch(FACT_SOURCE, *args, date_from, date_to)
    else:
        # The watermark read just before is a lower bound of the one the statement sees: it lets the
        # planner take the primary key for the few facts after it.
        at_least = rollups.watermark(session)
        covered = (plan.date_from, plan.date_to)
        branches = [
            _branch(plan.rollup, *args, *covered),
            _branch(FACT_SOURCE, *args, *covered).where(F.id > at_least, F.id > rollups.watermark_clause()),
            *(_branch(FACT_SOURCE, *args, *edge) for edge in plan.edges),
        ]
        both = sa.union_all(*branches).subquery()
        keys = [both.c[f"k{i}"] for i in range(len(PERIODS[period]) + len(group_by))]
        quantity, amount, count = (both.c[name] for name in MEASURES)
        stmt = sa.select(*keys, sa.func.sum(quantity), sa.func.sum(amount), sa.func.sum(count))
        if keys:
            stmt = stmt.group_by(*keys)
    if max_groups is not None:
        stmt = stmt.limit(max_groups + 1)
    out = {}
    for row in session.execute(stmt):
        *key, quantity, amount, count = row
        out[tuple(key)] = (int(quantity or 0), int(amount or 0), int(count or 0))
    if max_groups is not None and len(out) > max_groups:
        raise TooManyGroups(max_groups=max_groups)
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
    from_facts: bool = False,
    max_groups: int | None = None,
) -> list[dict]:
    """Sum of quantity and amount per group; with `year_on_year` each group also carries the same
    period a year before and the change in basis points. `from_facts` skips the rollups (to compare).
    A query of more than `max_groups` groups (in its period or the year before) is refused."""
    if date_to < date_from:
        raise InvalidInput("The period ends before it starts.", fields={"date_to": ["Before date_from."]})
    unknown = [d for d in group_by if d not in DIMENSIONS]
    if unknown or period not in PERIODS:
        raise InvalidInput(
            "Unknown dimension or period.", fields={"group_by": unknown} if unknown else {"period": [period]}
        )
    scope = scope_of(actor)
    bounded = {"from_facts": from_facts, "max_groups": max_groups}
    now = _totals(session, scope, group_by, period, filters, date_from, date_to, **bounded)
    before = {}
    if year_on_year:
        before = _totals(
            session,
            scope,
            group_by,
            period,
            filters,
            _shift_year(date_from, -1),
            _shift_year(date_to, -1),
            **bounded,
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


def deep_poverty_check(
    session: Session, actor: Actor, *, date_from: date, date_to: date, from_facts: bool = False
) -> list[dict]:
    """只增不减: every deep-poverty township's sales in the period against the same period a year
    before; `flagged` when it sold less. Read the same way as the totals (rollups and live facts)."""
    scope = scope_of(actor)

    def by_township(start: date, end: date) -> dict[int, int]:
        totals = _totals(session, scope, ["township"], "all", {"deep_poverty": True}, start, end, from_facts=from_facts)
        return {key[0]: amount for key, (_quantity, amount, _count) in totals.items()}

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
