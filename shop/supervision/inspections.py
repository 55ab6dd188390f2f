"""Quality spot checks (抽检). A failed batch is frozen at every location (no picking, no
availability), the product's certification suspended, and the orders that took units of the batch
listed for recall with a notice in their events."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session, joinedload, selectinload

from shop.auth.actor import Actor
from shop.auth.models import Role
from shop.catalog.models import Product
from shop.certification.models import Certification, CertStatus
from shop.errors import InvalidInput, NotFound
from shop.inventory import ledger
from shop.inventory.models import Batch, BatchLevel, Movement, Reservation
from shop.orders.models import Order, OrderEvent, OrderStatus
from shop.paging import paginate
from shop.supervision.models import Inspection, InspectionResult, Recall, SanctionKind
from shop.supervision.service import district_scope, impose_sanction, is_supervisor


def _freeze(session: Session, batch: Batch, now: datetime) -> None:
    """Freeze with the SKU's stock level locked at every location holding the batch (location order,
    as every stock change locks them), so a checkout picking at the same time either finished before
    (and its order is recalled) or sees the batch frozen."""
    locations = session.scalars(
        sa.select(BatchLevel.location_id).where(BatchLevel.batch_id == batch.id).order_by(BatchLevel.location_id)
    ).all()
    for location_id in locations:
        ledger.lock_levels(session, location_id, [batch.sku_id])
    batch.frozen_at = now


def _recall(session: Session, inspection: Inspection, batch: Batch, actor: Actor, now: datetime) -> None:
    reserved = sa.func.sum(sa.case((Movement.reserved_delta > 0, Movement.reserved_delta), else_=0))
    rows = session.execute(
        sa.select(Reservation.reference, reserved)
        .join(Reservation, Reservation.id == Movement.reservation_id)
        .where(Movement.batch_id == batch.id)
        .group_by(Reservation.reference)
    ).all()
    units_by_order: dict[int, int] = {}
    for reference, units in rows:
        parts = reference.split(":")
        if parts[0] == "order" and parts[1].isdigit() and units:
            order_id = int(parts[1])
            units_by_order[order_id] = units_by_order.get(order_id, 0) + units
    if not units_by_order:
        return
    orders = session.scalars(
        sa.select(Order)
        .where(Order.id.in_(sorted(units_by_order)), Order.status != OrderStatus.CANCELLED)
        .order_by(Order.id)
        .with_for_update()
    ).all()
    for order in orders:
        inspection.recalls.append(Recall(order_id=order.id, units=units_by_order[order.id]))
        # A notice, not a move: the order keeps its state.
        order.events.append(
            OrderEvent(
                from_status=order.status,
                to_status=order.status,
                actor_id=actor.user_id,
                at=now,
                note=f"recall: batch {batch.trace_code} failed spot check {inspection.id}",
            )
        )


def record_inspection(session: Session, actor: Actor, *, data: dict, now: datetime) -> Inspection:
    actor.require(Role.REGULATOR)
    if bool(data.get("trace_code")) == bool(data.get("product_id")):
        raise InvalidInput("Name a batch or a product.", fields={"trace_code": ["One of trace_code, product_id."]})
    batch = None
    if data.get("trace_code"):
        batch = session.scalar(
            sa.select(Batch).options(joinedload(Batch.sku)).where(Batch.trace_code == data["trace_code"])
        )
        if batch is None:
            raise NotFound("No batch has this trace code.")
        product_id = batch.sku.product_id
    else:
        product_id = data["product_id"]
    # The product's row first: a checkout takes a key-share lock on it (its order lines) before it locks
    # the stock levels, and this transaction locks the product again when it commits (the search rows
    # of a suspended product); taking it before the levels keeps the two from deadlocking.
    product = session.scalar(sa.select(Product).where(Product.id == product_id).with_for_update())
    if product is None:
        raise NotFound("No such product.")
    inspection = Inspection(
        product_id=product.id,
        batch_id=batch.id if batch else None,
        district_id=product.origin_district_id,
        result=data["result"],
        report_url=data["report_url"],
        report_sha256=data["report_sha256"].lower(),
        notes=data.get("notes") or "",
        inspected_at=data.get("inspected_at") or now,
        recorded_by_id=actor.user_id,
    )
    session.add(inspection)
    session.flush()
    if inspection.result == InspectionResult.FAILED:
        if batch is not None:
            _freeze(session, batch, now)
            _recall(session, inspection, batch, actor, now)
        cert = session.scalar(
            sa.select(Certification)
            .where(Certification.product_id == product.id, Certification.status == CertStatus.PUBLISHED)
            .order_by(Certification.id.desc())
            .limit(1)
        )
        if cert is not None:
            sanction = impose_sanction(
                session,
                actor,
                supplier_id=product.supplier_id,
                kind=SanctionKind.SUSPENSION,
                certification_id=cert.id,
                reason=f"spot check {inspection.id} failed",
                now=now,
            )
            inspection.sanction_id = sanction.id
    session.flush()
    return inspection


def _scope(actor: Actor):
    districts = district_scope(actor)
    if districts is not None:
        return Inspection.district_id.in_(districts)
    return None


def get_inspection(session: Session, actor: Actor, inspection_id: int) -> Inspection:
    if not (is_supervisor(actor) or actor.has(Role.CERTIFIER)):
        raise NotFound("No such inspection.")
    stmt = sa.select(Inspection).options(selectinload(Inspection.recalls)).where(Inspection.id == inspection_id)
    scope = _scope(actor)
    if scope is not None:
        stmt = stmt.where(scope)
    inspection = session.scalar(stmt)
    if inspection is None:
        raise NotFound("No such inspection.")
    return inspection


def list_inspections(session: Session, actor: Actor, *, filters: dict, page: int, size: int):
    if not (is_supervisor(actor) or actor.has(Role.CERTIFIER)):
        return [], 0
    stmt = sa.select(Inspection).options(selectinload(Inspection.recalls))
    scope = _scope(actor)
    if scope is not None:
        stmt = stmt.where(scope)
    for key in ("result", "product_id", "district_id"):
        if filters.get(key) is not None:
            stmt = stmt.where(getattr(Inspection, key) == filters[key])
    return paginate(session, stmt, order_by=Inspection.id.desc(), page=page, size=size)


def trace_code_of(session: Session, batch_id: int | None) -> str | None:
    return None if batch_id is None else session.scalar(sa.select(Batch.trace_code).where(Batch.id == batch_id))
