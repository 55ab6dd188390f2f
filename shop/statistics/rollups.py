"""Rollups of the sales facts, kept by the worker, so grouped queries over millions of facts stay fast.

Each rollup sums the facts at a coarse grain (a month or a day) over a few dimensions. One watermark
says how far they have folded the facts: every fact with an id at most the watermark is in every
rollup, no later fact is. A query reads the smallest rollup that covers its dimensions, filters and
period grain, plus the facts after the watermark read live, in one statement (one snapshot), so its
answer is exact to the last fact committed, refunds included.

Folding is safe because of how the watermark moves. Fact ids come from a sequence, so a transaction
still writing may hold an id below one already committed; folding past it would lose that fact. So
the job first takes the facts' table in SHARE mode for a moment (PostgreSQL): that waits for every
transaction writing facts to end, and the largest id then is a horizon no later commit can fall
under. (SQLite has one writer at a time, committed in id order.) The fold itself locks the watermark
row and moves it with a conditional UPDATE, so two jobs at once fold each fact once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from shop.db import transaction
from shop.statistics.models import (
    RollupState,
    SalesFact,
    SalesRollupDayTownship,
    SalesRollupMonth,
    SalesRollupMonthDistrict,
)

STATE = "sales_facts"
FACTS = SalesFact.__table__
# A fold covers at most this many fact ids per transaction.
BATCH = 500_000
LOCK_TIMEOUT = "2s"

# Dimension (as the queries name it) → the fact's column and the rollup's column.
FACT_COLUMN = {
    "district": "origin_district_id",
    "township": "origin_township_id",
    "deep_poverty": "deep_poverty",
    "eligible": "eligible",
    "channel": "channel",
    "buyer_type": "buyer_type",
}
ROLLUP_COLUMN = {"district": "district_id", "township": "township_id"}
ZERO_FOR_NONE = {"district", "township"}


@dataclass(frozen=True)
class Rollup:
    model: type
    grain: str  # "month" or "day"
    dims: tuple[str, ...]

    @property
    def name(self) -> str:
        return self.table.name

    @property
    def table(self) -> sa.Table:
        return self.model.__table__

    def column(self, dim: str) -> sa.ColumnElement:
        """The column to filter on (0 where the fact has none)."""
        return self.table.c[ROLLUP_COLUMN.get(dim, dim)]

    def key(self, dim: str) -> sa.ColumnElement:
        """The column to group by, as the facts have it (None where they have none)."""
        column = self.column(dim)
        return sa.func.nullif(column, 0, type_=column.type) if dim in ZERO_FOR_NONE else column

    def period(self, name: str) -> sa.ColumnElement:
        return self.table.c[name]

    def measures(self) -> list[sa.ColumnElement]:
        c = self.table.c
        return [sa.func.sum(c.quantity), sa.func.sum(c.amount_fen), sa.func.sum(c.facts)]

    def in_range(self, date_from: date, date_to: date) -> sa.ColumnElement[bool]:
        c = self.table.c
        if self.grain == "day":
            return c.day.between(date_from, date_to)
        return sa.and_(
            c.year.between(date_from.year, date_to.year),
            (c.year * 12 + c.month).between(date_from.year * 12 + date_from.month, date_to.year * 12 + date_to.month),
        )

    def covers(self, dims: set[str], period: str, date_from: date, date_to: date) -> bool:
        if not dims <= set(self.dims):
            return False
        if self.grain == "day":
            return True
        whole_months = date_from.day == 1 and (date_to + timedelta(days=1)).day == 1
        return period != "day" and whole_months


# Smallest first: a query takes the first that covers it.
ROLLUPS = (
    Rollup(SalesRollupMonth, "month", ("channel", "buyer_type", "deep_poverty", "eligible")),
    Rollup(SalesRollupMonthDistrict, "month", ("district", "channel", "buyer_type", "deep_poverty", "eligible")),
    Rollup(SalesRollupDayTownship, "day", ("district", "township", "deep_poverty", "eligible")),
)


def covering(dims: set[str], period: str, date_from: date, date_to: date) -> Rollup | None:
    return next((r for r in ROLLUPS if r.covers(dims, period, date_from, date_to)), None)


@dataclass(frozen=True)
class Plan:
    """Where a query's totals come from: `rollup` (plus the facts after the watermark) for the days
    `date_from`..`date_to`, and the facts alone for the `edges` (the days of a month the range only
    partly covers)."""

    rollup: Rollup
    date_from: date
    date_to: date
    edges: tuple[tuple[date, date], ...] = ()


def plan(dims: set[str], period: str, date_from: date, date_to: date) -> Plan | None:
    """The smallest rollup covering the whole range; else a month rollup for the whole months in it
    and the facts for the days at either end; None when neither works."""
    rollup = covering(dims, period, date_from, date_to)
    if rollup is not None:
        return Plan(rollup, date_from, date_to)
    if period == "day":
        return None
    first = date_from if date_from.day == 1 else _next_month(date_from)
    last = date_to if (date_to + timedelta(days=1)).day == 1 else date_to.replace(day=1) - timedelta(days=1)
    if first > last:
        return None
    rollup = covering(dims, period, first, last)
    if rollup is None:
        return None
    edges = ((date_from, first - timedelta(days=1)), (last + timedelta(days=1), date_to))
    return Plan(rollup, first, last, tuple((a, b) for a, b in edges if a <= b))


def _next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def watermark_clause() -> sa.ScalarSelect:
    """The watermark, read in the statement that reads the rollups (so both are of one snapshot)."""
    return (
        sa.select(sa.func.coalesce(sa.func.max(RollupState.watermark), 0))
        .where(RollupState.name == STATE)
        .scalar_subquery()
    )


def watermark(session: Session) -> int:
    return int(session.scalar(watermark_clause().element) or 0)


# Folding ---------------------------------------------------------------------------------------


def _sources(rollup: Rollup) -> dict[str, sa.ColumnElement]:
    """Each non-measure column of the rollup → the expression over the facts that fills it."""
    out = {}
    for column in rollup.table.c:
        if column.name in ("quantity", "amount_fen", "facts"):
            continue
        dim = next((d for d in rollup.dims if rollup.column(d) is column), None)
        if dim is None:
            out[column.name] = FACTS.c[column.name]  # day, year, quarter, month
        elif dim in ZERO_FOR_NONE:
            out[column.name] = sa.func.coalesce(FACTS.c[FACT_COLUMN[dim]], 0)
        else:
            out[column.name] = FACTS.c[FACT_COLUMN[dim]]
    return out


def _insert(session: Session):
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert


def _fold(session: Session, rollup: Rollup, after: int, upto: int) -> None:
    """Add the facts with ids in (after, upto] to the rollup."""
    sources = _sources(rollup)
    select = (
        sa.select(
            *sources.values(),
            sa.func.sum(FACTS.c.quantity),
            sa.func.sum(FACTS.c.amount_fen),
            sa.func.count(),
        )
        .where(FACTS.c.id > after, FACTS.c.id <= upto)
        .group_by(*sources.values())
    )
    table = rollup.table
    stmt = _insert(session)(table).from_select([*sources, "quantity", "amount_fen", "facts"], select)
    stmt = stmt.on_conflict_do_update(
        index_elements=[c.name for c in table.primary_key.columns],
        set_={
            "quantity": table.c.quantity + stmt.excluded.quantity,
            "amount_fen": table.c.amount_fen + stmt.excluded.amount_fen,
            "facts": table.c.facts + stmt.excluded.facts,
        },
    )
    session.execute(stmt)


def horizon(session: Session) -> int | None:
    """The largest fact id below which no fact can still appear; None when writers kept the facts
    busy past the lock timeout (the next run tries again)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sa.text(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'"))
        try:
            with session.begin_nested():
                session.execute(sa.text(f"LOCK TABLE {FACTS.name} IN SHARE MODE"))
        except OperationalError:
            return None
        finally:
            session.execute(sa.text("SET LOCAL lock_timeout TO DEFAULT"))
    return int(session.scalar(sa.select(sa.func.coalesce(sa.func.max(FACTS.c.id), 0))))


def _locked_watermark(session: Session) -> int:
    state = session.execute(
        sa.select(RollupState.watermark).where(RollupState.name == STATE).with_for_update()
    ).scalar_one_or_none()
    if state is None:
        session.execute(_insert(session)(RollupState).values(name=STATE, watermark=0).on_conflict_do_nothing())
        state = session.execute(
            sa.select(RollupState.watermark).where(RollupState.name == STATE).with_for_update()
        ).scalar_one()
    return int(state)


def _move(session: Session, before: int, after: int, now: datetime) -> None:
    moved = session.execute(
        sa.update(RollupState)
        .where(RollupState.name == STATE, RollupState.watermark == before)
        .values(watermark=after, folded_at=now)
    )
    if moved.rowcount != 1:  # someone moved it under our lock: never fold twice
        raise RuntimeError("the rollups' watermark moved during a fold")


def fold_step(session: Session, upto: int, now: datetime, *, batch: int = BATCH) -> tuple[int, int]:
    """Fold the next batch of facts up to `upto` into every rollup; return the watermark before and
    after (equal when there was nothing to fold)."""
    before = _locked_watermark(session)
    after = min(upto, before + batch)
    if after <= before:
        return before, before
    for rollup in ROLLUPS:
        _fold(session, rollup, before, after)
    _move(session, before, after, now)
    session.flush()
    return before, after


def refresh(factory: sessionmaker[Session], now: datetime, *, batch: int = BATCH) -> dict:
    """The worker's job: fold the facts written since the last run, a batch per transaction."""
    with transaction(factory) as session:
        upto = horizon(session)
    if upto is None:
        return {"skipped": f"facts kept busy by writers for over {LOCK_TIMEOUT}"}
    start = None
    while True:
        with transaction(factory, write=True) as session:
            before, after = fold_step(session, upto, now, batch=batch)
        start = before if start is None else start
        if after >= upto or after == before:
            return {"from": start, "to": after, "horizon": upto}


def rebuild(factory: sessionmaker[Session], now: datetime) -> dict:
    """Empty the rollups and fold every fact again, in one transaction: queries see the old rollups
    until it commits, and the watermark never moves back."""
    with transaction(factory) as session:
        upto = horizon(session)
    if upto is None:
        raise RuntimeError(f"facts kept busy by writers for over {LOCK_TIMEOUT}; try again")
    with transaction(factory, write=True) as session:
        before = _locked_watermark(session)
        upto = max(upto, before)
        for rollup in ROLLUPS:
            session.execute(sa.delete(rollup.table))
            _fold(session, rollup, 0, upto)
        _move(session, before, upto, now)
    return {"from": 0, "to": upto}


# Checking --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Difference:
    rollup: str
    key: dict
    quantity: int  # the rollup's less the facts'
    amount_fen: int
    facts: int


def check(session: Session) -> list[Difference]:
    """Each rollup against the facts up to the watermark, in one statement per rollup (one snapshot):
    the groups where they differ."""
    differences = []
    for rollup in ROLLUPS:
        sources = _sources(rollup)
        table = rollup.table
        folded = sa.select(
            *(table.c[name].label(name) for name in sources),
            table.c.quantity.label("q"),
            table.c.amount_fen.label("a"),
            table.c.facts.label("n"),
        )
        facts = (
            sa.select(
                *(expr.label(name) for name, expr in sources.items()),
                (-sa.func.sum(FACTS.c.quantity)).label("q"),
                (-sa.func.sum(FACTS.c.amount_fen)).label("a"),
                (-sa.func.count()).label("n"),
            )
            .where(FACTS.c.id <= watermark_clause())
            .group_by(*sources.values())
        )
        both = sa.union_all(folded, facts).subquery()
        keys = [both.c[name] for name in sources]
        q, a, n = sa.func.sum(both.c.q), sa.func.sum(both.c.a), sa.func.sum(both.c.n)
        stmt = sa.select(*keys, q, a, n).group_by(*keys).having(sa.or_(q != 0, a != 0, n != 0))
        for row in session.execute(stmt):
            *key, dq, da, dn = row
            differences.append(
                Difference(
                    rollup.name,
                    {name: (v.value if hasattr(v, "value") else v) for name, v in zip(sources, key, strict=True)},
                    int(dq),
                    int(da),
                    int(dn),
                )
            )
    return differences
