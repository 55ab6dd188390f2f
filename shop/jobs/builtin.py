"""The duties the worker runs on a schedule; each calls the same service functions as its CLI
command, in batches of one transaction each, and is safe to run twice."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from shop import clock
from shop.db import transaction
from shop.jobs.models import Alert
from shop.jobs.registry import JobContext, register
from shop.observability import metrics


@register("noop")
def noop(ctx: JobContext, **_kwargs):
    """Does nothing: measures the queue itself."""
    return None


@register("search.sync", period=60)
def search_sync(ctx: JobContext, **_kwargs):
    """Apply the search outbox to the engine (also enqueued after each commit that wrote to it)."""
    import search

    report = search.extension(ctx.app).drain()
    return {"applied": report.applied, "remaining": report.remaining, "state": report.error or report.skipped}


def _batches(ctx: JobContext, step, limit: int) -> int:
    total = 0
    while True:
        with transaction(ctx.factory, write=True) as session:
            done = step(session, limit)
        total += done
        if done < limit:
            return total


@register("orders.expire", period=60)
def orders_expire(ctx: JobContext, order_ids: list[int] | None = None, **_kwargs):
    """Cancel unpaid orders past their time, releasing stock, coupons and points."""
    from shop.orders import service

    return _batches(ctx, lambda s, n: service.expire_due(s, clock.now(), order_ids=order_ids, limit=n), 200)


@register("vouchers.expire", period=300)
def vouchers_expire(ctx: JobContext, voucher_ids: list[int] | None = None, **_kwargs):
    """Expire vouchers past their date; unredeemed value goes back to budgets where configured."""
    from shop.procurement import vouchers

    return _batches(ctx, lambda s, n: vouchers.expire_due(s, clock.now(), voucher_ids=voucher_ids, limit=n), 500)


@register("points.expire", period=86400)
def points_expire(ctx: JobContext, user_ids: list[int] | None = None, **_kwargs):
    """Expire points earned more than POINTS_EXPIRE_DAYS ago and not spent since."""
    from shop.points import service

    days = ctx.app.extensions["shop"]["settings"].points_expire_days
    return _batches(
        ctx, lambda s, n: service.expire_due(s, clock.now(), expire_days=days, user_ids=user_ids, limit=n), 500
    )


@register("payments.reconcile", period=600)
def payments_reconcile(ctx: JobContext, **_kwargs):
    """Ask Stripe about attempts pending for a while (a lost webhook), each in its own transaction."""
    from payments import payables

    if not ctx.config["STRIPE_SECRET_KEY"]:
        return "stripe not configured"
    registry = ctx.app.extensions["payments"]
    before = clock.now() - timedelta(minutes=ctx.config["PAYMENTS_RECONCILE_AFTER_MINUTES"])
    outcomes, failed = payables.reconcile_pending(
        ctx.factory, payments=registry, pending_before=before, limit=500, clock=clock
    )
    for _payment_id, error in failed:
        outcomes[f"error:{error.code}"] = outcomes.get(f"error:{error.code}", 0) + 1
    return outcomes


def _system_actor():
    from shop.auth.actor import Actor
    from shop.auth.models import Role

    return Actor(user_id=0, grants=frozenset({(Role.ADMIN, 0)}))


def record_alerts(session, kind: str, found: dict[str, tuple[str, dict]], on_open=None) -> dict[str, int]:
    """Open (or keep open) one alert per subject found; close this kind's alerts not found again.
    `on_open(message, details)` is called, in this transaction, for each alert that opens now."""
    now = clock.now()
    existing = {a.subject: a for a in session.scalars(sa.select(Alert).where(Alert.kind == kind))}
    opened = 0
    for subject, (message, details) in found.items():
        alert = existing.get(subject)
        if alert is None:
            session.add(
                Alert(
                    kind=kind,
                    subject=subject,
                    message=message[:500],
                    details=details,
                    first_seen_at=now,
                    last_seen_at=now,
                )
            )
            opened += 1
            if on_open is not None:
                on_open(message, details)
        else:
            if alert.resolved_at is not None:
                alert.first_seen_at, alert.resolved_at = now, None
                opened += 1
                if on_open is not None:
                    on_open(message, details)
            alert.message, alert.details, alert.last_seen_at = message[:500], details, now
    resolved = 0
    for subject, alert in existing.items():
        if subject not in found and alert.resolved_at is None:
            alert.resolved_at = now
            resolved += 1
    session.flush()
    return {"open": len(found), "opened": opened, "resolved": resolved}


def _all_pages(fetch, size: int = 500) -> list[dict]:
    items, page = [], 1
    while True:
        rows, total = fetch(page, size)
        items.extend(rows)
        if page * size >= total or not rows:
            return items
        page += 1


@register("alerts.low_stock", period=900)
def low_stock_alerts(ctx: JobContext, **_kwargs):
    """Open an alert for each SKU at or below its low-stock threshold somewhere; close the rest."""
    from shop.inventory import stock
    from shop.notifications import events

    cfg = ctx.config
    with transaction(ctx.factory, write=True) as session:
        rows = _all_pages(
            lambda page, size: stock.low_stock(
                session,
                _system_actor(),
                location_id=None,
                now=clock.now(),
                window_days=cfg["INVENTORY_VELOCITY_WINDOW_DAYS"],
                cover_days=cfg["INVENTORY_RESTOCK_COVER_DAYS"],
                page=page,
                size=size,
            )
        )
        found = {
            f"location:{row['location_id']}:sku:{row['sku'].id}": (
                f"{row['product_name']}: {row['sellable']} sellable at location {row['location_id']}, "
                f"threshold {row['low_stock_threshold']}",
                {
                    "location_id": row["location_id"],
                    "sku_id": row["sku"].id,
                    "sellable": row["sellable"],
                    "threshold": row["low_stock_threshold"],
                    "suggested_restock": row["suggested_restock"],
                },
            )
            for row in rows
        }
        return record_alerts(
            session,
            "low_stock",
            found,
            on_open=lambda message, details: events.low_stock(
                session,
                location_id=details["location_id"],
                sku_id=details["sku_id"],
                message=message,
                details=details,
                now=clock.now(),
            ),
        )


@register("alerts.stale_counters", period=300)
def stale_counter_alerts(ctx: JobContext, **_kwargs):
    """Open an alert for each smart counter silent past the heartbeat timeout; close the rest."""
    from shop.inventory import devices

    timeout = ctx.config["INVENTORY_HEARTBEAT_TIMEOUT_SECONDS"]
    with transaction(ctx.factory, write=True) as session:
        rows = _all_pages(
            lambda page, size: devices.stale_counters(
                session, _system_actor(), now=clock.now(), timeout_seconds=timeout, page=page, size=size
            )
        )
        found = {
            f"location:{row['location'].id}": (
                f"counter {row['location'].name} silent"
                + (f" for {row['silent_seconds']} s" if row["silent_seconds"] is not None else ", never heard from"),
                {"location_id": row["location"].id, "silent_seconds": row["silent_seconds"]},
            )
            for row in rows
        }
        return record_alerts(session, "stale_counter", found)


@register("checks.ledgers", period=86400)
def ledger_checks(ctx: JobContext, **_kwargs):
    """Rebuild stock, points and budget balances from their ledgers; alert on any difference."""
    from shop.inventory.ledger import check_balances
    from shop.points import service as points
    from shop.procurement import budgets

    results = {}
    with transaction(ctx.factory) as session:
        drifts = {"stock": check_balances(session), "points": points.check(session), "budgets": budgets.check(session)}
    with transaction(ctx.factory, write=True) as session:
        found = {}
        for ledger, rows in drifts.items():
            metrics.LEDGER_CHECKS.labels(ledger, "drift" if rows else "ok").inc()
            metrics.LEDGER_DRIFT.labels(ledger).set(len(rows))
            results[ledger] = len(rows)
            if rows:
                found[ledger] = (f"{len(rows)} {ledger} balance(s) differ from the ledger", {"rows": len(rows)})
        record_alerts(session, "ledger_drift", found)
    return results


@register("statistics.feed", period=60)
def statistics_feed(ctx: JobContext, **_kwargs):
    """Batch new sales facts for the national monitoring hub and deliver the batches that are due."""
    from shop.statistics import feed

    hub = feed.settings_from(ctx.config)
    return feed.run(ctx.factory, hub, clock.now()) if hub else {"skipped": "STATISTICS_HUB_URL is not set"}


@register("statistics.rollups", period=60)
def statistics_rollups(ctx: JobContext, **_kwargs):
    """Fold the sales facts written since the last run into the rollups the grouped queries read."""
    from shop.statistics import rollups

    return rollups.refresh(ctx.factory, clock.now())


@register("notifications.deliver", period=60)
def notifications_deliver(ctx: JobContext, delivery_ids: list[int] | None = None, **_kwargs):
    """Send notifications beyond the inbox (WeChat, SMS) that are due, first tries and retries alike."""
    from shop.notifications import delivery

    settings = ctx.app.extensions["shop"]["settings"].notifications
    return _batches(
        ctx,
        lambda s, n: sum(
            delivery.deliver_due(s, settings, now=clock.now(), delivery_ids=delivery_ids, limit=n).values()
        ),
        100,
    )


@register("monitoring.risk", period=3600)
def monitoring_risk(ctx: JobContext, **_kwargs):
    """Assess the risk of every declared product going unsold; record level changes."""
    from shop.monitoring import assessments

    outcome = assessments.assess_all(ctx.factory, ctx.app.extensions["shop"]["settings"].risk, clock.now())
    return {"assessed": outcome.assessed, "changed_levels": outcome.changed_levels}


@register("monitoring.campaigns", period=300)
def monitoring_campaigns(ctx: JobContext, **_kwargs):
    """Close absorption campaigns past their date or whose target is met."""
    from shop.monitoring import campaigns

    with transaction(ctx.factory, write=True) as session:
        return campaigns.close_due(session, clock.now())


@register("monitoring.cold_chain", period=60)
def monitoring_cold_chain(ctx: JobContext, **_kwargs):
    """Open cold-chain incidents for counters out of range too long whose heartbeats stopped since."""
    from shop.monitoring import cold_chain

    minutes = ctx.app.extensions["shop"]["settings"].cold_chain_excursion_minutes
    with transaction(ctx.factory, write=True) as session:
        return {"opened": cold_chain.raise_due(session, now=clock.now(), excursion_minutes=minutes)}
