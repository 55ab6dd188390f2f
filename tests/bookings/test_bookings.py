"""Services booked through the cart, checkout, payments and refunds: capacity instead of stock, codes
and check-in, the cancellation policy at its instant, completion with points and sales facts."""

from datetime import timedelta

import sqlalchemy as sa

from shop import clock
from shop.bookings import policy
from shop.bookings.models import Booking, BookingStatus, Slot
from shop.orders.models import Order, OrderStatus
from shop.points import service as points
from shop.statistics import facts
from shop.statistics.models import SalesFact
from tests.bookings.conftest import book, booked_and_paid
from tests.orders.conftest import add_to_cart, shop  # noqa: F401


def _slot(session, slot_id) -> Slot:
    session.expire_all()
    return session.get(Slot, slot_id)


def test_checkout_takes_capacity_not_stock_and_prices_the_slot(client, session, homestay):
    slot = homestay.slots[0]
    line = book(client, homestay.buyer_headers, homestay.sku, slot, party_size=3)
    assert line["quantity"] == 2 and line["party_size"] == 3 and line["fulfilment"] == "booking"  # 2 rooms for 3
    order = client.post("/api/v1/orders", headers=homestay.buyer_headers, json={})
    assert order.status_code == 201, order.json
    assert order.json["lines"][0]["unit_price_fen"] == slot.price_fen
    assert order.json["total_fen"] == 2 * slot.price_fen
    assert _slot(session, slot.id).booked == 2
    booking = session.scalar(sa.select(Booking).where(Booking.order_id == order.json["id"]))
    assert booking.status == BookingStatus.HELD and booking.code is None


def test_weekend_and_holiday_slots_take_their_prices(homestay):
    prices = {s.day_type.value: s.price_fen for s in homestay.slots}
    assert prices["weekday"] == 30_000 and prices["weekend"] == 40_000


def test_paid_booking_has_a_code_and_checks_in_then_the_order_completes(client, session, homestay, app):
    slot = homestay.slots[0]
    order, booking = booked_and_paid(client, homestay, slot)
    assert booking["status"] == "confirmed" and len(booking["code"]) == 8
    assert booking["qr_payload"] == f"shop-booking:{booking['id']}:{booking['code']}"
    # the provider sees the booking but never the code
    seen = client.get(f"/api/v1/bookings/{booking['id']}", headers=homestay.provider_headers).json
    assert seen["code"] is None and seen["status"] == "confirmed"
    guests = client.get(f"/api/v1/slots/{slot.id}/guests", headers=homestay.provider_headers).json
    assert [g["id"] for g in guests["items"]] == [booking["id"]]
    before = points.balance(session, homestay.buyer.id)
    with clock.frozen_at(slot.starts_at + timedelta(minutes=30)):
        done = client.post(
            f"/api/v1/bookings/{booking['id']}/check-in",
            headers=homestay.provider_headers,
            json={"code": booking["code"]},
        )
    assert done.status_code == 200, done.json
    assert done.json["status"] == "checked_in"
    session.expire_all()
    completed = session.get(Order, order["id"])
    assert completed.status == OrderStatus.COMPLETED
    earned = completed.total_fen // 100
    assert completed.points_earned == earned and points.balance(session, homestay.buyer.id) == before + earned
    fact = session.scalar(sa.select(SalesFact).where(SalesFact.source_key.like(f"order:{order['id']}:%")))
    assert fact.amount_fen == completed.total_fen and fact.quantity == 1
    assert facts.check(session) == []


def test_wrong_codes_are_counted_and_lock_the_code(client, session, homestay, app):
    slot = homestay.slots[0]
    _, booking = booked_and_paid(client, homestay, slot)
    with clock.frozen_at(slot.starts_at):
        for _ in range(5):
            wrong = client.post(
                f"/api/v1/bookings/{booking['id']}/check-in",
                headers=homestay.provider_headers,
                json={"code": "00000000" if booking["code"] != "00000000" else "11111111"},
            )
            assert wrong.status_code == 409
        assert wrong.json["error"]["code"] == "wrong_booking_code" and wrong.json["error"]["details"]["locked"]
        locked = client.post(
            f"/api/v1/bookings/{booking['id']}/check-in",
            headers=homestay.provider_headers,
            json={"code": booking["code"]},
        )
        assert locked.status_code == 409 and locked.json["error"]["code"] == "booking_code_locked"
        renewed = client.post(f"/api/v1/bookings/{booking['id']}/code", headers=homestay.buyer_headers)
        assert renewed.status_code == 200 and renewed.json["code"] != booking["code"]
        ok = client.post(
            f"/api/v1/bookings/{booking['id']}/check-in",
            headers=homestay.provider_headers,
            json={"code": renewed.json["code"]},
        )
        assert ok.status_code == 200, ok.json


def test_no_show_is_recorded_after_the_slot_starts_and_completes_the_order(client, session, homestay):
    slot = homestay.slots[0]
    order, booking = booked_and_paid(client, homestay, slot)
    early = client.post(f"/api/v1/bookings/{booking['id']}/no-show", headers=homestay.provider_headers)
    assert early.status_code == 409 and early.json["error"]["code"] == "not_checkin_time"
    with clock.frozen_at(slot.starts_at + timedelta(hours=3)):
        absent = client.post(f"/api/v1/bookings/{booking['id']}/no-show", headers=homestay.provider_headers)
    assert absent.status_code == 200 and absent.json["status"] == "no_show"
    session.expire_all()
    assert session.get(Order, order["id"]).status == OrderStatus.COMPLETED
    assert _slot(session, slot.id).booked == 1  # a no-show keeps the room
    assert facts.check(session) == []


def _cancel_at(client, stay, booking, at):
    with clock.frozen_at(at):
        return client.post(f"/api/v1/bookings/{booking['id']}/cancel", headers=stay.buyer_headers, json={})


def test_cancellation_refund_share_on_both_sides_of_the_policy_instant(client, session, homestay):
    early_slot, late_slot = homestay.slots[4], homestay.slots[5]
    _, early = booked_and_paid(client, homestay, early_slot)
    _, late = booked_and_paid(client, homestay, late_slot)
    deadline_early = policy.free_until(homestay.offering, early_slot)
    deadline_late = policy.free_until(homestay.offering, late_slot)
    just_before = _cancel_at(client, homestay, early, deadline_early - timedelta(microseconds=1))
    assert just_before.status_code == 200, just_before.json
    assert just_before.json["refunded_fen"] == early["amount_fen"]  # in full
    at_deadline = _cancel_at(client, homestay, late, deadline_late)
    assert at_deadline.status_code == 200, at_deadline.json
    assert at_deadline.json["refunded_fen"] == late["amount_fen"] // 2  # the late share, 50%
    # the capacity of both came back; the orders carry the refunds
    assert _slot(session, early_slot.id).booked == 0 and _slot(session, late_slot.id).booked == 0
    session.expire_all()
    late_order = session.get(Order, late["order_id"])
    assert late_order.refunded_fen == late["amount_fen"] // 2 and late_order.status == OrderStatus.REFUNDED
    again = _cancel_at(client, homestay, late, deadline_late)
    assert again.status_code == 409 and again.json["error"]["code"] == "booking_not_cancellable"
    assert facts.check(session) == []


def test_unpaid_booking_expires_and_its_capacity_returns(client, session, homestay):
    slot = homestay.slots[0]
    book(client, homestay.buyer_headers, homestay.sku, slot)
    order = client.post("/api/v1/orders", headers=homestay.buyer_headers, json={}).json
    assert _slot(session, slot.id).booked == 1
    with clock.frozen_at(clock.now() + timedelta(hours=2)):
        seen = client.get(f"/api/v1/orders/{order['id']}", headers=homestay.buyer_headers).json
    assert seen["status"] == "cancelled"
    assert _slot(session, slot.id).booked == 0
    assert session.scalar(sa.select(Booking.status).where(Booking.order_id == order["id"])) == BookingStatus.CANCELLED


def test_a_full_slot_refuses_the_checkout(client, session, homestay, make):
    slot = homestay.slots[0]
    book(client, homestay.buyer_headers, homestay.sku, slot, party_size=6)  # 3 rooms: all of them
    assert client.post("/api/v1/orders", headers=homestay.buyer_headers, json={}).status_code == 201
    other = make.user()
    headers = make.headers(other)
    book(client, headers, homestay.sku, slot, party_size=1)
    refused = client.post("/api/v1/orders", headers=headers, json={})
    assert refused.status_code == 409 and refused.json["error"]["code"] == "slot_full"
    assert refused.json["error"]["details"]["left"] == 0


def test_service_and_goods_in_one_cart_are_refused_with_a_clear_error(client, homestay, shop):  # noqa: F811
    book(client, shop.buyer_headers, homestay.sku, homestay.slots[0])
    add_to_cart(client, shop.buyer_headers, shop.sku, shop.counter)
    refused = client.post("/api/v1/orders", headers=shop.buyer_headers, json={})
    assert refused.status_code == 422
    assert refused.json["error"]["code"] == "service_mixed_with_goods"
    groups = refused.json["error"]["details"]["groups"]
    assert sorted(g["fulfilment"] for g in groups) == ["booking", "pickup"]
    # each group checks out on its own, as its own order
    booking_lines = next(g["line_ids"] for g in groups if g["fulfilment"] == "booking")
    alone = client.post("/api/v1/orders", headers=shop.buyer_headers, json={"line_ids": booking_lines})
    assert alone.status_code == 201 and alone.json["fulfilment"] == "booking"
    goods = client.post("/api/v1/orders", headers=shop.buyer_headers, json={})
    assert goods.status_code == 201 and goods.json["fulfilment"] == "pickup"


def test_party_size_outside_the_offering_is_refused(client, homestay):
    response = client.post(
        "/api/v1/cart/lines",
        headers=homestay.buyer_headers,
        json={"sku_id": homestay.sku.id, "fulfilment": "booking", "slot_id": homestay.slots[0].id, "party_size": 7},
    )
    assert response.status_code == 422 and response.json["error"]["code"] == "party_size"
    goods_way = client.post(
        "/api/v1/cart/lines",
        headers=homestay.buyer_headers,
        json={"sku_id": homestay.sku.id, "fulfilment": "pickup", "quantity": 1, "location_id": 1},
    )
    assert goods_way.status_code == 422


def test_availability_per_month_and_the_product_says_how_to_book(client, homestay):
    slot = homestay.slots[0]
    month = slot.day.strftime("%Y-%m")
    answer = client.get(f"/api/v1/bookings/products/{homestay.product.id}/availability?month={month}")
    assert answer.status_code == 200, answer.json
    assert slot.id in [s["id"] for s in answer.json["slots"]]
    assert answer.json["slots"][0]["left"] == 3
    assert answer.json["offerings"][0]["cancellation"] == {"free_cancel_days": 3, "late_refund_bp": 5000}
    detail = client.get(f"/api/v1/products/{homestay.product.id}").json
    assert detail["booking"]["bookable"] and "availability" in detail["booking"]["how_to_book"]
    assert detail["booking"]["offerings"][0]["meeting_point"] == "武隆区后坪乡 游客中心"
