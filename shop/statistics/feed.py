"""The feed of sales facts to the national monitoring hub.

Facts not yet fed are gathered, in id order, into batches written to an outbox table
(`hub_feed_batches`) in their own transaction; a delivery loop (the worker's `statistics.feed` job,
or `flask statistics feed`) posts each batch that is due, and on a failure (a 5xx, a 408/429, a
timeout, no connection) tries again later with exponential back-off. A 4xx other than those marks
the batch failed for a person to look at; so does running out of attempts.

Wire format (documented for the hub):

    POST <STATISTICS_HUB_URL>
    Content-Type: application/json; charset=utf-8
    X-Hub-Batch-Id: <batch id>            the same on every retry: the hub keeps the first copy
    X-Hub-Timestamp: <unix seconds>
    X-Hub-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>." + body)>

    {"batch_id": "...", "format": "cqxf-sales-facts/1", "facts": [
        {"id", "day" (Asia/Shanghai), "channel", "buyer_type", "organisation_id", "location_id",
         "product_id", "sku_id", "supplier_id", "category_id", "origin_district_id" (6-digit code),
         "origin_township_id", "deep_poverty", "eligible", "quantity", "amount_fen" (negative: a
         refund), "external_supplier", "external_product"}, ...]}

Any 2xx means received (a repeat of a batch the hub has answers 2xx too, or 409, which also counts
as received).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from shop.auth.actor import Actor
from shop.auth.models import Role
from shop.db import transaction
from shop.statistics.models import FeedBatch, FeedItem, FeedStatus, SalesFact
from shop.statistics.queries import SEES_ALL

FORMAT = "cqxf-sales-facts/1"
FIELDS = (
    "id",
    "channel",
    "buyer_type",
    "organisation_id",
    "location_id",
    "product_id",
    "sku_id",
    "supplier_id",
    "category_id",
    "origin_district_id",
    "origin_township_id",
    "deep_poverty",
    "eligible",
    "quantity",
    "amount_fen",
    "external_supplier",
    "external_product",
)
RETRYABLE_STATUSES = {408, 429}


@dataclass(frozen=True)
class HubSettings:
    url: str
    secret: str
    timeout: float = 10.0
    batch_size: int = 500
    max_attempts: int = 10
    backoff_seconds: int = 30
    backoff_max_seconds: int = 6 * 3600


def settings_from(config: dict) -> HubSettings | None:
    if not config.get("STATISTICS_HUB_URL"):
        return None
    return HubSettings(
        url=config["STATISTICS_HUB_URL"],
        secret=config.get("STATISTICS_HUB_SECRET", ""),
        timeout=float(config.get("STATISTICS_HUB_TIMEOUT", 10)),
    )


def _fact(row: SalesFact) -> dict:
    out = {name: getattr(row, name) for name in FIELDS}
    out["channel"], out["buyer_type"] = row.channel.value, row.buyer_type.value
    out["day"] = row.day.isoformat()
    return out


def enqueue_batches(session: Session, *, now: datetime, batch_size: int = 500, limit: int = 20) -> int:
    """Put facts not yet fed into new batches (at most `limit` of them); returns how many."""
    made = 0
    while made < limit:
        rows = list(
            session.scalars(
                sa.select(SalesFact)
                .outerjoin(FeedItem, FeedItem.fact_id == SalesFact.id)
                .where(FeedItem.fact_id.is_(None))
                .order_by(SalesFact.id)
                .limit(batch_size)
            )
        )
        if not rows:
            break
        batch_id = str(uuid.uuid4())
        body = json.dumps(
            {"batch_id": batch_id, "format": FORMAT, "facts": [_fact(r) for r in rows]},
            ensure_ascii=False,
            separators=(",", ":"),
            sort_keys=True,
        )
        batch = FeedBatch(batch_id=batch_id, fact_count=len(rows), body=body, next_attempt_at=now, created_at=now)
        session.add(batch)
        session.flush()
        session.execute(sa.insert(FeedItem), [{"fact_id": r.id, "batch_id": batch.id} for r in rows])
        made += 1
    session.flush()
    return made


def sign(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def _post(hub: HubSettings, batch: FeedBatch, now: datetime) -> tuple[bool, bool, str]:
    """(delivered, retry, note)."""
    body = batch.body.encode()
    timestamp = int(now.timestamp())
    request = urllib.request.Request(
        hub.url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json; charset=utf-8",
            "X-Hub-Batch-Id": batch.batch_id,
            "X-Hub-Timestamp": str(timestamp),
            "X-Hub-Signature": sign(hub.secret, timestamp, body),
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=hub.timeout) as response:
            return True, False, f"HTTP {response.status}"
    except urllib.error.HTTPError as error:
        if error.code == 409:
            return True, False, "HTTP 409: already received"
        return False, error.code >= 500 or error.code in RETRYABLE_STATUSES, f"HTTP {error.code}"
    except (TimeoutError, urllib.error.URLError, OSError) as error:
        return False, True, f"{type(error).__name__}: {error}"[:500]


def backoff(hub: HubSettings, attempts: int) -> timedelta:
    return timedelta(seconds=min(hub.backoff_max_seconds, hub.backoff_seconds * 2 ** max(0, attempts - 1)))


def deliver_due(session: Session, hub: HubSettings, *, now: datetime, limit: int = 20) -> dict:
    """Post pending batches in order while they are due; each outcome is recorded on the batch. The
    hub receives batches in the order they were made: a batch waiting for its retry holds the rest."""
    due = list(
        session.scalars(
            sa.select(FeedBatch)
            .where(FeedBatch.status == FeedStatus.PENDING)
            .order_by(FeedBatch.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )
    outcome = {"sent": 0, "retrying": 0, "failed": 0}
    for batch in due:
        if batch.next_attempt_at > now:
            break
        delivered, retry, note = _post(hub, batch, now)
        batch.attempts += 1
        if delivered:
            batch.status, batch.sent_at, batch.last_error = FeedStatus.SENT, now, None
            outcome["sent"] += 1
        elif retry and batch.attempts < hub.max_attempts:
            batch.next_attempt_at = now + backoff(hub, batch.attempts)
            batch.last_error = note
            outcome["retrying"] += 1
        else:
            batch.status, batch.last_error = FeedStatus.FAILED, note
            outcome["failed"] += 1
        session.flush()
        if not delivered:
            break  # the hub is unwell: the rest waits for the next round, in order
    return outcome


def retry_failed(session: Session, actor: Actor, *, now: datetime) -> int:
    actor.require(*[r for r in SEES_ALL if r != Role.REGULATOR])
    result = session.execute(
        sa.update(FeedBatch)
        .where(FeedBatch.status == FeedStatus.FAILED)
        .values(status=FeedStatus.PENDING, next_attempt_at=now, attempts=0)
    )
    return result.rowcount


def status(session: Session, actor: Actor) -> dict:
    """The feed at a glance: batches per status, facts waiting, the oldest pending and the failed."""
    actor.require(*SEES_ALL)
    counts = dict(session.execute(sa.select(FeedBatch.status, sa.func.count()).group_by(FeedBatch.status)).all())
    unfed = session.scalar(
        sa.select(sa.func.count())
        .select_from(SalesFact)
        .outerjoin(FeedItem, FeedItem.fact_id == SalesFact.id)
        .where(FeedItem.fact_id.is_(None))
    )
    waiting = list(
        session.scalars(
            sa.select(FeedBatch).where(FeedBatch.status != FeedStatus.SENT).order_by(FeedBatch.id).limit(50)
        )
    )
    last_sent = session.scalar(sa.select(sa.func.max(FeedBatch.sent_at)))
    return {
        "batches": {s.value: int(counts.get(s, 0)) for s in FeedStatus},
        "facts_not_batched": int(unfed or 0),
        "last_sent_at": last_sent,
        "waiting": waiting,
    }


def run(factory, hub: HubSettings, now: datetime) -> dict:
    """One round: new batches in one transaction, then the deliveries in another."""
    with transaction(factory, write=True) as session:
        made = enqueue_batches(session, now=now, batch_size=hub.batch_size)
    with transaction(factory, write=True) as session:
        outcome = deliver_due(session, hub, now=now)
    return {"batched": made, **outcome}
