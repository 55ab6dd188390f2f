"""Idempotency keys for writes that create money-moving things (orders, payments, refunds).

The first request with a key claims it by inserting a row in its own transaction; the work and the
row commit together. A retry with the same key and body gets the same resource back; with another
body, 409. A concurrent duplicate waits on the unique index until the first commits, then replays
(or, if the first rolled back, claims the key itself)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column

from shop import clock
from shop.db import Base, utcnow_column_default
from shop.errors import IdempotencyKeyReused, InvalidInput


class IdempotencyKey(Base):
    __tablename__ = "idempotency_keys"
    __table_args__ = (sa.UniqueConstraint("user_id", "scope", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    scope: Mapped[str] = mapped_column(sa.String(40))
    key: Mapped[str] = mapped_column(sa.String(100))
    request_hash: Mapped[str] = mapped_column(sa.String(64))
    resource_id: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow_column_default)


_CLAIM = "idempotency_claim"  # session.info: the id of the key row whose `create` is running


def request_hash(payload) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def run_once(
    session: Session, *, user_id: int, scope: str, key: str | None, payload, create: Callable[[], int]
) -> tuple[int, bool]:
    """Run `create` (which returns the new resource's id) at most once per (user, scope, key).
    Returns (resource id, created now?). Without a key, just runs `create`."""
    if key is None:
        return create(), True
    if not 1 <= len(key) <= 100:
        raise InvalidInput("Idempotency-Key must be 1 to 100 characters.", fields={"Idempotency-Key": ["Bad length."]})
    digest = request_hash(payload)
    claimed = _claim(session, user_id, scope, key, digest)
    if claimed is not None:
        session.info[_CLAIM] = claimed
        try:
            resource_id = create()
        finally:
            recorded = session.info.pop(_CLAIM, None) is None
        if not recorded:
            record(session, claimed, resource_id)
        return resource_id, True
    existing = _find(session, user_id, scope, key)
    if existing.request_hash != digest:
        raise IdempotencyKeyReused(key=key)
    return existing.resource_id, False


def take_claim(session: Session) -> int | None:
    """The id of the key row being run now, for a `create` that stores its new resource's id under
    it itself, with the statement that creates the resource (`record_statement`, `record`), as soon as
    the resource exists (before it takes hot row locks, which are then held for one statement less);
    None without a key being run."""
    return session.info.pop(_CLAIM, None)


KEYS = IdempotencyKey.__table__


def _claim_statement(insert) -> sa.Insert:
    values = {
        name: sa.bindparam(name, type_=KEYS.c[name].type)
        for name in ("user_id", "scope", "key", "request_hash", "created_at")
    }
    return (
        insert(KEYS)
        .values(values)
        .on_conflict_do_nothing(index_elements=["user_id", "scope", "key"])
        .returning(KEYS.c.id)
    )


# Built once per dialect (every write with a key runs them; building cost more than running).
_CLAIMS = {"postgresql": _claim_statement(postgresql.insert), "sqlite": _claim_statement(sqlite.insert)}


def record_statement(resource_id: sa.ColumnElement[int]) -> sa.Update:
    """The key row of bind parameter `claimed` (none when it is None) answers `resource_id`."""
    return (
        KEYS.update().where(KEYS.c.id == sa.bindparam("claimed", type_=KEYS.c.id.type)).values(resource_id=resource_id)
    )


_RECORD = record_statement(sa.bindparam("resource_id", type_=KEYS.c.resource_id.type))


def record(session: Session, claimed: int | None, resource_id: int) -> None:
    if claimed is not None:
        session.execute(_RECORD, {"claimed": claimed, "resource_id": resource_id})


def _claim(session: Session, user_id: int, scope: str, key: str, digest: str) -> int | None:
    """Insert the key's row unless it is there (one statement, no savepoint); its id, or None. A
    concurrent first request's row makes this wait until that request commits or rolls back."""
    row = {"user_id": user_id, "scope": scope, "key": key, "request_hash": digest, "created_at": clock.now()}
    return session.execute(_CLAIMS[session.get_bind().dialect.name], row).scalar()


def _find(session: Session, user_id: int, scope: str, key: str) -> IdempotencyKey | None:
    return session.scalar(
        sa.select(IdempotencyKey).where(
            IdempotencyKey.user_id == user_id, IdempotencyKey.scope == scope, IdempotencyKey.key == key
        )
    )
