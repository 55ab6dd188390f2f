from dataclasses import dataclass
from datetime import date, time, timedelta

import pytest
from flask_jwt_extended import create_access_token

from shop import clock
from shop.bookings import offerings
from shop.bookings.models import UnitKind
from shop.catalog.models import ProductKind
from shop.db import transaction
from shop.inventory.models import china_today
from shop.orders import cart
from shop.orders.models import Fulfilment
from shop.points import service as points
from shop.points.models import PointsKind
from tests.factories import Factory


@dataclass
class Homestay:
    """A certified service product with a bookable room offering, a calendar of nights, its
    supplier's member, a buyer with points."""

    product: object
    sku: object
    offering: object
    slots: list
    provider: object
    buyer: object
    buyer_headers: dict
    provider_headers: dict


def first_weekday(after: date, weekday: int) -> date:
    day = after
    while day.weekday() != weekday:
        day += timedelta(days=1)
    return day


def make_homestay(make, session, *, capacity=3, days=14, free_cancel_days=3, late_refund_bp=5000, first_day=None):
    supplier = make.supplier()
    product = make.product(supplier, kind=ProductKind.SERVICE, price_fen=30_000, name="武隆后坪民宿")
    make.certified(product, published_at=clock.now() - timedelta(days=60))
    provider = make.user()
    from shop.auth import service as auth_service
    from shop.auth.models import Role

    auth_service.add_grant(session, provider, Role.SUPPLIER_MEMBER, supplier.id, granted_by_id=None)
    actor = make.actor(provider)
    offering = offerings.create_offering(
        session,
        actor,
        product.id,
        data={
            "sku_id": product.skus[0].id,
            "unit_kind": UnitKind.ROOM,
            "name": "标准间 Double room",
            "meeting_point": "武隆区后坪乡 游客中心",
            "guests_per_unit": 2,
            "min_party": 1,
            "max_party": 6,
            "weekday_price_fen": 30_000,
            "weekend_price_fen": 40_000,
            "holiday_price_fen": 50_000,
            "free_cancel_days": free_cancel_days,
            "late_refund_bp": late_refund_bp,
        },
        now=clock.now(),
    )
    first = first_day or china_today(clock.now()) + timedelta(days=1)
    slots = offerings.add_slots(
        session,
        actor,
        offering.id,
        data={
            "first_day": first,
            "last_day": first + timedelta(days=days - 1),
            "start_times": [time(14, 0)],
            "minutes": 22 * 60,
            "capacity": capacity,
            "holidays": [],
        },
        now=clock.now(),
    )
    buyer = make.user()
    points.post(session, buyer.id, 1_000_000, PointsKind.ADJUST, note="test")
    return Homestay(
        product,
        product.skus[0],
        offering,
        slots,
        provider,
        buyer,
        make.headers(buyer),
        make.headers(provider),
    )


@pytest.fixture
def homestay(make, session):
    make.centre()
    return make_homestay(make, session)


def book(client, headers, sku, slot, party_size=2, **extra):
    response = client.post(
        "/api/v1/cart/lines",
        headers=headers,
        json={"sku_id": sku.id, "fulfilment": "booking", "slot_id": slot.id, "party_size": party_size, **extra},
    )
    assert response.status_code == 201, response.json
    return response.json


def booked_and_paid(client, stay, slot, party_size=2, gateway="points"):
    """Book the slot, check out, pay; return the order and its booking (as the guest sees it)."""
    book(client, stay.buyer_headers, stay.sku, slot, party_size)
    order = client.post("/api/v1/orders", headers=stay.buyer_headers, json={})
    assert order.status_code == 201, order.json
    paid = client.post(
        f"/api/v1/orders/{order.json['id']}/payments", headers=stay.buyer_headers, json={"gateway": gateway}
    )
    assert paid.status_code == 201, paid.json
    bookings = client.get("/api/v1/bookings", headers=stay.buyer_headers).json["items"]
    booking = next(b for b in bookings if b["order_id"] == order.json["id"])
    return order.json, booking


def committed_homestay(app, *, capacity, buyers):
    """Commit a homestay whose first night has `capacity` rooms and buyers each with that night in
    their cart; return the session factory, the slot id and the buyers' tokens."""
    factory = app.extensions["shop"]["sessionmaker"]
    with app.app_context(), transaction(factory) as session:
        make = Factory(app, session)
        make.centre()
        stay = make_homestay(make, session, capacity=capacity, days=1)
        users = [make.user() for _ in range(buyers)]
        for user in users:
            points.post(session, user.id, 100_000, PointsKind.ADJUST)
            cart.add_line(
                session,
                user.id,
                data={
                    "sku_id": stay.sku.id,
                    "fulfilment": Fulfilment.BOOKING,
                    "slot_id": stay.slots[0].id,
                    "party_size": 2,
                    "quantity": None,
                    "location_id": None,
                },
            )
        tokens = [create_access_token(identity=str(u.id)) for u in users]
        return factory, stay.slots[0].id, tokens
