"""Which events post which notifications, to whom.

State moves are heard in one place, the transition helper (`shop.transitions.listen`): every move of
an order, after-sales request, complaint or certification, by whatever path (the API, a webhook, a
reconciliation, a deadline job, a supervisory refund), posts in its own transaction, once per move. A
retried request that replays its first result (Idempotency-Key) moves nothing, so posts nothing; a
move refused or rolled back posts nothing either. Events that are not moves (a new after-sales
request, a low-stock alert, a risk level rising to a warning, a campaign allocation, a cold-chain
incident) call `notify` where they happen."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session, object_session

from shop import transitions
from shop.auth.models import Role, RoleGrant
from shop.certification.models import Certification, CertStatus
from shop.inventory.models import Location
from shop.notifications.models import NotificationKind as K
from shop.notifications.service import notify
from shop.orders.models import Fulfilment, Order, OrderStatus
from shop.supervision.models import AfterSalesRequest, AfterSalesStatus, Complaint, ComplaintStatus


def supplier_members(session: Session, supplier_id: int | None) -> list[int]:
    if supplier_id is None:
        return []
    return list(
        session.scalars(
            sa.select(RoleGrant.user_id).where(
                RoleGrant.role == Role.SUPPLIER_MEMBER, RoleGrant.scope_id == supplier_id
            )
        )
    )


def location_operators(session: Session, location_id: int) -> list[int]:
    """The hall operators whose scope holds the location (its own, or a hall or centre above it)."""
    path = session.scalar(sa.select(Location.path).where(Location.id == location_id)) or ""
    scopes = [int(part) for part in path.split("/") if part]
    if not scopes:
        return []
    return list(
        session.scalars(
            sa.select(RoleGrant.user_id).where(RoleGrant.role == Role.HALL_OPERATOR, RoleGrant.scope_id.in_(scopes))
        )
    )


def _yuan(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


# --- moves -------------------------------------------------------------------------------------


def _order(session: Session, order: Order, target, reason: str, at: datetime) -> None:
    data = {"order_id": order.id, "order_number": order.number, "status": target.value}
    if target == OrderStatus.PAID:
        then = (
            "we will tell you when it is ready to pick up" if order.fulfilment == Fulfilment.PICKUP else "it ships soon"
        )
        notify(
            session, [order.buyer_id], K.ORDER_PAID, title=f"Order {order.number} is paid", body=then, data=data, now=at
        )
    elif target == OrderStatus.READY_FOR_PICKUP:
        notify(
            session,
            [order.buyer_id],
            K.ORDER_READY_FOR_PICKUP,
            title=f"Order {order.number} is ready to pick up",
            body="Show your pick-up code at the counter.",
            data=data,
            now=at,
        )
    elif target == OrderStatus.SHIPPED:
        notify(
            session,
            [order.buyer_id],
            K.ORDER_SHIPPED,
            title=f"Order {order.number} has shipped",
            body=f"Tracking number {reason}" if reason else "",
            data={**data, "tracking_number": reason or None},
            now=at,
        )
    elif target in (OrderStatus.REFUNDED, OrderStatus.PARTIALLY_REFUNDED):
        notify(
            session,
            [order.buyer_id],
            K.ORDER_REFUNDED,
            title=f"Order {order.number}: refund made",
            body=f"{_yuan(order.refunded_fen)} yuan refunded in all of {_yuan(order.paid_fen)} paid.",
            data={**data, "refunded_fen": order.refunded_fen},
            now=at,
        )


def _after_sales(session: Session, request: AfterSalesRequest, target, reason: str, at: datetime) -> None:
    data = {"after_sales_id": request.id, "order_id": request.order_id, "status": target.value}
    if target in (AfterSalesStatus.ACCEPTED, AfterSalesStatus.REJECTED):
        verb = "accepted: the refund is made" if target == AfterSalesStatus.ACCEPTED else "rejected"
        notify(
            session,
            [request.buyer_id],
            K.AFTER_SALES_DECIDED,
            title=f"After-sales request {request.id} {verb}",
            body=reason or "",
            data=data,
            now=at,
        )
    elif target == AfterSalesStatus.ESCALATED:
        notify(
            session,
            supplier_members(session, request.supplier_id),
            K.AFTER_SALES_ESCALATED,
            title=f"After-sales request {request.id} was taken to a complaint",
            body=(reason or "")[:1000],
            data=data,
            now=at,
        )


def _complaint(session: Session, complaint: Complaint, target, reason: str, at: datetime) -> None:
    data = {"complaint_id": complaint.id, "status": target.value}
    notify(
        session,
        [complaint.complainant_id],
        K.COMPLAINT_UPDATED,
        title=f"Complaint {complaint.id}: {target.value.replace('_', ' ')}",
        body=reason or "",
        data=data,
        now=at,
    )
    if target == ComplaintStatus.AWAITING_SUPPLIER:
        notify(
            session,
            supplier_members(session, complaint.supplier_id),
            K.COMPLAINT_AWAITING_SUPPLIER,
            title=f"Complaint {complaint.id} awaits your answer",
            data=data,
            now=at,
        )


def _certification(session: Session, cert: Certification, target, reason: str, at: datetime) -> None:
    notify(
        session,
        {cert.applied_by_id, *supplier_members(session, cert.supplier_id)},
        K.CERTIFICATION_DECIDED,
        title=f"Certification {cert.id}: {target.value}",
        body=reason or "",
        data={"certification_id": cert.id, "product_id": cert.product_id, "status": target.value},
        now=at,
    )


# Each machine's handler and the moves it posts for.
HANDLERS: dict[type, tuple[Callable[..., None], frozenset]] = {
    Order: (
        _order,
        frozenset(
            {
                OrderStatus.PAID,
                OrderStatus.READY_FOR_PICKUP,
                OrderStatus.SHIPPED,
                OrderStatus.REFUNDED,
                OrderStatus.PARTIALLY_REFUNDED,
            }
        ),
    ),
    AfterSalesRequest: (
        _after_sales,
        frozenset({AfterSalesStatus.ACCEPTED, AfterSalesStatus.REJECTED, AfterSalesStatus.ESCALATED}),
    ),
    Complaint: (_complaint, frozenset(ComplaintStatus)),
    Certification: (_certification, frozenset(CertStatus) - {CertStatus.PENDING}),
}


def on_transition(row, source, target, *, actor_id: int | None, at: datetime, reason: str) -> None:
    handler, targets = HANDLERS.get(type(row), (None, frozenset()))
    if handler is None or target not in targets:
        return
    session = object_session(row)
    if session is None:  # a row no session stores (built in memory): no event to tell anyone of
        return
    handler(session, row, target, reason, at)


def install() -> None:
    transitions.listen(on_transition)


# --- events that are not moves ------------------------------------------------------------------


def after_sales_requested(session: Session, request: AfterSalesRequest) -> None:
    notify(
        session,
        {*supplier_members(session, request.supplier_id), *location_operators(session, request.location_id)},
        K.AFTER_SALES_REQUESTED,
        title=f"New after-sales request {request.id} on order {request.order_id}",
        body=request.reason,
        data={"after_sales_id": request.id, "order_id": request.order_id, "answer_by": request.answer_by.isoformat()},
        now=request.created_at,
    )


def low_stock(session: Session, *, location_id: int, sku_id: int, message: str, details: dict, now: datetime) -> None:
    notify(
        session,
        location_operators(session, location_id),
        K.LOW_STOCK,
        title="Low stock",
        body=message,
        data={"location_id": location_id, "sku_id": sku_id, **details},
        now=now,
    )


def scoped_holders(session: Session, roles: tuple[Role, ...], scope_id: int) -> list[int]:
    """The users holding one of the roles in that scope (0: the unscoped roles, city-wide)."""
    return list(
        session.scalars(sa.select(RoleGrant.user_id).where(RoleGrant.role.in_(roles), RoleGrant.scope_id == scope_id))
    )


def early_warning(
    session: Session,
    *,
    product_id: int,
    supplier_id: int,
    district_id: int,
    from_level: str,
    to_level: str,
    figures: dict,
    now: datetime,
) -> None:
    """A product's unsold-produce risk rose to warning or critical (the risk rule decides when)."""
    notify(
        session,
        {
            *supplier_members(session, supplier_id),
            *scoped_holders(session, (Role.CERTIFIER,), district_id),
            *scoped_holders(session, (Role.COORDINATOR,), 0),
        },
        K.EARLY_WARNING,
        title=f"Unsold-produce risk of product {product_id}: {to_level}",
        body=f"The risk level moved from {from_level} to {to_level}.",
        data={"product_id": product_id, "district_id": district_id, "from": from_level, "to": to_level, **figures},
        now=now,
    )


def campaign_allocation(
    session: Session, *, campaign_id: int, organisation_id: int, bulk_order_id: int, quantity: int, now: datetime
) -> None:
    notify(
        session,
        scoped_holders(session, (Role.ORG_MEMBER, Role.ORG_APPROVER), organisation_id),
        K.CAMPAIGN_ALLOCATION,
        title=f"Absorption campaign {campaign_id}: {quantity} units allocated",
        body=f"Draft bulk order {bulk_order_id} waits for your organisation's approval.",
        data={
            "campaign_id": campaign_id,
            "organisation_id": organisation_id,
            "bulk_order_id": bulk_order_id,
            "quantity": quantity,
        },
        now=now,
    )


def cold_chain_alert(session: Session, *, incident_id: int, location_id: int, batches: int, now: datetime) -> None:
    notify(
        session,
        location_operators(session, location_id),
        K.COLD_CHAIN_ALERT,
        title=f"Cold chain: counter {location_id} out of range",
        body=f"{batches} batches quarantined until inspected (incident {incident_id}).",
        data={"incident_id": incident_id, "location_id": location_id, "batches": batches},
        now=now,
    )
