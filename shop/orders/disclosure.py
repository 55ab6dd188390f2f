"""What of an order its reader may see: the pick-up code is for the buyer's eyes only (an operator
who saw it could hand the order over to anybody). Views pass every order they answer with through
`for_reader`; an order not passed through shows no code."""

from __future__ import annotations

from collections.abc import Iterable

from shop.auth.actor import Actor
from shop.orders.models import Order


def may_see_pickup_code(actor: Actor | None, order: Order) -> bool:
    return actor is not None and actor.user_id == order.buyer_id


def for_reader(actor: Actor | None, order: Order) -> Order:
    order.shown_pickup_code = order.pickup_code if may_see_pickup_code(actor, order) else None
    return order


def page_for_reader(actor: Actor | None, result: tuple[Iterable[Order], int]) -> tuple[list[Order], int]:
    orders, total = result
    return [for_reader(actor, order) for order in orders], total
