"""Sending the deliveries beyond the inbox: run by the worker (`notifications.deliver`, enqueued after
each commit that posted, and every minute for the retries), never in the event's transaction.

Each due delivery is re-checked against the user's preference (a choice changed since the post wins),
sent to the user's address on the channel (WeChat openid, mobile number), and its outcome recorded:
sent; skipped (no longer wanted, no address, the channel is off, the user refused the template);
retried later with exponential back-off (WeChat busy or rate limiting, 5xx, timeouts); failed for
good (a refusal, or out of attempts)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from shop.auth.models import User, WeChatIdentity
from shop.notifications.channels import ChannelAdapter, Outcome, SmsGatewayChannel, WeChatSubscribeChannel
from shop.notifications.models import Channel, Delivery, DeliveryStatus, Notification
from shop.notifications.service import wants
from shop.wechat import WeChatClient


@dataclass(frozen=True)
class DeliverySettings:
    channels: dict[Channel, ChannelAdapter] = field(default_factory=dict)  # the configured ones
    wechat_app_id: str | None = None
    max_attempts: int = 8
    backoff_seconds: int = 30
    backoff_max_seconds: int = 3600

    def backoff(self, attempts: int) -> timedelta:
        return timedelta(seconds=min(self.backoff_max_seconds, self.backoff_seconds * 2 ** max(0, attempts - 1)))


def parse_templates(text: str) -> dict[str, str]:
    """ "order_paid=TEMPLATE_ID,order_shipped=…" → {kind: template id}."""
    pairs = (item.partition("=") for item in text.split(",") if item.strip())
    return {kind.strip(): template.strip() for kind, _, template in pairs if template.strip()}


def settings_from(config: dict, wechat: WeChatClient | None) -> DeliverySettings:
    channels: dict[Channel, ChannelAdapter] = {}
    if wechat is not None:
        channels[Channel.WECHAT] = WeChatSubscribeChannel(wechat, parse_templates(config["WECHAT_SUBSCRIBE_TEMPLATES"]))
    if config["SMS_GATEWAY_URL"]:
        channels[Channel.SMS] = SmsGatewayChannel(
            config["SMS_GATEWAY_URL"], config["SMS_GATEWAY_SECRET"], float(config["SMS_TIMEOUT_SECONDS"])
        )
    return DeliverySettings(
        channels=channels,
        wechat_app_id=wechat.app_id if wechat is not None else None,
        max_attempts=config["NOTIFICATIONS_MAX_ATTEMPTS"],
        backoff_seconds=config["NOTIFICATIONS_BACKOFF_SECONDS"],
        backoff_max_seconds=config["NOTIFICATIONS_BACKOFF_MAX_SECONDS"],
    )


def _address(session: Session, settings: DeliverySettings, channel: Channel, user_id: int) -> str | None:
    if channel == Channel.SMS:
        return session.scalar(sa.select(User.phone).where(User.id == user_id))
    return session.scalar(
        sa.select(WeChatIdentity.openid).where(
            WeChatIdentity.user_id == user_id, WeChatIdentity.app_id == settings.wechat_app_id
        )
    )


def _attempt(session: Session, settings: DeliverySettings, delivery: Delivery, now: datetime) -> Outcome:
    notification = session.get(Notification, delivery.notification_id)
    if not wants(session, notification.user_id, notification.kind, delivery.channel):
        return Outcome(False, skip=True, note="turned off by the user")
    adapter = settings.channels.get(delivery.channel)
    if adapter is None:
        return Outcome(False, skip=True, note=f"{delivery.channel.value} is not set up")
    address = _address(session, settings, delivery.channel, notification.user_id)
    if not address:
        return Outcome(False, skip=True, note="no address on this channel")
    return adapter.send(address, notification, now=now)


def deliver_due(
    session: Session, settings: DeliverySettings, *, now: datetime, delivery_ids: list[int] | None = None, limit=100
) -> dict[str, int]:
    """Send the pending deliveries that are due (of `delivery_ids` only, if given); record each outcome."""
    stmt = (
        sa.select(Delivery)
        .where(Delivery.status == DeliveryStatus.PENDING, Delivery.next_attempt_at <= now)
        .order_by(Delivery.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    if delivery_ids is not None:
        stmt = stmt.where(Delivery.id.in_(delivery_ids))
    counts = {"sent": 0, "skipped": 0, "retrying": 0, "failed": 0}
    for delivery in session.scalars(stmt).all():
        outcome = _attempt(session, settings, delivery, now)
        if outcome.skip:
            delivery.status, delivery.last_error = DeliveryStatus.SKIPPED, outcome.note[:500]
            counts["skipped"] += 1
            continue
        delivery.attempts += 1
        if outcome.sent:
            delivery.status, delivery.sent_at, delivery.last_error = DeliveryStatus.SENT, now, None
            counts["sent"] += 1
        elif outcome.retry and delivery.attempts < settings.max_attempts:
            delivery.next_attempt_at = now + settings.backoff(delivery.attempts)
            delivery.last_error = outcome.note[:500]
            counts["retrying"] += 1
        else:
            delivery.status, delivery.last_error = DeliveryStatus.FAILED, outcome.note[:500]
            counts["failed"] += 1
    session.flush()
    return counts
