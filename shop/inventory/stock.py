"""Stock views: stock and batches at a location, its movements, low-stock thresholds and the
low-stock report; and the public answers: where a product is available, what a trace code tells."""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session, joinedload

from shop.auth.actor import Actor
from shop.catalog.models import Product, Sku
from shop.certification.models import Certification
from shop.certification.query import current_certifications, product_in_force
from shop.errors import NotFound
from shop.inventory import ledger
from shop.inventory.ledger import BATCH_LEVELS, LEVELS
from shop.inventory.locations import get_location, is_open, require_operator, scope_clause
from shop.inventory.models import (
    Batch,
    BatchLevel,
    Location,
    LocationKind,
    Movement,
    MovementKind,
    StockLevel,
    Transfer,
    TransferLine,
    TransferStatus,
    china_today,
    sellable_level,
    sellable_units,
)
from shop.paging import paginate
from shop.supervision.inspections_query import inspections_of_batch


def _rows_page(session: Session, stmt: sa.Select, *, key, order_by: list, page: int, size: int, count=None):
    """One page of `stmt` and the number of its rows, counted on its `key` column alone (or by the
    `count` statement given): the figures of the select list (correlated sums per row) are computed
    for the page's rows only."""
    if count is None:
        counted = stmt.with_only_columns(key, maintain_column_froms=True).order_by(None).subquery()
        count = sa.select(sa.func.count()).select_from(counted)
    total = session.scalar(count) or 0
    rows = session.execute(stmt.order_by(*order_by).limit(size).offset((page - 1) * size)).all()
    return rows, total


def _sellable(today: date) -> sa.ScalarSelect:
    """Units available (on hand, not reserved) in unexpired batches of the level's SKU and location."""
    b = BATCH_LEVELS
    return (
        sa.select(sa.func.coalesce(sa.func.sum(b.c.on_hand - b.c.reserved), 0))
        .where(
            b.c.location_id == LEVELS.c.location_id,
            b.c.sku_id == LEVELS.c.sku_id,
            b.c.best_before >= today,
            sellable_level(b),
        )
        .scalar_subquery()
    )


def _expired(today: date) -> sa.ScalarSelect:
    b = BATCH_LEVELS
    return (
        sa.select(sa.func.coalesce(sa.func.sum(b.c.on_hand), 0))
        .where(b.c.location_id == LEVELS.c.location_id, b.c.sku_id == LEVELS.c.sku_id, b.c.best_before < today)
        .scalar_subquery()
    )


def _stock_select(today: date) -> sa.Select:
    sellable = _sellable(today).label("sellable")
    expired = _expired(today).label("expired")
    return (
        sa.select(StockLevel, Sku, Product.name.label("product_name"), sellable, expired)
        .join(Sku, Sku.id == StockLevel.sku_id)
        .join(Product, Product.id == Sku.product_id)
    )


def _stock_row(level: StockLevel, sku: Sku, product_name: str, sellable: int, expired: int) -> dict:
    threshold = level.low_stock_threshold
    return {
        "location_id": level.location_id,
        "sku": sku,
        "product_id": sku.product_id,
        "product_name": product_name,
        "on_hand": level.on_hand,
        "reserved": level.reserved,
        "available": level.on_hand - level.reserved,
        "sellable": sellable,
        "expired": expired,
        "low_stock_threshold": threshold,
        "low": threshold > 0 and sellable <= threshold,
    }


def _low(today: date):
    return sa.and_(StockLevel.low_stock_threshold > 0, _sellable(today) <= StockLevel.low_stock_threshold)


def list_stock(session: Session, actor: Actor, location_id: int, *, filters: dict, now: datetime, page, size):
    get_location(session, actor, location_id)
    today = china_today(now)
    # the count reads the stock levels alone (a level's SKU and product always exist)
    count = sa.select(sa.func.count()).select_from(StockLevel)
    conditions = [StockLevel.location_id == location_id]
    if filters.get("sku_id") is not None:
        conditions.append(StockLevel.sku_id == filters["sku_id"])
    if filters.get("product_id") is not None:
        conditions.append(Sku.product_id == filters["product_id"])
        count = count.join(Sku, Sku.id == StockLevel.sku_id)
    if filters.get("low"):
        conditions.append(_low(today))
    if filters.get("in_stock"):
        conditions.append(StockLevel.on_hand > 0)
    rows, total = _rows_page(
        session,
        _stock_select(today).where(*conditions),
        key=StockLevel.sku_id,
        order_by=[StockLevel.sku_id],
        page=page,
        size=size,
        count=count.where(*conditions),
    )
    return [_stock_row(*row) for row in rows], total


def stock_rows(session: Session, location_id: int, sku_ids: list[int], now: datetime) -> list[dict]:
    """The stock rows of some SKUs at a location, as the stock list shows them."""
    if not sku_ids:
        return []
    rows = session.execute(
        _stock_select(china_today(now))
        .where(StockLevel.location_id == location_id, StockLevel.sku_id.in_(sorted(set(sku_ids))))
        .order_by(StockLevel.sku_id)
    ).all()
    return [_stock_row(*row) for row in rows]


def list_batches(session: Session, actor: Actor, location_id: int, *, filters: dict, now: datetime, page, size):
    get_location(session, actor, location_id)
    today = china_today(now)
    stmt = (
        sa.select(BatchLevel, Batch, Sku)
        .join(Batch, Batch.id == BatchLevel.batch_id)
        .join(Sku, Sku.id == BatchLevel.sku_id)
        .where(BatchLevel.location_id == location_id)
    )
    if filters.get("sku_id") is not None:
        stmt = stmt.where(BatchLevel.sku_id == filters["sku_id"])
    if filters.get("expired") is not None:
        stmt = stmt.where(BatchLevel.best_before < today if filters["expired"] else BatchLevel.best_before >= today)
    if not filters.get("include_empty"):
        stmt = stmt.where(BatchLevel.on_hand > 0)
    if filters.get("best_before_until") is not None:
        stmt = stmt.where(BatchLevel.best_before <= filters["best_before_until"])
    rows, total = _rows_page(
        session,
        stmt,
        key=BatchLevel.batch_id,
        order_by=[BatchLevel.sku_id, BatchLevel.best_before, BatchLevel.batch_id],
        page=page,
        size=size,
    )
    return [
        {
            "batch_id": batch.id,
            "trace_code": batch.trace_code,
            "sku": sku,
            "produced_on": batch.produced_on,
            "best_before": batch.best_before,
            "expired": batch.best_before < today,
            "on_hand": level.on_hand,
            "reserved": level.reserved,
            "available": level.on_hand - level.reserved,
        }
        for level, batch, sku in rows
    ], total


def list_movements(session: Session, actor: Actor, location_id: int, *, filters: dict, page: int, size: int):
    get_location(session, actor, location_id)
    stmt = (
        sa.select(Movement)
        .options(joinedload(Movement.sku), joinedload(Movement.batch))
        .where(Movement.location_id == location_id)
    )
    for key in ("kind", "sku_id", "transfer_id"):
        if filters.get(key) is not None:
            stmt = stmt.where(getattr(Movement, key) == filters[key])
    if filters.get("trace_code"):
        stmt = stmt.where(Movement.batch_id.in_(sa.select(Batch.id).where(Batch.trace_code == filters["trace_code"])))
    if filters.get("since") is not None:
        stmt = stmt.where(Movement.created_at >= filters["since"])
    if filters.get("until") is not None:
        stmt = stmt.where(Movement.created_at < filters["until"])
    return paginate(session, stmt, order_by=Movement.id.desc(), page=page, size=size)


def set_threshold(session: Session, actor: Actor, location_id: int, sku_id: int, threshold: int, now: datetime):
    get_location(session, actor, location_id)
    if session.get(Sku, sku_id) is None:
        raise NotFound("No such SKU.")
    ledger.insert_ignore(
        session,
        LEVELS,
        [{"location_id": location_id, "sku_id": sku_id, "on_hand": 0, "reserved": 0, "low_stock_threshold": 0}],
        ["location_id", "sku_id"],
    )
    session.execute(
        LEVELS.update()
        .where(LEVELS.c.location_id == location_id, LEVELS.c.sku_id == sku_id)
        .values(low_stock_threshold=threshold)
    )
    return stock_rows(session, location_id, [sku_id], now)[0]


def low_stock(
    session: Session,
    actor: Actor,
    *,
    location_id: int | None,
    now: datetime,
    window_days: int,
    cover_days: int,
    page: int,
    size: int,
):
    """SKUs at or below their threshold at the locations the actor runs, with a restock suggestion:
    enough for `cover_days` at the sales velocity of the last `window_days`, plus the threshold,
    less what is sellable and what is in transit towards the location."""
    require_operator(actor)
    if location_id is not None:
        get_location(session, actor, location_id)
    today = china_today(now)
    since = now - timedelta(days=window_days)
    sold = (
        sa.select(sa.func.coalesce(-sa.func.sum(Movement.on_hand_delta), 0))
        .where(
            Movement.location_id == StockLevel.location_id,
            Movement.sku_id == StockLevel.sku_id,
            Movement.kind == MovementKind.SALE,
            Movement.created_at >= since,
        )
        .scalar_subquery()
        .label("sold")
    )
    inbound = (
        sa.select(sa.func.coalesce(sa.func.sum(TransferLine.quantity_sent), 0))
        .join(Transfer, Transfer.id == TransferLine.transfer_id)
        .where(
            Transfer.to_location_id == StockLevel.location_id,
            Transfer.status == TransferStatus.IN_TRANSIT,
            TransferLine.sku_id == StockLevel.sku_id,
        )
        .scalar_subquery()
        .label("inbound")
    )
    stmt = (
        _stock_select(today)
        .add_columns(sold, inbound, Location)
        .join(Location, Location.id == StockLevel.location_id)
        .where(_low(today), Location.is_active)
    )
    scope = scope_clause(actor)
    if scope is not None:
        stmt = stmt.where(scope)
    if location_id is not None:
        stmt = stmt.where(StockLevel.location_id == location_id)
    rows, total = _rows_page(
        session,
        stmt,
        key=StockLevel.sku_id,
        order_by=[StockLevel.location_id, StockLevel.sku_id],
        page=page,
        size=size,
    )
    items = []
    for level, sku, product_name, sellable, expired, sold_units, inbound_units, location in rows:
        row = _stock_row(level, sku, product_name, sellable, expired)
        velocity = sold_units / window_days
        target = level.low_stock_threshold + math.ceil(velocity * cover_days)
        row.update(
            location=location,
            sold_in_window=sold_units,
            window_days=window_days,
            daily_velocity=round(velocity, 2),
            in_transit=inbound_units,
            cover_days=cover_days,
            suggested_restock=max(target - sellable - inbound_units, 0),
        )
        items.append(row)
    return items, total


def product_availability(
    session: Session, product_id: int, *, district_id: int | None, now: datetime, page: int, size: int
):
    """Where a product in force can be picked up now: active halls, counters and zones with units of
    its active SKUs available in unexpired batches."""
    product = session.scalar(sa.select(Product).where(Product.id == product_id, product_in_force(Product.id, now)))
    if product is None:
        raise NotFound("No such product, or it is not certified now.")
    today = china_today(now)
    b = BATCH_LEVELS
    stocked = (
        sa.select(b.c.location_id, b.c.sku_id, sa.func.sum(b.c.on_hand - b.c.reserved).label("available"))
        .join(Sku, Sku.id == b.c.sku_id)
        .where(
            Sku.product_id == product_id,
            Sku.is_active,
            sellable_units(b, today),
        )
        .group_by(b.c.location_id, b.c.sku_id)
    )
    holding = sa.select(stocked.subquery().c.location_id)
    stmt = (
        sa.select(Location)
        .options(joinedload(Location.district))
        .where(Location.id.in_(holding), Location.is_active, Location.kind != LocationKind.CENTRE)
    )
    if district_id is not None:
        stmt = stmt.where(Location.district_id == district_id)
    locations, total = paginate(session, stmt, order_by=[Location.district_id, Location.id], page=page, size=size)
    per_location: dict[int, list] = defaultdict(list)
    if locations:
        rows = session.execute(
            stocked.add_columns(Sku)
            .where(b.c.location_id.in_([loc.id for loc in locations]))
            .group_by(Sku.id)
            .order_by(b.c.location_id, b.c.sku_id)
        ).all()
        for location_id, _sku_id, available, sku in rows:
            per_location[location_id].append({"sku": sku, "available": available})
    return [
        {"location": loc, "open_now": is_open(loc.opening_hours, now), "skus": per_location[loc.id]}
        for loc in locations
    ], total


def trace_batch(session: Session, trace_code: str, now: datetime) -> dict:
    """What a buyer learns from the trace code on a package: producer, origin, dates, certification."""
    batch = session.scalar(
        sa.select(Batch)
        .options(
            joinedload(Batch.sku).joinedload(Sku.product).joinedload(Product.supplier),
            joinedload(Batch.sku).joinedload(Sku.product).joinedload(Product.origin_district),
            joinedload(Batch.sku).joinedload(Sku.product).joinedload(Product.origin_township),
            joinedload(Batch.sku).joinedload(Sku.product).selectinload(Product.labels),
        )
        .where(Batch.trace_code == trace_code)
    )
    if batch is None:
        raise NotFound("No batch has this trace code.")
    product = batch.sku.product
    cert = current_certifications(session, [product.id], now).get(product.id)
    if cert is None:  # not in force now: the latest one ever announced, so the buyer sees why
        cert = session.scalar(
            sa.select(Certification)
            .where(Certification.product_id == product.id, Certification.valid_from.is_not(None))
            .order_by(Certification.valid_until.desc(), Certification.id.desc())
            .limit(1)
        )
    return {
        "trace_code": batch.trace_code,
        "produced_on": batch.produced_on,
        "best_before": batch.best_before,
        "expired": batch.expired(now),
        "sku": batch.sku,
        "product": product,
        "producer": product.supplier,
        "origin_district": product.origin_district,
        "origin_township": product.origin_township,
        "labels": product.labels,
        "frozen": batch.frozen_at is not None,
        "inspections": inspections_of_batch(session, batch),
        "certification": None
        if cert is None
        else {
            "certificate_no": cert.certificate_no,
            "valid_from": cert.valid_from,
            "valid_until": cert.valid_until,
            "status": cert.effective_status(now),
            "in_force": cert.effective_status(now) == "in_force",
        },
    }
