"""Union recuperation trips (职工疗休养): a bulk order of service slots within the budget, its roster
imported from CSV or XLSX, each member with their own code, one member cancelled on their own, the
sale counted toward the reserved share once received."""

import csv
import io
from datetime import timedelta

import sqlalchemy as sa
from openpyxl import Workbook

from payments.models import Payment, Refund
from shop import clock
from shop.bookings.models import Slot
from shop.statistics import facts
from shop.statistics import queries as statistics
from tests.bookings.conftest import make_homestay
from tests.payments.conftest import localstripe, stripe_app  # noqa: F401  (a trip paid by card)
from tests.payments.stripe_peer import event, post_event
from tests.procurement.conftest import YEAR, P, budget_of, buyer_org  # noqa: F401

HEADER = ("recipient", "phone", "department", "sku_code", "slot_id", "quantity")


def _csv(rows) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADER)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8-sig")


def _xlsx(rows) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(list(HEADER))
    for row in rows:
        sheet.append(list(row))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _upload(client, o, order_id, data, name):
    return client.post(
        f"{P}/bulk-orders/{order_id}/lines/import",
        headers=o.headers["purchaser"],
        data={"file": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
    )


def _trip(client, o):
    response = client.post(
        f"{P}/organisations/{o.org.id}/bulk-orders",
        headers=o.headers["purchaser"],
        json={"title": "2026 职工疗休养 武隆", "kind": "trip"},
    )
    assert response.status_code == 201, response.json
    return response.json


def _booked(session, slot_id) -> int:
    session.expire_all()
    return session.scalar(sa.select(Slot.booked).where(Slot.id == slot_id))


def test_a_bad_roster_cell_imports_nothing_and_names_row_and_column(client, make, session, buyer_org):  # noqa: F811
    o = buyer_org
    stay = make_homestay(make, session)
    order = _trip(client, o)
    slot = stay.slots[2]
    rows = [("张三", "13800000001", "工会", stay.sku.code, slot.id, 1)] * 5 + [
        ("李四", "13800000002", "财务", stay.sku.code, "明天", 1)
    ]
    for data, name in ((_csv(rows), "roster.csv"), (_xlsx(rows), "roster.xlsx")):
        rejected = _upload(client, o, order["id"], data, name)
        assert rejected.status_code == 422, rejected.json
        assert rejected.json["error"]["details"]["errors"] == [
            {"row": 7, "column": "slot_id", "message": "'明天' is not a whole number."}
        ]
    listed = client.get(f"{P}/bulk-orders/{order['id']}/lines", headers=o.headers["purchaser"]).json
    assert listed["total"] == 0
    missing_name = _upload(client, o, order["id"], _csv([("", "", "", stay.sku.code, slot.id, 1)]), "r.csv")
    assert missing_name.json["error"]["details"]["errors"][0]["column"] == "recipient"


def test_trip_life_codes_per_member_one_member_cancelled_and_the_reserved_share(client, make, session, buyer_org):  # noqa: F811
    o = buyer_org
    stay = make_homestay(make, session, capacity=10)
    slot = stay.slots[6]
    order = _trip(client, o)
    roster = [(f"会员{i}", f"1380000000{i}", "工会", stay.sku.code, slot.id, 1) for i in range(4)]
    imported = _upload(client, o, order["id"], _xlsx(roster), "roster.xlsx")
    assert imported.status_code == 200, imported.json
    assert imported.json["total_fen"] == 4 * slot.price_fen
    for step, who in (("submit", "purchaser"), ("approve", "approver")):
        moved = client.post(f"{P}/bulk-orders/{order['id']}/{step}", headers=o.headers[who], json={})
        assert moved.status_code == 200, moved.json
    assert _booked(session, slot.id) == 4  # capacity, not stock, at approval
    assert budget_of(client, o)["committed_fen"] == 4 * slot.price_fen
    payment = client.post(f"{P}/bulk-orders/{order['id']}/payments", headers=o.headers["finance"], json={}).json
    paid = client.post(
        f"{P}/bulk-orders/{order['id']}/payments/{payment['id']}/confirm",
        headers=o.headers["finance"],
        json={"reference": "T-1"},
    )
    assert paid.status_code == 200, paid.json
    bookings = client.get(f"{P}/bulk-orders/{order['id']}/bookings", headers=o.headers["purchaser"]).json["items"]
    assert [b["guest_name"] for b in bookings] == [f"会员{i}" for i in range(4)]
    assert len({b["code"] for b in bookings}) == 4 and all(len(b["code"]) == 8 for b in bookings)
    # one member cancels on their own, after the free deadline: half comes back to the budget
    spent = budget_of(client, o)["spent_fen"]
    with clock.frozen_at(slot.starts_at - timedelta(days=1)):
        cancelled = client.post(f"/api/v1/bookings/{bookings[0]['id']}/cancel", headers=o.headers["purchaser"], json={})
    assert cancelled.status_code == 200, cancelled.json
    assert cancelled.json["status"] == "cancelled" and cancelled.json["refunded_fen"] == slot.price_fen // 2
    assert _booked(session, slot.id) == 3
    assert budget_of(client, o)["spent_fen"] == spent - slot.price_fen // 2
    # the others check in at the meeting point; the trip is then fulfilled
    with clock.frozen_at(slot.starts_at):
        for booking in bookings[1:]:
            done = client.post(
                f"/api/v1/bookings/{booking['id']}/check-in",
                headers=stay.provider_headers,
                json={"code": booking["code"]},
            )
            assert done.status_code == 200, done.json
    trip = client.get(f"{P}/bulk-orders/{order['id']}", headers=o.headers["purchaser"]).json
    assert trip["status"] == "fulfilled"
    received = client.post(f"{P}/bulk-orders/{order['id']}/receive", headers=o.headers["purchaser"], json={})
    assert received.status_code == 200, received.json
    kept = 3 * slot.price_fen + slot.price_fen - slot.price_fen // 2
    assert statistics.completed_fen(session, o.org.id, YEAR) == kept
    assert facts.check(session) == []


def _approved_trip(client, o, stay, members: int):
    slot = stay.slots[6]
    order = _trip(client, o)
    roster = [(f"会员{i}", f"1380000000{i}", "工会", stay.sku.code, slot.id, 1) for i in range(members)]
    assert _upload(client, o, order["id"], _csv(roster), "roster.csv").status_code == 200
    for step, who in (("submit", "purchaser"), ("approve", "approver")):
        assert client.post(f"{P}/bulk-orders/{order['id']}/{step}", headers=o.headers[who], json={}).status_code == 200
    return order, slot


def _members(client, o, order_id):
    return client.get(f"{P}/bulk-orders/{order_id}/bookings", headers=o.headers["purchaser"]).json["items"]


def _late_cancel(client, o, booking_id, slot, body):
    with clock.frozen_at(slot.starts_at - timedelta(days=1)):  # after the free deadline: half back
        return client.post(f"/api/v1/bookings/{booking_id}/cancel", headers=o.headers["purchaser"], json=body)


def test_a_member_of_a_trip_paid_by_card_gets_the_policy_share_back_at_stripe(
    client,
    make,
    session,
    buyer_org,  # noqa: F811
    localstripe,  # noqa: F811
    stripe_app,  # noqa: F811
):
    o = buyer_org
    stay = make_homestay(make, session, capacity=10)
    order, slot = _approved_trip(client, o, stay, members=2)
    started = client.post(
        f"{P}/bulk-orders/{order['id']}/payments", headers=o.headers["finance"], json={"gateway": "stripe"}
    )
    assert started.status_code == 201, started.json
    intent_id = started.json["external_id"]
    assert post_event(client, event("payment_intent.succeeded", localstripe.pay(intent_id))).json["outcome"] == "paid"
    spent = budget_of(client, o)["spent_fen"]
    member = _members(client, o, order["id"])[0]
    cancelled = _late_cancel(client, o, member["id"], slot, {"reason": "家中有事"})
    assert cancelled.status_code == 200, cancelled.json
    half = slot.price_fen // 2
    assert cancelled.json["refunded_fen"] == half
    assert localstripe.charge(intent_id)["amount_refunded"] == half  # the money left Stripe, not just the budget
    assert budget_of(client, o)["spent_fen"] == spent - half
    [shown] = client.get(f"{P}/bulk-orders/{order['id']}/payments", headers=o.headers["finance"]).json["items"]
    assert shown["refunded_fen"] == half
    [refund] = session.scalars(sa.select(Refund).where(Refund.bulk_order_id == order["id"])).all()
    assert (refund.amount_fen, refund.reason, refund.external_id[:3]) == (half, "家中有事", "re_")
    # Stripe's charge.refunded for that refund is ours already: nothing is recorded twice
    answer = post_event(client, event("charge.refunded", localstripe.charge(intent_id)))
    assert answer.json["outcome"].endswith("refunds already recorded")
    assert session.scalar(sa.select(sa.func.count()).where(Refund.bulk_order_id == order["id"])) == 1
    again = _late_cancel(client, o, member["id"], slot, {})
    assert again.status_code == 409 and localstripe.charge(intent_id)["amount_refunded"] == half


def test_a_member_of_a_trip_paid_by_transfer_is_recorded_with_the_transfer_back(client, make, session, buyer_org):  # noqa: F811
    o = buyer_org
    stay = make_homestay(make, session, capacity=10)
    order, slot = _approved_trip(client, o, stay, members=3)
    payment = client.post(f"{P}/bulk-orders/{order['id']}/payments", headers=o.headers["finance"], json={}).json
    confirm = f"{P}/bulk-orders/{order['id']}/payments/{payment['id']}/confirm"
    assert client.post(confirm, headers=o.headers["finance"], json={"reference": "T-9"}).status_code == 200
    first, second, _third = _members(client, o, order["id"])
    assert _late_cancel(client, o, first["id"], slot, {"reference": "ICBC-BACK-1"}).status_code == 200
    assert _late_cancel(client, o, second["id"], slot, {}).status_code == 200  # the transfer back's number unknown yet
    half = slot.price_fen // 2
    refunds = session.scalars(sa.select(Refund).where(Refund.bulk_order_id == order["id"]).order_by(Refund.id)).all()
    assert [(r.amount_fen, r.reference) for r in refunds] == [(half, "ICBC-BACK-1"), (half, None)]
    assert session.get(Payment, payment["id"]).refunded_fen == 2 * half
