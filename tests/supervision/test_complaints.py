from datetime import timedelta

from shop import clock
from shop.auth.models import Role
from tests.conftest import configured
from tests.factories import FENGJIE, WUSHAN, stamp
from tests.supervision.conftest import P, cert_of, completed_order


def _file(client, headers, **body):
    body.setdefault("description", "收到的脐橙有坏果")
    return client.post(f"{P}/complaints", json=body, headers=headers)


def test_routing_by_category_and_scope_of_who_sees_what(client, make, session):
    fj_product = make.product(make.supplier(FENGJIE))
    ws_product = make.product(make.supplier(WUSHAN))
    buyer, other_buyer = make.user(), make.user()
    b, ob = make.headers(buyer), make.headers(other_buyer)
    to_fj = _file(client, b, category="false_label", product_id=fj_product.id).json
    to_ws = _file(client, ob, category="short_weight", product_id=ws_product.id).json
    to_reg = _file(client, b, category="price", product_id=ws_product.id).json
    assert (to_fj["handler"], to_fj["district_id"], to_fj["status"]) == ("certifier", FENGJIE, "filed")
    assert to_reg["handler"] == "regulator"
    assert to_fj["deadline_at"] is not None and to_fj["complainant_id"] is None  # not shown to the complainant

    fj, ws = make.headers(make.certifier(FENGJIE)), make.headers(make.certifier(WUSHAN))
    regulator = make.headers(make.user(Role.REGULATOR))
    fj_member = make.headers(make.user((Role.SUPPLIER_MEMBER, fj_product.supplier_id)))

    def ids(headers):
        return {c["id"] for c in client.get(f"{P}/complaints", headers=headers).json["items"]}

    mine = {to_fj["id"], to_ws["id"], to_reg["id"]}
    assert ids(fj) & mine == {to_fj["id"]}
    assert ids(ws) & mine == {to_ws["id"]}
    assert ids(regulator) & mine == {to_reg["id"]}
    assert ids(fj_member) & mine == {to_fj["id"]}
    assert ids(b) == {to_fj["id"], to_reg["id"]} and ids(ob) == {to_ws["id"]}
    # B's certifier neither sees nor decides A's complaint
    assert client.get(f"{P}/complaints/{to_fj['id']}", headers=ws).status_code == 404
    assert client.post(f"{P}/complaints/{to_fj['id']}/accept", json={}, headers=ws).status_code == 404
    # the supplier and the complainant see it but cannot handle it
    assert client.post(f"{P}/complaints/{to_fj['id']}/accept", json={}, headers=fj_member).status_code == 403
    assert client.post(f"{P}/complaints/{to_fj['id']}/accept", json={}, headers=b).status_code == 403
    assert client.get(f"{P}/complaints/{to_fj['id']}", headers=fj).json["complainant_id"] == buyer.id


def test_the_whole_way_with_thread_internal_notes_decision_and_close(client, make, session):
    product = make.product(make.supplier(FENGJIE))
    cert = make.certified(product)
    buyer = make.headers(make.user())
    member = make.headers(make.user((Role.SUPPLIER_MEMBER, product.supplier_id)))
    handler = make.headers(make.certifier(FENGJIE))
    complaint = _file(
        client, buyer, category="false_label", product_id=product.id, evidence=[{"url": "https://x.cq/1.jpg"}]
    ).json
    cid = complaint["id"]
    url = f"{P}/complaints/{cid}"
    assert client.post(f"{url}/decide", json={"outcome": "upheld", "decision": "x"}, headers=handler).status_code == 409
    accepted = client.post(f"{url}/accept", json={"note": "受理"}, headers=handler).json
    assert accepted["status"] == "accepted"
    client.post(f"{url}/messages", json={"body": "供应商疑似虚标", "internal": True}, headers=handler)
    assert client.post(f"{url}/messages", json={"body": "x", "internal": True}, headers=member).status_code == 403
    asked = client.post(f"{url}/ask-supplier", json={"question": "请提供绿色食品证书"}, headers=handler).json
    assert asked["status"] == "awaiting_supplier"
    answered = client.post(f"{url}/messages", json={"body": "证书已过期，正在续期"}, headers=member).json
    assert answered["status"] == "accepted"  # back with the handler
    decided = client.post(
        f"{url}/decide",
        json={"outcome": "upheld", "decision": "标签不实，警告并暂停认定", "sanction": "suspension"},
        headers=handler,
    )
    assert decided.status_code == 200, decided.json
    assert decided.json["outcome"] == "upheld" and decided.json["status"] == "decided"
    session.refresh(cert)
    assert cert.status.value == "suspended"
    assert client.get(f"{P}/products/{product.id}").status_code == 404
    credit = client.get(f"{P}/suppliers/{product.supplier_id}/credit", headers=member).json
    assert credit["suspensions"] == 1 and credit["upheld_complaints"] == 1
    assert credit["recent_sanctions"][0]["complaint_id"] == cid
    closed = client.post(f"{url}/close", json={}, headers=handler).json
    assert closed["status"] == "closed" and closed["deadline_at"] is None
    assert [e["to_status"] for e in closed["events"]] == [
        "filed",
        "accepted",
        "awaiting_supplier",
        "accepted",
        "decided",
        "closed",
    ]
    # what the complainant and the supplier read: status, decision, the thread without internal notes
    for viewer in (buyer, member):
        seen = client.get(url, headers=viewer).json
        assert seen["status"] == "closed" and seen["decision"] == "标签不实，警告并暂停认定"
        assert [m["body"] for m in seen["messages"]] == ["请提供绿色食品证书", "证书已过期，正在续期"]
        assert seen["events"] == []
    assert len(client.get(url, headers=handler).json["messages"]) == 3
    assert client.post(f"{url}/messages", json={"body": "again"}, headers=buyer).status_code == 409


def test_overdue_from_the_instant_of_the_deadline(client, make, app):
    product = make.product(make.supplier(FENGJIE))
    buyer = make.headers(make.user())
    handler = make.headers(make.certifier(FENGJIE))
    t0 = clock.now()
    with clock.frozen_at(t0):
        complaint = _file(client, buyer, category="service", product_id=product.id).json
    deadline = t0 + timedelta(hours=72)
    assert complaint["deadline_at"] == stamp(deadline)

    def overdue_ids():
        return [c["id"] for c in client.get(f"{P}/complaints?overdue=true", headers=handler).json["items"]]

    with clock.frozen_at(deadline - timedelta(microseconds=1)):
        assert complaint["id"] not in overdue_ids()
        assert client.get(f"{P}/complaints/{complaint['id']}", headers=buyer).json["overdue"] is False
    with clock.frozen_at(deadline):
        assert complaint["id"] in overdue_ids()
        assert client.get(f"{P}/complaints/{complaint['id']}", headers=buyer).json["overdue"] is True
        accepted = client.post(f"{P}/complaints/{complaint['id']}/accept", json={}, headers=handler).json
        assert accepted["overdue"] is False  # the next state has its own deadline
        assert complaint["id"] not in overdue_ids()


def test_anonymous_report_needs_no_account_is_followed_by_token_and_rate_limited(client, make, app):
    product = make.product(make.supplier(FENGJIE))
    body = {"category": "quality", "product_id": product.id, "description": "这批腊肉有异味", "contact": "匿名"}
    filed = client.post(f"{P}/reports", json=body)
    assert filed.status_code == 201 and filed.json["anonymous"] is True and filed.json["handler"] == "regulator"
    token = filed.json["tracking_token"]
    assert client.get(f"{P}/reports/{token}").json["status"] == "filed"
    assert client.get(f"{P}/reports/not-a-token").status_code == 404
    assert client.post(f"{P}/reports", json={**body, "order_id": 1}).status_code == 422
    regulator = make.headers(make.user(Role.REGULATOR))
    client.post(f"{P}/complaints/{filed.json['id']}/refuse", json={"reason": "线索不足"}, headers=regulator)
    shown = client.get(f"{P}/reports/{token}").json
    assert shown["status"] == "closed" and shown["decision"] == "线索不足"
    with configured(app, REPORT_RATE_LIMIT="5 per hour"):
        statuses = [client.post(f"{P}/reports", json=body).status_code for _ in range(6)]
    assert statuses[-1] == 429 and 201 in statuses


def test_an_upheld_complaint_about_an_order_orders_a_refund(client, make, session, shop):
    order = completed_order(client, shop)
    complaint = _file(client, shop.buyer_headers, category="short_weight", order_id=order["id"]).json
    assert complaint["product_id"] == shop.sku.product_id and complaint["location_id"] == shop.counter.id
    handler = make.headers(make.certifier(cert_of(session, shop.sku.product).district_id))
    url = f"{P}/complaints/{complaint['id']}"
    client.post(f"{url}/accept", json={}, headers=handler)
    line = order["lines"][0]["id"]
    decided = client.post(
        f"{url}/decide",
        json={
            "outcome": "upheld",
            "decision": "短斤少两，退一件",
            "refund": {"lines": [{"line_id": line, "quantity": 1}]},
        },
        headers=handler,
    )
    assert decided.status_code == 200, decided.json
    assert decided.json["refund_fen"] == 5000
    assert client.get(f"{P}/orders/{order['id']}", headers=shop.buyer_headers).json["status"] == "partially_refunded"
    stranger = make.headers(make.user())
    assert _file(client, stranger, category="service", order_id=order["id"]).status_code == 404
