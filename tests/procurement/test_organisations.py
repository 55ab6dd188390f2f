"""Organisations, members and roles, budgets, pledges, and the wall between organisations."""

import pytest

from shop.auth.models import Role
from tests.factories import valid_uscc
from tests.procurement.conftest import YEAR, P, add_lines, make_org, new_order


def org_body(**extra):
    return {
        "name": "重庆市第一中学",
        "kind": "school",
        "district_id": 500103,
        "uscc": valid_uscc(),
        "headcount": 10,
        "contact_name": "李老师",
        "contact_phone": "13900000000",
        **extra,
    }


def test_registration_verification_and_members(client, make):
    founder = make.user()
    headers = make.headers(founder)
    bad = client.post(f"{P}/organisations", headers=headers, json=org_body(uscc="91500103MA00000000"))
    assert bad.status_code == 422 and "uscc" in bad.json["error"]["details"]["fields"]
    created = client.post(f"{P}/organisations", headers=headers, json=org_body())
    assert created.status_code == 201 and created.json["is_verified"] is False
    org_id = created.json["id"]
    dup = client.post(f"{P}/organisations", headers=headers, json=org_body(uscc=created.json["uscc"]))
    assert dup.status_code == 409

    # unverified: no buying yet
    order = client.post(f"{P}/organisations/{org_id}/bulk-orders", headers=headers, json={"title": "x"})
    assert order.status_code == 403  # the founder is approver, not purchaser
    purchaser = make.user(login="buyer-of-school@test.cq")
    added = client.post(
        f"{P}/organisations/{org_id}/members",
        headers=headers,
        json={"login": "buyer-of-school@test.cq", "roles": ["purchaser"]},
    )
    assert added.status_code == 201 and added.json["roles"] == ["purchaser"]
    refused = client.post(
        f"{P}/organisations/{org_id}/bulk-orders", headers=make.headers(purchaser), json={"title": "x"}
    )
    assert refused.status_code == 409 and refused.json["error"]["code"] == "organisation_not_verified"
    assert client.post(f"{P}/organisations/{org_id}/verify", headers=headers).status_code == 403
    admin = make.headers(make.user(Role.ADMIN))
    assert client.post(f"{P}/organisations/{org_id}/verify", headers=admin).json["is_verified"] is True
    assert (
        client.post(
            f"{P}/organisations/{org_id}/bulk-orders", headers=make.headers(purchaser), json={"title": "x"}
        ).status_code
        == 201
    )

    members = client.get(f"{P}/organisations/{org_id}/members", headers=make.headers(purchaser)).json["items"]
    assert sorted(tuple(m["roles"]) for m in members) == [("approver",), ("purchaser",)]
    # a purchaser cannot manage members; the approver removes them
    assert (
        client.delete(f"{P}/organisations/{org_id}/members/{founder.id}", headers=make.headers(purchaser)).status_code
        == 403
    )
    assert client.delete(f"{P}/organisations/{org_id}/members/{founder.id}", headers=headers).status_code == 409
    assert client.delete(f"{P}/organisations/{org_id}/members/{purchaser.id}", headers=headers).status_code == 204
    assert client.get(f"{P}/organisations/{org_id}", headers=make.headers(purchaser)).status_code == 404
    assert [o["id"] for o in client.get(f"{P}/organisations", headers=headers).json["items"]] == [org_id]


def test_budget_is_capped_per_capita_and_changes_through_the_ledger(client, make, session):
    org, _purchaser, approver, finance = make_org(make, session, headcount=10, budget_fen=0)
    fh = make.headers(finance)
    assert (
        client.post(
            f"{P}/organisations/{org.id}/budgets",
            headers=make.headers(approver),
            json={"fiscal_year": 2026, "amount_fen": 1},
        ).status_code
        == 403
    )
    over = client.post(
        f"{P}/organisations/{org.id}/budgets", headers=fh, json={"fiscal_year": 2026, "amount_fen": 500_001}
    )
    assert over.status_code == 409 and over.json["error"]["code"] == "over_per_capita_cap"
    budget = client.post(
        f"{P}/organisations/{org.id}/budgets", headers=fh, json={"fiscal_year": 2026, "amount_fen": 400_000}
    )
    assert budget.status_code == 201 and budget.json["available_fen"] == 400_000
    again = client.post(f"{P}/organisations/{org.id}/budgets", headers=fh, json={"fiscal_year": 2026, "amount_fen": 1})
    assert again.json["error"]["code"] == "budget_exists"
    changed = client.patch(
        f"{P}/budgets/{budget.json['id']}", headers=fh, json={"amount_fen": 300_000, "reason": "调整"}
    )
    assert changed.status_code == 200 and changed.json["amount_fen"] == changed.json["available_fen"] == 300_000
    entries = client.get(f"{P}/budgets/{budget.json['id']}/entries", headers=fh).json["items"]
    assert [(e["kind"], e["amount_delta"], e["available_after"]) for e in entries] == [
        ("allocate", 400_000, 400_000),
        ("allocate", -100_000, 300_000),
    ]


def test_lowering_a_pledge_needs_a_reason(client, buyer_org):
    o = buyer_org
    url = f"{P}/organisations/{o.org.id}/pledges/{YEAR}"
    body = {
        "amount_fen": 300_000,
        "canteen_food_budget_fen": 1_000_000,
        "contact_name": "王",
        "contact_phone": "13800000000",
    }
    assert client.put(url, headers=o.headers["purchaser"], json=body).status_code == 403
    filed = client.put(url, headers=o.headers["approver"], json=body)
    assert filed.status_code == 200 and filed.json["pledge"]["share_bp"] == 3000
    lower = {**body, "amount_fen": 200_000}
    refused = client.put(url, headers=o.headers["finance"], json=lower)
    assert refused.status_code == 422 and "reason" in refused.json["error"]["details"]["fields"]
    ok = client.put(url, headers=o.headers["finance"], json={**lower, "reason": "食堂预算下调"})
    assert ok.status_code == 200
    revisions = ok.json["pledge"]["revisions"]
    assert [(r["previous_amount_fen"], r["amount_fen"], r["reason"]) for r in revisions] == [
        (None, 300_000, ""),
        (300_000, 200_000, "食堂预算下调"),
    ]
    too_big = client.put(url, headers=o.headers["finance"], json={**body, "amount_fen": 2_000_000})
    assert too_big.status_code == 422
    listed = client.get(f"{P}/organisations/{o.org.id}/pledges", headers=o.headers["purchaser"]).json["items"]
    assert listed[0]["pledge"]["amount_fen"] == 200_000


@pytest.fixture
def two_orgs(client, make, session, buyer_org):
    """Organisation A (buyer_org) with an order of each kind of state, and a member of each role of B."""
    o = buyer_org
    order = new_order(client, o)
    add_lines(client, o, order["id"], [{"sku_code": o.sku.code, "quantity": 1, "delivery_address": "x"}])
    _, b_purchaser, b_approver, b_finance = make_org(make, session, name="B 单位")
    b = {
        role: make.headers(user)
        for role, user in (("purchaser", b_purchaser), ("approver", b_approver), ("finance", b_finance))
    }
    return o, order, b


def test_everything_of_organisation_a_is_invisible_to_members_of_b(client, session, two_orgs):
    o, order, b = two_orgs
    budget_id = client.get(f"{P}/organisations/{o.org.id}/budgets", headers=o.headers["finance"]).json["items"][0]["id"]
    oid, bid = o.org.id, order["id"]
    calls = [
        ("get", f"{P}/organisations/{oid}", None),
        ("patch", f"{P}/organisations/{oid}", {"name": "x"}),
        ("get", f"{P}/organisations/{oid}/members", None),
        ("post", f"{P}/organisations/{oid}/members", {"login": "x@y.cq", "roles": ["purchaser"]}),
        ("get", f"{P}/organisations/{oid}/budgets", None),
        ("post", f"{P}/organisations/{oid}/budgets", {"fiscal_year": 2030, "amount_fen": 1}),
        ("get", f"{P}/budgets/{budget_id}", None),
        ("patch", f"{P}/budgets/{budget_id}", {"amount_fen": 1, "reason": "x"}),
        ("get", f"{P}/budgets/{budget_id}/entries", None),
        ("get", f"{P}/organisations/{oid}/pledges", None),
        ("get", f"{P}/organisations/{oid}/pledges/{YEAR}", None),
        (
            "put",
            f"{P}/organisations/{oid}/pledges/{YEAR}",
            {"amount_fen": 1, "canteen_food_budget_fen": 2, "contact_name": "x", "contact_phone": "13800000000"},
        ),
        ("get", f"{P}/organisations/{oid}/bulk-orders", None),
        ("post", f"{P}/organisations/{oid}/bulk-orders", {"title": "x"}),
        ("get", f"{P}/bulk-orders/{bid}", None),
        ("patch", f"{P}/bulk-orders/{bid}", {"title": "x"}),
        ("get", f"{P}/bulk-orders/{bid}/lines", None),
        (
            "post",
            f"{P}/bulk-orders/{bid}/lines",
            {"lines": [{"sku_code": o.sku.code, "quantity": 1, "delivery_address": "x"}]},
        ),
        ("post", f"{P}/bulk-orders/{bid}/submit", None),
        ("post", f"{P}/bulk-orders/{bid}/approve", {}),
        ("post", f"{P}/bulk-orders/{bid}/reject", {"reason": "x"}),
        ("post", f"{P}/bulk-orders/{bid}/cancel", {}),
        ("post", f"{P}/bulk-orders/{bid}/payments", {}),
        ("get", f"{P}/bulk-orders/{bid}/payments", None),
        ("post", f"{P}/bulk-orders/{bid}/payments/1/confirm", {"reference": "x"}),
        ("post", f"{P}/bulk-orders/{bid}/fulfil", {}),
        ("post", f"{P}/bulk-orders/{bid}/receive", {}),
        ("post", f"{P}/bulk-orders/{bid}/evaluate", {"rating": 3}),
        ("post", f"{P}/bulk-orders/{bid}/complete", None),
        ("get", f"{P}/bulk-orders/{bid}/events", None),
        ("get", f"{P}/bulk-orders/{bid}/vouchers", None),
        ("get", f"{P}/bulk-orders/{bid}/invoices", None),
        ("get", f"{P}/organisations/{oid}/vouchers", None),
        ("get", f"{P}/organisations/{oid}/report?year={YEAR}", None),
        ("get", f"{P}/organisations/{oid}/report/export?year={YEAR}", None),
    ]
    for headers in b.values():
        for method, url, body in calls:
            response = getattr(client, method)(url, headers=headers, json=body)
            assert response.status_code == 404, (method, url, response.json)
    for method, url, body in calls:
        assert getattr(client, method)(url, json=body).status_code == 401, (method, url)
    # and nothing of A changed
    assert client.get(f"{P}/bulk-orders/{bid}", headers=o.headers["purchaser"]).json["status"] == "draft"
    lists = [client.get(f"{P}/organisations", headers=h).json["items"] for h in b.values()]
    assert all(oid not in [x["id"] for x in items] for items in lists)


def test_role_rights_within_the_organisation(client, two_orgs):
    o, order, _ = two_orgs
    bid, h = order["id"], o.headers
    # purchasers draft and submit; approvers approve; finance pays
    assert client.post(f"{P}/bulk-orders/{bid}/submit", headers=h["approver"]).status_code == 403
    assert client.post(f"{P}/bulk-orders/{bid}/submit", headers=h["finance"]).status_code == 403
    assert client.post(f"{P}/bulk-orders/{bid}/submit", headers=h["purchaser"]).status_code == 200
    assert client.post(f"{P}/bulk-orders/{bid}/approve", headers=h["finance"], json={}).status_code == 403
    assert client.post(f"{P}/bulk-orders/{bid}/reject", headers=h["purchaser"], json={"reason": "x"}).status_code == 403
    assert client.post(f"{P}/bulk-orders/{bid}/approve", headers=h["approver"], json={}).status_code == 200
    assert client.post(f"{P}/bulk-orders/{bid}/payments", headers=h["approver"], json={}).status_code == 403
    payment = client.post(f"{P}/bulk-orders/{bid}/payments", headers=h["finance"], json={}).json
    confirm = f"{P}/bulk-orders/{bid}/payments/{payment['id']}/confirm"
    assert client.post(confirm, headers=h["purchaser"], json={"reference": "x"}).status_code == 403
    assert client.post(confirm, headers=h["approver"], json={"reference": "x"}).status_code == 403
    # an operator of another hall does not see the order; the supplying hall's operator fulfils
    assert client.post(f"{P}/bulk-orders/{bid}/fulfil", headers=h["purchaser"], json={}).status_code == 404
    assert client.post(confirm, headers=h["finance"], json={"reference": "x"}).status_code == 200
    supplied = client.get(f"{P}/supplied-bulk-orders", headers=h["operator"]).json["items"]
    assert [s["id"] for s in supplied] == [bid]
    assert client.get(f"{P}/supplied-bulk-orders", headers=h["purchaser"]).status_code == 403
    assert client.post(f"{P}/bulk-orders/{bid}/fulfil", headers=h["operator"], json={}).status_code == 200
    assert client.post(f"{P}/bulk-orders/{bid}/receive", headers=h["finance"], json={}).status_code == 403
    assert client.post(f"{P}/bulk-orders/{bid}/receive", headers=h["approver"], json={}).status_code == 200
    assert client.post(f"{P}/bulk-orders/{bid}/evaluate", headers=h["finance"], json={"rating": 4}).status_code == 403
    assert client.post(f"{P}/bulk-orders/{bid}/evaluate", headers=h["purchaser"], json={"rating": 6}).status_code == 422
    assert client.post(f"{P}/bulk-orders/{bid}/evaluate", headers=h["purchaser"], json={"rating": 4}).status_code == 200
    assert client.post(f"{P}/bulk-orders/{bid}/complete", headers=h["purchaser"]).status_code == 403
    assert client.post(f"{P}/bulk-orders/{bid}/complete", headers=h["finance"]).status_code == 200
