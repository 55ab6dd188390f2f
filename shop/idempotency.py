"""Idempotency keys for writes that create money-moving things (orders, payments, refunds).

The first request with a key claims it by inserting a row in its own transaction; the work and the
row commit together. A retry with the same key and body gets the same resource back; with another
body, 409. A concurrent duplicate waits on the unique index until the first commits, then replays."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
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
    existing = _find(session, user_id, scope, key)
    if existing is None:
        row = IdempotencyKey(user_id=user_id, scope=scope, key=key, request_hash=digest, created_at=clock.now())
        try:
            with session.begin_nested():
                session.add(row)
        except IntegrityError:
            existing = _find(session, user_id, scope, key)
        else:
            row.resource_id = create()
            session.flush()
            return row.resource_id, True
    if existing.request_hash != digest:
        raise IdempotencyKeyReused(key=key)
    return existing.resource_id, False


def _find(session: Session, user_id: int, scope: str, key: str) -> IdempotencyKey | None:
    return session.scalar(
        sa.select(IdempotencyKey).where(
            IdempotencyKey.user_id == user_id, IdempotencyKey.scope == scope, IdempotencyKey.key == key
        )
    )
