"""After-sales (售后): a buyer asks for a refund or return of lines of a completed order within a
window (shorter for fresh produce). The location's operator or the supplier accepts (the order's
refund runs) or rejects with a reason before the deadline; with no answer by then the request
counts as accepted from that instant, and the refund runs the next time the request is touched.
A rejected request can be escalated into a complaint."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from shop.auth.actor import Actor
from shop.auth.models import Role
from shop.catalog.models import Category, Product
from shop.errors import Forbidden, InvalidInput, NotFound
from shop.inventory.locations import scope_clause as operated_locations
from shop.inventory.models import Location
from shop.notifications import events as notifications
from shop.orders.models import Order
from shop.paging import paginate
from shop.supervision import complaints
from shop.supervision.errors import (
    AfterSalesDeadlinePassed,
    AfterSalesExceedsQuantity,
    AfterSalesWindowClosed,
    OrderNotCompleted,
)
from shop.supervision.models import AfterSalesRequest, AfterSalesStatus

S = AfterSalesStatus

# Called with (session, order_id, lines, reason, actor_id) and returns the refund made.
RefundRunner = Callable[..., object]


@dataclass(frozen=True)
class AfterSalesSettings:
    window_days: int = 7
    fresh_window_hours: int = 48
    fresh_category_slugs: tuple[str, ...] = ("fresh-fruit", "vegetables")
    answer_hours: int = 48
    complaints: complaints.ComplaintSettings = field(default_factory=complaints.ComplaintSettings)


def _is_fresh(session: Session, product_ids: list[int], settings: AfterSalesSettings) -> bool:
    roots = session.scalars(sa.select(Category.path).where(Category.slug.in_(settings.fresh_category_slugs))).all()
    if not roots:
        return False
    paths = session.scalars(
        sa.select(Category.path).join(Product, Product.category_id == Category.id).where(Product.id.in_(product_ids))
    ).all()
    return any(path.startswith(root) for path in paths for root in roots)


def request_after_sales(
    session: Session, actor: Actor, order_id: int, *, data: dict, settings: AfterSalesSettings, now: datetime
) -> AfterSalesRequest:
    order = session.scalar(
        sa.select(Order).options(selectinload(Order.lines)).where(Order.id == order_id).with_for_update()
    )
    if order is None or order.buyer_id != actor.user_id:
        raise NotFound("No such order among yours.")
    if order.completed_at is None:
        raise OrderNotCompleted("After-sales requests are for completed orders.")
    by_id = {line.id: line for line in order.lines}
    wanted: dict[int, int] = {}
    for item in data["lines"]:
        if item["line_id"] not in by_id:
            raise InvalidInput("Not a line of this order.", fields={"lines": [f"Unknown line {item['line_id']}."]})
        wanted[item["line_id"]] = wanted.get(item["line_id"], 0) + item["quantity"]
    open_quantities = _open_quantities(session, order.id)
    for line_id, quantity in wanted.items():
        line = by_id[line_id]
        if quantity + line.refunded_quantity + open_quantities.get(line_id, 0) > line.quantity:
            raise AfterSalesExceedsQuantity("More units than are left to ask for.", line_id=line_id)
    product_ids = sorted({by_id[i].product_id for i in wanted})
    suppliers = set(session.scalars(sa.select(Product.supplier_id).where(Product.id.in_(product_ids))))
    if len(suppliers) != 1:
        raise InvalidInput("One request per supplier.", fields={"lines": ["Lines of one supplier only."]})
    window = (
        timedelta(hours=settings.fresh_window_hours)
        if _is_fresh(session, product_ids, settings)
        else timedelta(days=settings.window_days)
    )
    closes = order.completed_at + window
    if now >= closes:
        raise AfterSalesWindowClosed("The after-sales window has closed.", closed_at=closes.isoformat())
    request = AfterSalesRequest(
        order_id=order.id,
        buyer_id=actor.user_id,
        location_id=order.location_id,
        supplier_id=suppliers.pop(),
        kind=data["kind"],
        lines=[{"line_id": k, "quantity": v} for k, v in sorted(wanted.items())],
        reason=data["reason"],
        evidence=data.get("evidence", []),
        answer_by=now + timedelta(hours=settings.answer_hours),
        created_at=now,
    )
    session.add(request)
    request.events.append(
        AfterSalesRequest.event_class()(
            to_status=S.REQUESTED.value, actor_id=actor.user_id, at=now, reason=data["reason"]
        )
    )
    session.flush()
    notifications.after_sales_requested(session, request)
    return request


def _open_quantities(session: Session, order_id: int) -> dict[int, int]:
    """Units already asked for in requests still waiting for an answer."""
    out: dict[int, int] = {}
    for lines in session.scalars(
        sa.select(AfterSalesRequest.lines).where(
            AfterSalesRequest.order_id == order_id, AfterSalesRequest.status == S.REQUESTED
        )
    ):
        for item in lines:
            out[item["line_id"]] = out.get(item["line_id"], 0) + item["quantity"]
    return out


def _can_answer(session: Session, actor: Actor, request: AfterSalesRequest) -> bool:
    if actor.is_admin or actor.has(Role.SUPPLIER_MEMBER, request.supplier_id):
        return True
    location = session.get(Location, request.location_id)
    return location is not None and location.within(actor.scopes(Role.HALL_OPERATOR))


def _scope(session: Session, actor: Actor) -> sa.ColumnElement[bool] | None:
    if actor.is_admin:
        return None
    return sa.or_(
        AfterSalesRequest.buyer_id == actor.user_id,
        AfterSalesRequest.supplier_id.in_(actor.scopes(Role.SUPPLIER_MEMBER)),
        AfterSalesRequest.location_id.in_(sa.select(Location.id).where(operated_locations(actor))),
    )


def _accept(session: Session, request: AfterSalesRequest, *, actor_id: int | None, reason: str | None, at, runner):
    request.transition(S.ACCEPTED, actor_id=actor_id, at=at, reason=reason)
    request.decided_by_id, request.decided_at, request.decision_reason = actor_id, at, reason
    refund = runner(
        session,
        request.order_id,
        request.lines,
        f"after-sales request {request.id}: {request.reason}"[:500],
        actor_id or request.buyer_id,
    )
    request.refund_id = refund.id


def settle_due(session: Session, runner: RefundRunner, now: datetime, *, request_ids: list[int] | None = None) -> int:
    """Accept, as of their deadline, the requests nobody answered, and run their refunds."""
    stmt = (
        sa.select(AfterSalesRequest)
        .where(AfterSalesRequest.status == S.REQUESTED, AfterSalesRequest.answer_by <= now)
        .order_by(AfterSalesRequest.id)
        .with_for_update(skip_locked=True)
    )
    if request_ids is not None:
        stmt = stmt.where(AfterSalesRequest.id.in_(request_ids))
    due = session.scalars(stmt).all()
    for request in due:
        request.lapsed = True
        _accept(
            session, request, actor_id=None, reason="no answer by the deadline", at=request.answer_by, runner=runner
        )
    session.flush()
    return len(due)


def get_request(session: Session, actor: Actor, request_id: int, *, runner: RefundRunner, now: datetime):
    settle_due(session, runner, now, request_ids=[request_id])
    stmt = sa.select(AfterSalesRequest).where(AfterSalesRequest.id == request_id)
    scope = _scope(session, actor)
    if scope is not None:
        stmt = stmt.where(scope)
    request = session.scalar(stmt)
    if request is None:
        raise NotFound("No such after-sales request.")
    return request


def list_requests(session: Session, actor: Actor, *, filters: dict, runner: RefundRunner, now: datetime, page, size):
    stmt = sa.select(AfterSalesRequest)
    scope = _scope(session, actor)
    if scope is not None:
        stmt = stmt.where(scope)
    settle_due(session, runner, now, request_ids=list(session.scalars(stmt.with_only_columns(AfterSalesRequest.id))))
    if filters.get("status") is not None:
        stmt = stmt.where(AfterSalesRequest.status == filters["status"])
    return paginate(session, stmt, order_by=AfterSalesRequest.id.desc(), page=page, size=size)


def _answerable(session: Session, actor: Actor, request_id: int, now: datetime) -> AfterSalesRequest:
    request = session.scalar(
        sa.select(AfterSalesRequest)
        .where(AfterSalesRequest.id == request_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if request is None or not (_can_answer(session, actor, request) or request.buyer_id == actor.user_id):
        raise NotFound("No such after-sales request.")
    if not _can_answer(session, actor, request):
        raise Forbidden("Only the location's operator or the supplier answers.")
    if request.status == S.REQUESTED and now >= request.answer_by:
        raise AfterSalesDeadlinePassed(
            "The deadline has passed: the request was accepted.",
            answer_by=request.answer_by.isoformat(),
        )
    return request


def accept_request(session, actor, request_id, *, reason: str | None, runner: RefundRunner, now: datetime):
    request = _answerable(session, actor, request_id, now)
    _accept(session, request, actor_id=actor.user_id, reason=reason, at=now, runner=runner)
    session.flush()
    return request


def reject_request(session, actor, request_id, *, reason: str, now: datetime):
    request = _answerable(session, actor, request_id, now)
    request.transition(S.REJECTED, actor_id=actor.user_id, at=now, reason=reason)
    request.decided_by_id, request.decided_at, request.decision_reason = actor.user_id, now, reason
    session.flush()
    return request


def escalate_request(session, actor, request_id, *, data: dict, settings: AfterSalesSettings, now: datetime):
    """The buyer takes a rejected request to a complaint about the order."""
    request = session.scalar(sa.select(AfterSalesRequest).where(AfterSalesRequest.id == request_id).with_for_update())
    if request is None or request.buyer_id != actor.user_id:
        raise NotFound("No such after-sales request among yours.")
    request.transition(S.ESCALATED, actor_id=actor.user_id, at=now, reason=data["description"][:2000])
    first_line = request.lines[0]["line_id"]
    product_id = session.scalar(sa.select(Order).where(Order.id == request.order_id)).lines
    product_id = next(line.product_id for line in product_id if line.id == first_line)
    complaint, _ = complaints.file_complaint(
        session,
        actor,
        data={**data, "order_id": request.order_id, "product_id": product_id},
        settings=settings.complaints,
        now=now,
        after_sales_id=request.id,
    )
    return complaint
