"""Points: an append-only ledger and a cached balance changed only together, by one conditional UPDATE."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

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


def _expirable(session: Session, cutoff: datetime, *, user_ids: list[int] | None, limit: int) -> list[tuple[int, int]]:
    """(user, points to expire now): credits made before `cutoff` less every debit ever made
    (spends, clawbacks, earlier expiries: the oldest points go first), at most the balance."""
    old_credits = sa.func.sum(
        sa.case((sa.and_(PointsEntry.delta > 0, PointsEntry.created_at < cutoff), PointsEntry.delta), else_=0)
    )
    debits = sa.func.sum(sa.case((PointsEntry.delta < 0, -PointsEntry.delta), else_=0))
    ledger = (
        sa.select(PointsEntry.user_id, (old_credits - debits).label("unspent_old"))
        .group_by(PointsEntry.user_id)
        .having(old_credits - debits > 0)
    )
    if user_ids is not None:
        ledger = ledger.where(PointsEntry.user_id.in_(user_ids))
    ledger = ledger.subquery()
    amount = sa.case((ledger.c.unspent_old < PointsAccount.balance, ledger.c.unspent_old), else_=PointsAccount.balance)
    rows = session.execute(
        sa.select(ledger.c.user_id, amount)
        .join(PointsAccount, PointsAccount.user_id == ledger.c.user_id)
        .where(PointsAccount.balance > 0)
        .order_by(ledger.c.user_id)
        .limit(limit)
    ).all()
    return [(user_id, int(points)) for user_id, points in rows]


def expire_due(
    session: Session, now: datetime, *, expire_days: int, user_ids: list[int] | None = None, limit: int = 500
) -> int:
    """Post an `expire` entry for each buyer (up to `limit`) holding points earned more than
    `expire_days` before `now` and not spent since (0 days: points never expire). Running it again
    expires nothing more. Returns how many buyers lost points."""
    if expire_days <= 0:
        return 0
    cutoff = now - timedelta(days=expire_days)
    done = 0
    for user_id, _ in _expirable(session, cutoff, user_ids=user_ids, limit=limit):
        # the account locked first, so a spend in flight cannot make the amount read here too large
        session.execute(sa.select(PointsAccount.user_id).where(PointsAccount.user_id == user_id).with_for_update())
        for _, points in _expirable(session, cutoff, user_ids=[user_id], limit=1):
            post(session, user_id, -points, PointsKind.EXPIRE, note=f"earned before {cutoff:%Y-%m-%d %H:%M} UTC")
            done += 1
    return done


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
