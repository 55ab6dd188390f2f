from datetime import datetime, timedelta

from shop import clock
from shop.auth.models import Role
from shop.orders.models import Order
from tests.conftest import configured
from tests.factories import stamp
from tests.supervision.conftest import P, completed_order


def _ask(client, shop, order, quantity=1, **extra):
    body = {
        "kind": "refund",
        "lines": [{"line_id": order["lines"][0]["id"], "quantity": quantity}],
        "reason": "坏果",
        "evidence": [{"url": "https://img.example.com/bad.jpg"}],
        **extra,
    }
    return client.post(f"{P}/orders/{order['id']}/after-sales", json=body, headers=shop.buyer_headers)


def _completed_at(session, order) -> datetime:
    """To the microsecond (the JSON shows seconds): the window is measured from this instant."""
    return session.get(Order, order["id"]).completed_at


def test_window_after_completion_shorter_for_fresh_produce(client, make, shop, app, session):
    order = completed_order(client, shop, quantity=2)
    closes = _completed_at(session, order) + timedelta(days=7)
    with clock.frozen_at(closes - timedelta(microseconds=1)):
        assert _ask(client, shop, order).status_code == 201
    with clock.frozen_at(closes):
        late = _ask(client, shop, order)
        assert late.status_code == 409 and late.json["error"]["code"] == "after_sales_window_closed"
    slug = shop.sku.product.category.slug
    fresh_closes = _completed_at(session, order) + timedelta(hours=48)
    with configured(app, AFTER_SALES_FRESH_CATEGORIES=[slug]):
        with clock.frozen_at(fresh_closes - timedelta(microseconds=1)):
            assert _ask(client, shop, order).status_code == 201
        with clock.frozen_at(fresh_closes):
            assert _ask(client, shop, order).status_code == 409
    # never more units than were bought, counting the requests still open
    too_many = _ask(client, shop, order, quantity=1)
    assert too_many.status_code == 409 and too_many.json["error"]["code"] == "after_sales_exceeds_quantity"


def test_operator_accepts_and_the_refund_runs_supplier_rejects_and_the_buyer_escalates(client, make, shop, session):
    order = completed_order(client, shop, quantity=2)
    first = _ask(client, shop, order).json
    second = _ask(client, shop, order).json
    assert first["status"] == "requested" and first["supplier_id"] == shop.sku.product.supplier_id
    stranger_op = make.headers(make.operator(make.hall()))
    assert client.post(f"{P}/after-sales/{first['id']}/accept", json={}, headers=stranger_op).status_code == 404
    assert client.get(f"{P}/after-sales/{first['id']}", headers=stranger_op).status_code == 404
    assert client.post(f"{P}/after-sales/{first['id']}/accept", json={}, headers=shop.buyer_headers).status_code == 403
    accepted = client.post(
        f"{P}/after-sales/{first['id']}/accept", json={"reason": "同意"}, headers=shop.operator_headers
    )
    assert accepted.status_code == 200 and accepted.json["status"] == "accepted" and accepted.json["refund_id"]
    shown = client.get(f"{P}/orders/{order['id']}", headers=shop.buyer_headers).json
    assert shown["status"] == "partially_refunded"
    supplier = make.headers(make.user((Role.SUPPLIER_MEMBER, shop.sku.product.supplier_id)))
    assert client.post(f"{P}/after-sales/{second['id']}/reject", json={}, headers=supplier).status_code == 422
    rejected = client.post(f"{P}/after-sales/{second['id']}/reject", json={"reason": "人为损坏"}, headers=supplier)
    assert rejected.status_code == 200 and rejected.json["decision_reason"] == "人为损坏"
    assert [e["to_status"] for e in rejected.json["events"]] == ["requested", "rejected"]
    assert client.post(f"{P}/after-sales/{second['id']}/accept", json={}, headers=supplier).status_code == 409
    body = {"category": "service", "description": "拒绝退款不合理"}
    assert (
        client.post(f"{P}/after-sales/{first['id']}/escalate", json=body, headers=shop.buyer_headers).status_code == 409
    )
    escalated = client.post(f"{P}/after-sales/{second['id']}/escalate", json=body, headers=shop.buyer_headers)
    assert escalated.status_code == 201 and escalated.json["after_sales_id"] == second["id"]
    assert escalated.json["order_id"] == order["id"] and escalated.json["status"] == "filed"
    assert client.get(f"{P}/after-sales/{second['id']}", headers=supplier).json["status"] == "escalated"
    assert client.get(f"{P}/after-sales", headers=supplier).json["total"] == 2


def test_no_answer_by_the_deadline_accepts_at_its_instant(client, make, shop):
    order = completed_order(client, shop, quantity=2)
    t0 = clock.now()
    with clock.frozen_at(t0):
        request = _ask(client, shop, order).json
    deadline = t0 + timedelta(hours=48)
    assert request["answer_by"] == stamp(deadline)
    with clock.frozen_at(deadline - timedelta(microseconds=1)):
        shown = client.get(f"{P}/after-sales/{request['id']}", headers=shop.buyer_headers).json
        assert shown["status"] == "requested" and shown["refund_id"] is None
    with clock.frozen_at(deadline):
        late = client.post(
            f"{P}/after-sales/{request['id']}/reject", json={"reason": "x"}, headers=shop.operator_headers
        )
        assert late.status_code == 409 and late.json["error"]["code"] == "after_sales_deadline_passed"
        shown = client.get(f"{P}/after-sales/{request['id']}", headers=shop.buyer_headers).json
        assert shown["status"] == "accepted" and shown["lapsed"] is True and shown["refund_id"]
        assert shown["decided_at"] == stamp(deadline) and shown["events"][-1]["actor_id"] is None
    assert client.get(f"{P}/orders/{order['id']}", headers=shop.buyer_headers).json["status"] == "partially_refunded"


def test_only_completed_orders_of_ones_own(client, make, shop):
    from tests.orders.conftest import add_to_cart

    add_to_cart(client, shop.buyer_headers, shop.sku, shop.counter, 1)
    order = client.post(f"{P}/orders", headers=shop.buyer_headers, json={}).json
    refused = _ask(client, shop, order)
    assert refused.status_code == 409 and refused.json["error"]["code"] == "order_not_completed"
    other = make.headers(make.user())
    body = {"kind": "return", "lines": [{"line_id": order["lines"][0]["id"], "quantity": 1}], "reason": "x"}
    assert client.post(f"{P}/orders/{order['id']}/after-sales", json=body, headers=other).status_code == 404
