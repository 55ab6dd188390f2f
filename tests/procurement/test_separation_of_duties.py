"""Separation of duties in an organisation: one member cannot take a bulk order from draft to paid
alone, nor grant themselves roles, nor raise the figures that bound the union's budget; only an
admin relaxes it."""

from shop.auth.models import Role

P = "/api/v1/procurement"


def _submitted(client, o, who="purchaser"):
    order = client.post(
        f"{P}/organisations/{o.org.id}/bulk-orders",
        headers=o.headers[who],
        json={"title": "中秋慰问", "supply_location_id": o.hall.id},
    ).json
    lines = [{"sku_code": o.sku.code, "quantity": 2, "delivery_address": "解放碑 8号"}]
    assert (
        client.post(f"{P}/bulk-orders/{order['id']}/lines", headers=o.headers[who], json={"lines": lines}).status_code
        == 200
    )
    assert client.post(f"{P}/bulk-orders/{order['id']}/submit", headers=o.headers[who]).status_code == 200
    return order["id"]


def _all_roles(make, o):
    """A member holding every role of the organisation (granted by someone else)."""
    user = make.user((Role.ORG_MEMBER, o.org.id), (Role.ORG_APPROVER, o.org.id), (Role.ORG_FINANCE, o.org.id))
    o.headers["all"] = make.headers(user)
    return user


def test_who_submits_cannot_approve(client, make, buyer_org):
    o = buyer_org
    _all_roles(make, o)
    order_id = _submitted(client, o, who="all")
    answer = client.post(f"{P}/bulk-orders/{order_id}/approve", headers=o.headers["all"], json={})
    assert answer.status_code == 409
    assert answer.json["error"]["code"] == "submitter_cannot_approve"
    assert client.get(f"{P}/bulk-orders/{order_id}", headers=o.headers["all"]).json["status"] == "submitted"
    # another approver may
    assert client.post(f"{P}/bulk-orders/{order_id}/approve", headers=o.headers["approver"], json={}).status_code == 200


def test_who_approves_cannot_pay_nor_confirm(client, make, buyer_org):
    o = buyer_org
    _all_roles(make, o)
    order_id = _submitted(client, o)
    assert client.post(f"{P}/bulk-orders/{order_id}/approve", headers=o.headers["all"], json={}).status_code == 200
    answer = client.post(f"{P}/bulk-orders/{order_id}/payments", headers=o.headers["all"], json={"gateway": "offline"})
    assert (answer.status_code, answer.json["error"]["code"]) == (409, "approver_cannot_pay")
    payment = client.post(
        f"{P}/bulk-orders/{order_id}/payments", headers=o.headers["finance"], json={"gateway": "offline"}
    ).json
    answer = client.post(
        f"{P}/bulk-orders/{order_id}/payments/{payment['id']}/confirm",
        headers=o.headers["all"],
        json={"reference": "r"},
    )
    assert (answer.status_code, answer.json["error"]["code"]) == (409, "approver_cannot_pay")
    answer = client.post(
        f"{P}/bulk-orders/{order_id}/payments/{payment['id']}/confirm",
        headers=o.headers["finance"],
        json={"reference": "ICBC-1"},
    )
    assert answer.status_code == 200
    assert answer.json["confirmed_by_id"] == o.finance.id
    assert client.get(f"{P}/bulk-orders/{order_id}", headers=o.headers["all"]).json["status"] == "paid"


def test_an_approver_cannot_grant_himself_roles(client, make, buyer_org):
    o = buyer_org
    login = o.approver.email
    answer = client.post(
        f"{P}/organisations/{o.org.id}/members",
        headers=o.headers["approver"],
        json={"login": login, "roles": ["purchaser", "finance"]},
    )
    assert (answer.status_code, answer.json["error"]["code"]) == (403, "self_grant")
    roles = {
        m["user_id"]: m["roles"]
        for m in client.get(f"{P}/organisations/{o.org.id}/members", headers=o.headers["approver"]).json["items"]
    }
    assert roles[o.approver.id] == ["approver"]
    # granting someone else still works
    other = make.user()
    answer = client.post(
        f"{P}/organisations/{o.org.id}/members",
        headers=o.headers["approver"],
        json={"login": other.email, "roles": ["finance"]},
    )
    assert answer.status_code == 201


def test_the_organisation_cannot_raise_its_budget_bounds(client, make, buyer_org):
    o = buyer_org
    for field, value in (("headcount", 100_000), ("per_capita_cap_fen", 1_000_000)):
        answer = client.patch(f"{P}/organisations/{o.org.id}", headers=o.headers["approver"], json={field: value})
        assert (answer.status_code, answer.json["error"]["code"]) == (403, "set_by_admin")
    answer = client.patch(
        f"{P}/organisations/{o.org.id}/admin-settings", headers=o.headers["approver"], json={"headcount": 100_000}
    )
    assert answer.status_code == 403
    admin = make.headers(make.user(Role.ADMIN))
    answer = client.patch(f"{P}/organisations/{o.org.id}/admin-settings", headers=admin, json={"headcount": 200})
    assert (answer.status_code, answer.json["headcount"]) == (200, 200)
    # the other fields stay the approver's
    answer = client.patch(f"{P}/organisations/{o.org.id}", headers=o.headers["approver"], json={"name": "新名字"})
    assert answer.status_code == 200


def test_only_an_admin_relaxes_the_separation(client, make, buyer_org):
    o = buyer_org
    answer = client.patch(
        f"{P}/organisations/{o.org.id}/admin-settings",
        headers=o.headers["approver"],
        json={"separation_of_duties": False},
    )
    assert answer.status_code == 403
    admin = make.headers(make.user(Role.ADMIN))
    answer = client.patch(
        f"{P}/organisations/{o.org.id}/admin-settings", headers=admin, json={"separation_of_duties": False}
    )
    assert (answer.status_code, answer.json["separation_of_duties"]) == (200, False)
    # a one-person organisation: the approver grants himself the other roles and buys alone
    answer = client.post(
        f"{P}/organisations/{o.org.id}/members",
        headers=o.headers["approver"],
        json={"login": o.approver.email, "roles": ["purchaser", "finance"]},
    )
    assert answer.status_code == 201
    order_id = _submitted(client, o, who="approver")
    assert client.post(f"{P}/bulk-orders/{order_id}/approve", headers=o.headers["approver"], json={}).status_code == 200
    payment = client.post(
        f"{P}/bulk-orders/{order_id}/payments", headers=o.headers["approver"], json={"gateway": "offline"}
    )
    assert payment.status_code == 201
    answer = client.post(
        f"{P}/bulk-orders/{order_id}/payments/{payment.json['id']}/confirm",
        headers=o.headers["approver"],
        json={"reference": "r"},
    )
    assert answer.status_code == 200
