"""Posting notifications and reading the inbox.

    from shop.notifications.service import notify
    notify(session, [buyer_id], NotificationKind.ORDER_PAID, title="…", data={"order_id": 7})

`notify` writes in the caller's transaction: the inbox rows and their deliveries commit with the
event or not at all. The deliveries beyond the inbox are sent by the worker after the commit
(`notifications.deliver`), never in the event's transaction."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from shop import clock, jobs
from shop.auth.actor import Actor
from shop.errors import NotFound
from shop.notifications.models import (
    Channel,
    Delivery,
    Notification,
    NotificationKind,
    Preference,
    enabled_by_default,
)
from shop.paging import paginate

DELIVERED_CHANNELS = (Channel.WECHAT, Channel.SMS)


def notify(
    session: Session,
    user_ids: Iterable[int | None],
    kind: NotificationKind,
    *,
    title: str,
    body: str = "",
    data: dict | None = None,
    now: datetime | None = None,
) -> list[Notification]:
    """Post one notification to each user's inbox (each user once), with a delivery for each other
    channel the user wants this kind on; the worker sends those after the commit."""
    now = now or clock.now()
    recipients = sorted({u for u in user_ids if u})
    if not recipients:
        return []
    rows = [
        Notification(user_id=u, kind=kind.value, title=title[:200], body=body[:1000], data=data or {}, created_at=now)
        for u in recipients
    ]
    session.add_all(rows)
    session.flush()
    wanted = _wanted_channels(session, recipients, kind)
    deliveries = [
        Delivery(notification_id=row.id, channel=channel, next_attempt_at=now, created_at=now)
        for row in rows
        for channel in wanted[row.user_id]
    ]
    if deliveries:
        session.add_all(deliveries)
        session.flush()
        jobs.enqueue_after_commit(session, "notifications.deliver", delivery_ids=[d.id for d in deliveries])
    return rows


def _wanted_channels(session: Session, user_ids: list[int], kind: str) -> dict[int, list[Channel]]:
    chosen = {
        (user_id, channel): enabled
        for user_id, channel, enabled in session.execute(
            sa.select(Preference.user_id, Preference.channel, Preference.enabled).where(
                Preference.user_id.in_(user_ids), Preference.kind == kind
            )
        )
    }
    return {u: [c for c in DELIVERED_CHANNELS if chosen.get((u, c), enabled_by_default(kind, c))] for u in user_ids}


def wants(session: Session, user_id: int, kind: str, channel: Channel) -> bool:
    return channel in _wanted_channels(session, [user_id], kind)[user_id]


# --- the inbox: each user reads and marks only their own ---------------------------------------


def list_inbox(session: Session, actor: Actor, *, unread_only: bool, kind: str | None, page: int, size: int):
    stmt = sa.select(Notification).where(Notification.user_id == actor.user_id)
    if unread_only:
        stmt = stmt.where(Notification.read_at.is_(None))
    if kind is not None:
        stmt = stmt.where(Notification.kind == kind)
    return paginate(session, stmt, order_by=Notification.id.desc(), page=page, size=size)


def unread_count(session: Session, actor: Actor) -> int:
    return session.scalar(
        sa.select(sa.func.count()).where(Notification.user_id == actor.user_id, Notification.read_at.is_(None))
    )


def mark_read(session: Session, actor: Actor, notification_id: int, *, now: datetime) -> Notification:
    """Mark one of the user's notifications read (again: no change); another user's is not found."""
    row = session.get(Notification, notification_id)
    if row is None or row.user_id != actor.user_id:
        raise NotFound("No such notification.")
    if row.read_at is None:
        row.read_at = now
        session.flush()
    return row


def mark_all_read(session: Session, actor: Actor, *, now: datetime) -> int:
    result = session.execute(
        sa.update(Notification)
        .where(Notification.user_id == actor.user_id, Notification.read_at.is_(None))
        .values(read_at=now)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount


# --- preferences -------------------------------------------------------------------------------


def preferences(session: Session, actor: Actor) -> list[dict]:
    """Every kind on every delivered channel, with the user's choice or the default."""
    chosen = {
        (p.kind, p.channel): p.enabled
        for p in session.scalars(sa.select(Preference).where(Preference.user_id == actor.user_id))
    }
    return [
        {
            "kind": kind,
            "channel": channel,
            "enabled": chosen.get((kind.value, channel), enabled_by_default(kind, channel)),
        }
        for kind in NotificationKind
        for channel in DELIVERED_CHANNELS
    ]


def set_preferences(session: Session, actor: Actor, choices: list[dict]) -> list[dict]:
    for choice in choices:
        kind, channel = NotificationKind(choice["kind"]).value, Channel(choice["channel"])
        row = session.get(Preference, (actor.user_id, kind, channel))
        if row is None:
            session.add(Preference(user_id=actor.user_id, kind=kind, channel=channel, enabled=choice["enabled"]))
        else:
            row.enabled = choice["enabled"]
    session.flush()
    return preferences(session, actor)
