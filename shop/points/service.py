"""Points: an append-only ledger and a cached balance changed only together, by one conditional UPDATE."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from shop import clock
from shop.auth.actor import Actor
from shop.auth.models import Role, User
from shop.db import insert_ignore
from shop.errors import InvalidInput, NotFound
from shop.paging import paginate
from shop.points.errors import InsufficientPoints
from shop.points.models import PointsAccount, PointsEntry, PointsKind


def _ensure_account(session: Session, user_id: int) -> None:
    insert_ignore(session, PointsAccount, [dict(user_id=user_id, balance=0)])


def balance(session: Session, user_id: int) -> int:
    return session.scalar(sa.select(PointsAccount.balance).where(PointsAccount.user_id == user_id)) or 0


def post(
    session: Session,
    user_id: int,
    delta: int,
    kind: PointsKind,
    *,
    order_id: int | None = None,
    note: str = "",
    actor_id: int | None = None,
    allow_negative: bool = False,
) -> PointsEntry:
    """Change a balance by `delta` and append the ledger entry, in the caller's transaction.
    A debit that would leave the balance below zero is refused (unless `allow_negative`, for clawbacks:
    the buyer then owes points and cannot spend until the balance is positive again)."""
    if delta == 0:
        raise InvalidInput("A points entry cannot be zero.", fields={"delta": ["Must not be zero."]})
    _ensure_account(session, user_id)
    stmt = (
        sa.update(PointsAccount)
        .where(PointsAccount.user_id == user_id)
        .values(balance=PointsAccount.balance + delta)
        .returning(PointsAccount.balance)
    )
    if delta < 0 and not allow_negative:
        stmt = stmt.where(PointsAccount.balance + delta >= 0)
    new_balance = session.execute(stmt, execution_options={"synchronize_session": False}).scalar()
    if new_balance is None:
        raise InsufficientPoints(required=-delta, balance=balance(session, user_id))
    entry = PointsEntry(
        user_id=user_id,
        kind=kind,
        delta=delta,
        balance_after=new_balance,
        order_id=order_id,
        note=note,
        created_by_id=actor_id,
        created_at=clock.now(),
    )
    session.add(entry)
    session.flush()
    return entry


def history(session: Session, user_id: int, *, page: int, size: int):
    stmt = sa.select(PointsEntry).where(PointsEntry.user_id == user_id)
    return paginate(session, stmt, order_by=PointsEntry.id.desc(), page=page, size=size)


def adjust(session: Session, actor: Actor, *, user_id: int, delta: int, note: str) -> PointsEntry:
    actor.require(Role.ADMIN)
    if session.get(User, user_id) is None:
        raise NotFound("No such user.")
    return post(session, user_id, delta, PointsKind.ADJUST, note=note, actor_id=actor.user_id)


@dataclass(frozen=True)
class Drift:
    user_id: int
    cached: int
    ledger: int


def check(session: Session) -> list[Drift]:
    """Rebuild every balance from the ledger; list the accounts whose cached balance differs."""
    ledger = (
        sa.select(PointsEntry.user_id, sa.func.sum(PointsEntry.delta).label("total"))
        .group_by(PointsEntry.user_id)
        .subquery()
    )
    rows = session.execute(
        sa.select(PointsAccount.user_id, PointsAccount.balance, sa.func.coalesce(ledger.c.total, 0))
        .outerjoin(ledger, ledger.c.user_id == PointsAccount.user_id)
        .where(PointsAccount.balance != sa.func.coalesce(ledger.c.total, 0))
    ).all()
    orphans = session.execute(
        sa.select(ledger.c.user_id, ledger.c.total)
        .outerjoin(PointsAccount, PointsAccount.user_id == ledger.c.user_id)
        .where(PointsAccount.user_id.is_(None))
    ).all()
    return [Drift(u, cached, int(total)) for u, cached, total in rows] + [Drift(u, 0, int(t)) for u, t in orphans]
