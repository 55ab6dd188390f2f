"""Refunds a supervisory decision orders run through the orders' own refund flow."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from shop.auth.actor import Actor
from shop.auth.models import Role
from shop.orders import refunds
from shop.orders import service as orders
from shop.orders.models import Order


def refund_runner(settings: orders.OrderSettings, now: datetime):
    """A function refunding lines of an order on the authority of a decision (an accepted
    after-sales request, an upheld complaint): it acts as an operator of the order's location."""

    def run(session: Session, order_id: int, lines: list[dict], reason: str, actor_id: int):
        order = session.get(Order, order_id)
        delegated = Actor(user_id=actor_id, grants=frozenset({(Role.HALL_OPERATOR, order.location_id)}))
        return refunds.refund_order(
            session,
            delegated,
            order_id,
            lines=[{"line_id": item["line_id"], "quantity": item["quantity"]} for item in lines],
            reason=reason,
            reference=None,
            settings=settings,
            now=now,
        )

    return run
