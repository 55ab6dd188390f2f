"""Union-fund budgets: an append-only ledger of entries and the budget's cached pots (available,
committed, spent), changed together by one conditional UPDATE, so parallel approvals never spend
more than is available. `check` rebuilds every budget from its ledger.

A budget's amount is capped by the organisation's per-capita ceiling: headcount × per-capita cap."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from shop import clock
from shop.auth.actor import Actor
from shop.errors import InvalidInput, NotFound
from shop.paging import paginate
from shop.procurement import access
from shop.procurement.access import FINANCE
from shop.procurement.errors import BudgetExists, InsufficientBudget, NoBudget, OverPerCapitaCap
from shop.procurement.models import Budget, BudgetEntry, BudgetEntryKind, Organisation

BUDGETS = Budget.__table__


# What each kind moves between the pots, per fen of its amount: (amount, available, committed, spent).
MOVES = {
    BudgetEntryKind.ALLOCATE: (1, 1, 0, 0),
    BudgetEntryKind.COMMIT: (0, -1, 1, 0),
    BudgetEntryKind.SPEND: (0, 0, -1, 1),
    BudgetEntryKind.RELEASE: (0, 1, -1, 0),
    BudgetEntryKind.RETURN: (0, 1, 0, -1),
}


def post(
    session: Session,
    budget_id: int,
    kind: BudgetEntryKind,
    amount_fen: int,
    *,
    bulk_order_id: int | None = None,
    voucher_id: int | None = None,
    note: str = "",
    actor_id: int | None = None,
) -> BudgetEntry:
    """Move `amount_fen` between the pots as `kind` says and append the entry, in the caller's
    transaction. One UPDATE, relative to the stored values, that matches only if no pot would go
    below zero: a commitment larger than what is available is refused (InsufficientBudget)."""
    if amount_fen == 0:
        raise InvalidInput("A budget entry cannot be zero.", fields={"amount_fen": ["Must not be zero."]})
    d_amount, d_available, d_committed, d_spent = (amount_fen * m for m in MOVES[kind])
    stmt = (
        BUDGETS.update()
        .where(
            BUDGETS.c.id == budget_id,
            BUDGETS.c.available_fen + d_available >= 0,
            BUDGETS.c.committed_fen + d_committed >= 0,
            BUDGETS.c.spent_fen + d_spent >= 0,
        )
        .values(
            amount_fen=BUDGETS.c.amount_fen + d_amount,
            available_fen=BUDGETS.c.available_fen + d_available,
            committed_fen=BUDGETS.c.committed_fen + d_committed,
            spent_fen=BUDGETS.c.spent_fen + d_spent,
        )
        .returning(BUDGETS.c.available_fen)
    )
    available_after = session.execute(stmt).scalar()
    if available_after is None:
        budget = session.get(Budget, budget_id, populate_existing=True)
        if budget is None:
            raise NotFound("No such budget.")
        raise InsufficientBudget(
            required_fen=amount_fen, available_fen=budget.available_fen, committed_fen=budget.committed_fen
        )
    entry = BudgetEntry(
        budget_id=budget_id,
        kind=kind,
        amount_delta=d_amount,
        available_delta=d_available,
        committed_delta=d_committed,
        spent_delta=d_spent,
        available_after=available_after,
        bulk_order_id=bulk_order_id,
        voucher_id=voucher_id,
        note=note[:500],
        actor_id=actor_id,
        created_at=clock.now(),
    )
    session.add(entry)
    session.flush()
    # The ORM copy of the row (if loaded) is stale now.
    cached = session.identity_map.get(session.identity_key(Budget, (budget_id,)))
    if cached is not None:
        session.expire(cached)
    return entry


def ceiling(organisation: Organisation) -> int:
    return organisation.headcount * organisation.per_capita_cap_fen


def _within_ceiling(organisation: Organisation, amount_fen: int) -> None:
    if amount_fen > ceiling(organisation):
        raise OverPerCapitaCap(
            "The budget exceeds the per-capita cap times the headcount.",
            ceiling_fen=ceiling(organisation),
            headcount=organisation.headcount,
            per_capita_cap_fen=organisation.per_capita_cap_fen,
        )


def create_budget(
    session: Session, actor: Actor, organisation_id: int, *, fiscal_year: int, amount_fen: int, now: datetime
) -> Budget:
    organisation = access.get_organisation(session, actor, organisation_id, FINANCE)
    _within_ceiling(organisation, amount_fen)
    exists = session.scalar(
        sa.select(Budget.id).where(Budget.organisation_id == organisation_id, Budget.fiscal_year == fiscal_year)
    )
    if exists is not None:
        raise BudgetExists("This fiscal year has a budget already; change its amount.")
    budget = Budget(
        organisation_id=organisation_id, fiscal_year=fiscal_year, created_by_id=actor.user_id, created_at=now
    )
    session.add(budget)
    session.flush()
    if amount_fen:
        post(session, budget.id, BudgetEntryKind.ALLOCATE, amount_fen, note="allocated", actor_id=actor.user_id)
    session.refresh(budget)
    return budget


def get_budget(session: Session, actor: Actor, budget_id: int) -> Budget:
    budget = session.get(Budget, budget_id)
    if budget is None:
        raise NotFound("No such budget.")
    try:
        access.require(actor, budget.organisation_id)
    except NotFound:
        raise NotFound("No such budget.") from None
    return budget


def change_amount(session: Session, actor: Actor, budget_id: int, *, amount_fen: int, reason: str) -> Budget:
    """Raise or lower the allocation; lowering takes from what is available only."""
    budget = get_budget(session, actor, budget_id)
    access.require(actor, budget.organisation_id, FINANCE)
    organisation = session.get(Organisation, budget.organisation_id)
    _within_ceiling(organisation, amount_fen)
    delta = amount_fen - budget.amount_fen
    if delta:
        post(session, budget.id, BudgetEntryKind.ALLOCATE, delta, note=reason, actor_id=actor.user_id)
    session.refresh(budget)
    return budget


def list_budgets(session: Session, actor: Actor, organisation_id: int) -> list[Budget]:
    access.get_organisation(session, actor, organisation_id)
    return list(
        session.scalars(sa.select(Budget).where(Budget.organisation_id == organisation_id).order_by(Budget.fiscal_year))
    )


def list_entries(session: Session, actor: Actor, budget_id: int, *, page: int, size: int):
    get_budget(session, actor, budget_id)
    stmt = sa.select(BudgetEntry).where(BudgetEntry.budget_id == budget_id)
    return paginate(session, stmt, order_by=BudgetEntry.id, page=page, size=size)


def budget_for(session: Session, organisation_id: int, fiscal_year: int) -> Budget:
    budget = session.scalar(
        sa.select(Budget).where(Budget.organisation_id == organisation_id, Budget.fiscal_year == fiscal_year)
    )
    if budget is None:
        raise NoBudget(fiscal_year=fiscal_year)
    return budget


@dataclass(frozen=True)
class Drift:
    budget_id: int
    pot: str
    cached: int
    ledger: int


def check(session: Session) -> list[Drift]:
    """Rebuild every budget's pots from its ledger; list those whose cached value differs."""
    ledger = (
        sa.select(
            BudgetEntry.budget_id,
            sa.func.sum(BudgetEntry.amount_delta).label("amount"),
            sa.func.sum(BudgetEntry.available_delta).label("available"),
            sa.func.sum(BudgetEntry.committed_delta).label("committed"),
            sa.func.sum(BudgetEntry.spent_delta).label("spent"),
        )
        .group_by(BudgetEntry.budget_id)
        .subquery()
    )
    drift = []
    rows = session.execute(
        sa.select(
            Budget.id,
            Budget.amount_fen,
            Budget.available_fen,
            Budget.committed_fen,
            Budget.spent_fen,
            ledger.c.amount,
            ledger.c.available,
            ledger.c.committed,
            ledger.c.spent,
        ).outerjoin(ledger, ledger.c.budget_id == Budget.id)
    ).all()
    for row in rows:
        cached = row[1:5]
        rebuilt = [int(v or 0) for v in row[5:9]]
        for pot, c, r in zip(("amount", "available", "committed", "spent"), cached, rebuilt, strict=True):
            if c != r:
                drift.append(Drift(row[0], pot, c, r))
    return drift
