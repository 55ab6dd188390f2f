"""Every kind of notification is posted exactly once per event, in the event's transaction: not again
when a request is retried with its Idempotency-Key, not at all when the transaction rolls back."""

import sqlalchemy as sa

from shop import clock
from shop.auth.models import Role
from shop.inventory import stock
from shop.jobs import builtin
from shop.jobs.registry import JobContext
from shop.notifications.models import Delivery
from shop.notifications.models import NotificationKind as K
from shop.orders import service as orders
from tests.factories import FENGJIE
from tests.notifications.conftest import kinds_of, posted
from tests.orders.conftest import add_to_cart, admin_headers, checkout
from tests.supervision.conftest import completed_order

P = "/api/v1"


def test_an_order_tells_its_buyer_paid_ready_refunded_once_each_through_retries(client, shop, make, session):
    add_to_cart(client, shop.buyer_headers, shop.sku, shop.counter, 2)
    order = checkout(client, shop.buyer_headers, key="checkout-1").json
    assert checkout(client, shop.buyer_headers, key="checkout-1").json["id"] == order["id"]
    url = f"{P}/orders/{order['id']}"
    pay = {**shop.buyer_headers, "Idempotency-Key": "pay-1"}
    first = client.post(f"{url}/payments", headers=pay, json={"gateway": "points"})
    again = client.post(f"{url}/payments", headers=pay, json={"gateway": "points"})
    assert first.status_code == 201 and again.json["id"] == first.json["id"]
    assert kinds_of(session, shop.buyer.id) == [K.ORDER_PAID]
    (paid,) = posted(session, user_id=shop.buyer.id)
    assert paid.data == {"order_id": order["id"], "order_number": order["number"], "status": "paid"}

    assert client.post(f"{url}/ready", headers=shop.operator_headers).status_code == 200
    assert client.post(f"{url}/ready", headers=shop.operator_headers).status_code == 409
    line = client.get(url, headers=shop.buyer_headers).json["lines"][0]
    refund = {"lines": [{"line_id": line["id"], "quantity": 1}], "reason": "damaged"}
    admin = {**admin_headers(make), "Idempotency-Key": "refund-1"}
    assert client.post(f"{url}/refunds", headers=admin, json=refund).status_code == 201
    assert client.post(f"{url}/refunds", headers=admin, json=refund).status_code == 201  # the replay
    assert kinds_of(session, shop.buyer.id) == [K.ORDER_PAID, K.ORDER_READY_FOR_PICKUP, K.ORDER_REFUNDED]
    assert posted(session, kind=K.ORDER_REFUNDED)[0].data["refunded_fen"] == 5000
    # none of it reached anyone else
    assert posted(session, user_id=shop.operator.id) == []


def test_a_delivery_order_tells_its_buyer_it_shipped_with_the_tracking_number(client, shop, session):
    address = {"name": "李四", "phone": "13800000000", "address": "渝中区解放碑 1 号"}
    add_to_cart(client, shop.buyer_headers, shop.sku, shop.hall, 1, fulfilment="delivery")
    order = checkout(client, shop.buyer_headers, delivery_address=address).json
    client.post(f"{P}/orders/{order['id']}/payments", headers=shop.buyer_headers, json={"gateway": "points"})
    shipped = client.post(
        f"{P}/orders/{order['id']}/ship", headers=shop.operator_headers, json={"tracking_number": "SF123"}
    )
    assert shipped.status_code == 200
    assert kinds_of(session, shop.buyer.id) == [K.ORDER_PAID, K.ORDER_SHIPPED]
    (note,) = posted(session, kind=K.ORDER_SHIPPED)
    assert note.data["tracking_number"] == "SF123" and "SF123" in note.body


def test_after_sales_moves_reach_the_supplier_the_operators_and_the_buyer(client, shop, make, session):
    order = completed_order(client, shop, quantity=2)
    member = make.user((Role.SUPPLIER_MEMBER, shop.sku.product.supplier_id))
    ask = {"kind": "refund", "lines": [{"line_id": order["lines"][0]["id"], "quantity": 1}], "reason": "坏果"}
    first = client.post(f"{P}/orders/{order['id']}/after-sales", json=ask, headers=shop.buyer_headers).json
    second = client.post(f"{P}/orders/{order['id']}/after-sales", json=ask, headers=shop.buyer_headers).json
    assert kinds_of(session, member.id) == [K.AFTER_SALES_REQUESTED] * 2
    assert kinds_of(session, shop.operator.id) == [K.AFTER_SALES_REQUESTED] * 2
    client.post(f"{P}/after-sales/{first['id']}/accept", json={"reason": "同意"}, headers=shop.operator_headers)
    client.post(f"{P}/after-sales/{second['id']}/reject", json={"reason": "人为损坏"}, headers=make.headers(member))
    escalate = {"category": "service", "description": "拒绝退款不合理"}
    client.post(f"{P}/after-sales/{second['id']}/escalate", json=escalate, headers=shop.buyer_headers)
    buyer_kinds = kinds_of(session, shop.buyer.id)
    assert buyer_kinds.count(K.AFTER_SALES_DECIDED) == 2 and buyer_kinds.count(K.ORDER_REFUNDED) == 1
    assert [n.data["status"] for n in posted(session, kind=K.AFTER_SALES_DECIDED)] == ["accepted", "rejected"]
    assert kinds_of(session, member.id)[2:] == [K.AFTER_SALES_ESCALATED]


def test_complaint_moves_reach_the_complainant_and_the_asked_supplier_and_a_rolled_back_one_nobody(
    client, make, session
):
    product = make.product(make.supplier(FENGJIE))
    make.certified(product)
    buyer = make.user()
    member = make.user((Role.SUPPLIER_MEMBER, product.supplier_id))
    handler = make.headers(make.certifier(FENGJIE))
    body = {"category": "false_label", "product_id": product.id, "description": "标签不实"}
    url = f"{P}/complaints/{client.post(f'{P}/complaints', json=body, headers=make.headers(buyer)).json['id']}"
    assert posted(session, user_id=buyer.id) == []  # filing is the complainant's own doing
    client.post(f"{url}/accept", json={"note": "受理"}, headers=handler)
    client.post(f"{url}/ask-supplier", json={"question": "请说明"}, headers=handler)
    client.post(f"{url}/messages", json={"body": "已说明"}, headers=make.headers(member))
    # a dismissal that orders a sanction is refused after the move was made: all of it rolls back
    refused = client.post(
        f"{url}/decide", json={"outcome": "dismissed", "decision": "x", "sanction": "warning"}, headers=handler
    )
    assert refused.status_code == 422
    assert [n.data["status"] for n in posted(session, user_id=buyer.id)] == [
        "accepted",
        "awaiting_supplier",
        "accepted",
    ]
    client.post(f"{url}/decide", json={"outcome": "dismissed", "decision": "证据不足"}, headers=handler)
    assert [n.data["status"] for n in posted(session, user_id=buyer.id)][-1] == "decided"
    assert posted(session, kind=K.COMPLAINT_UPDATED)[-1].body == "证据不足"
    assert kinds_of(session, member.id) == [K.COMPLAINT_AWAITING_SUPPLIER]


def test_certification_decisions_reach_the_applicant_and_the_supplier_members(make, session):
    product = make.product(make.supplier(FENGJIE))
    member = make.user((Role.SUPPLIER_MEMBER, product.supplier_id))
    cert = make.certified(product)  # applied, approved, published
    statuses = [n.data["status"] for n in posted(session, user_id=member.id)]
    assert statuses == ["approved", "published"]
    assert all(n.data["certification_id"] == cert.id for n in posted(session, user_id=member.id))


def test_a_low_stock_alert_tells_the_operators_once_while_it_stays_open(app, make, session):
    hall = make.hall()
    counter = make.counter(hall)
    sku = make.sku()
    make.stock(counter, sku, 3)
    hall_operator, counter_operator, elsewhere = make.operator(hall), make.operator(counter), make.operator(make.hall())
    stock.set_threshold(session, make.admin, counter.id, sku.id, 5, clock.now())
    session.flush()
    for _ in range(2):
        builtin.low_stock_alerts(JobContext(app))
    for user in (hall_operator, counter_operator):
        (alert,) = posted(session, user_id=user.id)
        assert (alert.kind, alert.data["location_id"], alert.data["sku_id"]) == (K.LOW_STOCK, counter.id, sku.id)
    assert posted(session, user_id=elsewhere.id) == []


def test_a_move_rolled_back_posts_nothing(client, shop, make, session):
    add_to_cart(client, shop.buyer_headers, shop.sku, shop.counter, 1)
    order = checkout(client, shop.buyer_headers).json
    client.post(f"{P}/orders/{order['id']}/payments", headers=shop.buyer_headers, json={"gateway": "points"})
    deliveries = session.scalar(sa.select(sa.func.count()).select_from(Delivery))
    savepoint = session.begin_nested()
    orders.mark_ready(session, make.actor(shop.operator), order["id"], now=clock.now())
    session.flush()
    assert kinds_of(session, shop.buyer.id) == [K.ORDER_PAID, K.ORDER_READY_FOR_PICKUP]
    savepoint.rollback()
    assert kinds_of(session, shop.buyer.id) == [K.ORDER_PAID]
    assert session.scalar(sa.select(sa.func.count()).select_from(Delivery)) == deliveries
