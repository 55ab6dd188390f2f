"""A bulk order's whole life through the API, with its budget, stock, payment and pledge."""

from shop.inventory import ledger
from shop.procurement import budgets
from tests.factories import level
from tests.procurement.conftest import YEAR, P, add_lines, budget_of, new_order


def test_bulk_order_life_moves_budget_stock_and_pledge(client, session, buyer_org):
    o = buyer_org
    client.put(
        f"{P}/organisations/{o.org.id}/pledges/{YEAR}",
        headers=o.headers["approver"],
        json={
            "amount_fen": 400_000,
            "canteen_food_budget_fen": 4_000_000,
            "contact_name": "王",
            "contact_phone": "13800000000",
        },
    )
    order = new_order(client, o)
    response = add_lines(
        client,
        o,
        order["id"],
        [
            {"sku_code": o.sku.code, "quantity": 20, "department": "办公室", "delivery_address": "解放碑 8号"},
            {"sku_code": o.sku.code, "quantity": 10, "pickup_location_id": o.counter.id},
        ],
    )
    assert response.status_code == 200, response.json
    assert response.json["total_fen"] == 300_000 and response.json["line_count"] == 2

    ok = client.post(f"{P}/bulk-orders/{order['id']}/submit", headers=o.headers["purchaser"])
    assert ok.status_code == 200 and ok.json["status"] == "submitted"
    # the purchaser cannot approve; the approver can
    assert client.post(f"{P}/bulk-orders/{order['id']}/approve", headers=o.headers["purchaser"]).status_code == 403
    approved = client.post(f"{P}/bulk-orders/{order['id']}/approve", headers=o.headers["approver"], json={})
    assert approved.status_code == 200, approved.json
    assert level(session, o.hall, o.sku) == (1000, 30)
    assert budget_of(client, o)["committed_fen"] == 300_000
    assert budget_of(client, o)["available_fen"] == 5_000_000 - 300_000

    # finance pays by transfer and confirms it
    assert (
        client.post(f"{P}/bulk-orders/{order['id']}/payments", headers=o.headers["purchaser"], json={}).status_code
        == 403
    )
    payment = client.post(f"{P}/bulk-orders/{order['id']}/payments", headers=o.headers["finance"], json={})
    assert payment.status_code == 201 and payment.json["status"] == "pending", payment.json
    confirmed = client.post(
        f"{P}/bulk-orders/{order['id']}/payments/{payment.json['id']}/confirm",
        headers=o.headers["finance"],
        json={"reference": "BANK-0001"},
    )
    assert confirmed.status_code == 200 and confirmed.json["status"] == "succeeded", confirmed.json
    assert level(session, o.hall, o.sku) == (970, 0)
    budget = budget_of(client, o)
    assert (budget["committed_fen"], budget["spent_fen"]) == (0, 300_000)

    # the hall delivers, the organisation accepts and evaluates, the approver closes
    assert (
        client.post(f"{P}/bulk-orders/{order['id']}/receive", headers=o.headers["purchaser"], json={}).status_code
        == 409
    )
    assert (
        client.post(f"{P}/bulk-orders/{order['id']}/fulfil", headers=o.headers["operator"], json={}).status_code == 200
    )
    pledge = client.get(f"{P}/organisations/{o.org.id}/pledges/{YEAR}", headers=o.headers["purchaser"]).json
    assert pledge["completed_fen"] == 0  # not yet received and evaluated
    assert (
        client.post(
            f"{P}/bulk-orders/{order['id']}/receive", headers=o.headers["purchaser"], json={"note": "验收合格"}
        ).status_code
        == 200
    )
    evaluated = client.post(
        f"{P}/bulk-orders/{order['id']}/evaluate", headers=o.headers["purchaser"], json={"rating": 5, "comment": "好"}
    )
    assert evaluated.status_code == 200 and evaluated.json["rating"] == 5
    pledge = client.get(f"{P}/organisations/{o.org.id}/pledges/{YEAR}", headers=o.headers["purchaser"]).json
    assert (pledge["completed_fen"], pledge["completion_bp"]) == (300_000, 7500)
    done = client.post(f"{P}/bulk-orders/{order['id']}/complete", headers=o.headers["approver"])
    assert done.json["status"] == "completed"

    events = client.get(f"{P}/bulk-orders/{order['id']}/events", headers=o.headers["purchaser"]).json["items"]
    assert [e["to_status"] for e in events] == [
        "draft",
        "submitted",
        "approved",
        "paid",
        "fulfilled",
        "received",
        "evaluated",
        "completed",
    ]
    assert all(e["actor_id"] and e["at"] for e in events)
    assert budgets.check(session) == [] and ledger.check_balances(session) == []


def test_volume_tiers_price_the_order_across_its_lines(client, make, buyer_org):
    o = buyer_org
    supplier_user = make.user(("supplier_member", o.sku.product.supplier_id))
    tiers = [{"min_quantity": 20, "unit_price_fen": 9_000}, {"min_quantity": 100, "unit_price_fen": 8_000}]
    assert (
        client.put(
            f"/api/v1/skus/{o.sku.id}/volume-tiers", headers=o.headers["purchaser"], json={"tiers": tiers}
        ).status_code
        == 404
    )
    response = client.put(
        f"/api/v1/skus/{o.sku.id}/volume-tiers", headers=make.headers(supplier_user), json={"tiers": tiers}
    )
    assert response.status_code == 200, response.json
    bad = client.put(
        f"/api/v1/skus/{o.sku.id}/volume-tiers",
        headers=make.headers(supplier_user),
        json={"tiers": [{"min_quantity": 5, "unit_price_fen": 12_000}]},
    )
    assert bad.status_code == 422
    order = new_order(client, o)
    # 12 + 12 units of one SKU on two lines reach the 20-unit tier together
    lines = [{"sku_code": o.sku.code, "quantity": 12, "delivery_address": f"楼 {i}"} for i in range(2)]
    priced = add_lines(client, o, order["id"], lines).json
    assert (priced["subtotal_fen"], priced["discount_fen"], priced["total_fen"]) == (240_000, 24_000, 216_000)
    rows = client.get(f"{P}/bulk-orders/{order['id']}/lines", headers=o.headers["purchaser"]).json["items"]
    assert {r["unit_price_fen"] for r in rows} == {10_000} and {r["total_fen"] for r in rows} == {108_000}


def test_lines_must_be_certified_known_and_go_somewhere(client, make, buyer_org):
    o = buyer_org
    uncertified = make.sku(certified=False)
    order = new_order(client, o)
    response = add_lines(
        client,
        o,
        order["id"],
        [
            {"sku_code": o.sku.code, "quantity": 1, "delivery_address": "x"},
            {"sku_code": uncertified.code, "quantity": 1, "delivery_address": "x"},
            {"sku_code": "NOPE", "quantity": 1, "delivery_address": "x"},
            {"sku_code": o.sku.code, "quantity": 1},
            {"sku_code": o.sku.code, "quantity": 1, "pickup_location_id": 999999},
        ],
    )
    assert response.status_code == 422
    errors = response.json["error"]["details"]["errors"]
    assert [(e["row"], e["column"]) for e in errors] == [
        (2, "sku_code"),
        (3, "sku_code"),
        (4, "delivery_address"),
        (5, "pickup_location_id"),
    ]
    assert (
        client.get(f"/api/v1/procurement/bulk-orders/{order['id']}", headers=o.headers["purchaser"]).json["line_count"]
        == 0
    )


def test_approval_beyond_the_budget_is_refused_and_changes_nothing(client, session, make, buyer_org):
    o = buyer_org
    order = new_order(client, o)
    add_lines(client, o, order["id"], [{"sku_code": o.sku.code, "quantity": 501, "delivery_address": "x"}])
    client.post(f"{P}/bulk-orders/{order['id']}/submit", headers=o.headers["purchaser"])
    response = client.post(f"{P}/bulk-orders/{order['id']}/approve", headers=o.headers["approver"], json={})
    assert response.status_code == 409 and response.json["error"]["code"] == "insufficient_budget"
    assert client.get(f"{P}/bulk-orders/{order['id']}", headers=o.headers["approver"]).json["status"] == "submitted"
    assert level(session, o.hall, o.sku) == (1000, 0)


def test_cancelling_an_approved_order_releases_budget_and_stock(client, session, buyer_org):
    o = buyer_org
    order = new_order(client, o)
    add_lines(client, o, order["id"], [{"sku_code": o.sku.code, "quantity": 5, "delivery_address": "x"}])
    client.post(f"{P}/bulk-orders/{order['id']}/submit", headers=o.headers["purchaser"])
    client.post(f"{P}/bulk-orders/{order['id']}/approve", headers=o.headers["approver"], json={})
    client.post(f"{P}/bulk-orders/{order['id']}/payments", headers=o.headers["finance"], json={})
    assert (
        client.post(f"{P}/bulk-orders/{order['id']}/cancel", headers=o.headers["purchaser"], json={}).status_code == 403
    )
    cancelled = client.post(
        f"{P}/bulk-orders/{order['id']}/cancel", headers=o.headers["approver"], json={"reason": "改期"}
    )
    assert cancelled.json["status"] == "cancelled"
    assert level(session, o.hall, o.sku) == (1000, 0)
    budget = budget_of(client, o)
    assert (budget["available_fen"], budget["committed_fen"]) == (5_000_000, 0)
    kinds = [
        e["kind"] for e in client.get(f"{P}/budgets/{budget['id']}/entries", headers=o.headers["finance"]).json["items"]
    ]
    assert kinds == ["allocate", "commit", "release"]
    payments = client.get(f"{P}/bulk-orders/{order['id']}/payments", headers=o.headers["finance"]).json["items"]
    assert [p["status"] for p in payments] == ["cancelled"]


def test_rejection_and_illegal_moves(client, buyer_org):
    o = buyer_org
    order = new_order(client, o)
    assert (
        client.post(f"{P}/bulk-orders/{order['id']}/submit", headers=o.headers["purchaser"]).json["error"]["code"]
        == "no_lines"
    )
    add_lines(client, o, order["id"], [{"sku_code": o.sku.code, "quantity": 1, "delivery_address": "x"}])
    client.post(f"{P}/bulk-orders/{order['id']}/submit", headers=o.headers["purchaser"])
    assert (
        add_lines(
            client, o, order["id"], [{"sku_code": o.sku.code, "quantity": 1, "delivery_address": "x"}]
        ).status_code
        == 409
    )
    rejected = client.post(
        f"{P}/bulk-orders/{order['id']}/reject", headers=o.headers["approver"], json={"reason": "超标"}
    )
    assert rejected.json["status"] == "rejected" and rejected.json["rejection_reason"] == "超标"
    again = client.post(f"{P}/bulk-orders/{order['id']}/approve", headers=o.headers["approver"], json={})
    assert again.status_code == 409 and again.json["error"]["code"] == "illegal_transition"


def test_invoices_never_exceed_what_was_paid(client, make, buyer_org):
    o = buyer_org
    admin = make.headers(make.user("admin"))
    order = new_order(client, o)
    add_lines(client, o, order["id"], [{"sku_code": o.sku.code, "quantity": 2, "delivery_address": "x"}])
    client.post(f"{P}/bulk-orders/{order['id']}/submit", headers=o.headers["purchaser"])
    client.post(f"{P}/bulk-orders/{order['id']}/approve", headers=o.headers["approver"], json={})
    body = {"number": "INV-000001", "amount_fen": 10_000}
    assert (
        client.post(f"{P}/bulk-orders/{order['id']}/invoices", headers=admin, json=body).json["error"]["code"]
        == "invoice_profile_missing"
    )
    bad_tax = client.patch(
        f"{P}/organisations/{o.org.id}", headers=o.headers["finance"], json={"invoice_tax_number": "91500103MA0000000X"}
    )
    assert bad_tax.status_code == 422
    from tests.factories import valid_uscc

    profile = {
        "invoice_title": "渝中区总工会",
        "invoice_tax_number": valid_uscc(),
        "invoice_bank": "工商银行",
        "invoice_bank_account": "3100 0000 0000",
    }
    assert client.patch(f"{P}/organisations/{o.org.id}", headers=o.headers["finance"], json=profile).status_code == 200
    unpaid = client.post(f"{P}/bulk-orders/{order['id']}/invoices", headers=admin, json=body)
    assert unpaid.json["error"]["code"] == "invoice_exceeds_paid"
    payment = client.post(f"{P}/bulk-orders/{order['id']}/payments", headers=o.headers["finance"], json={}).json
    client.post(
        f"{P}/bulk-orders/{order['id']}/payments/{payment['id']}/confirm",
        headers=o.headers["finance"],
        json={"reference": "T1"},
    )
    assert (
        client.post(f"{P}/bulk-orders/{order['id']}/invoices", headers=o.headers["finance"], json=body).status_code
        == 403
    )
    first = client.post(f"{P}/bulk-orders/{order['id']}/invoices", headers=admin, json=body)
    assert first.status_code == 201 and first.json["title"] == "渝中区总工会"
    dup = client.post(f"{P}/bulk-orders/{order['id']}/invoices", headers=admin, json={**body, "amount_fen": 1})
    assert dup.json["error"]["code"] == "invoice_number_taken"
    over = client.post(
        f"{P}/bulk-orders/{order['id']}/invoices", headers=admin, json={"number": "INV-000002", "amount_fen": 10_001}
    )
    assert over.json["error"]["code"] == "invoice_exceeds_paid"
    rest = client.post(
        f"{P}/bulk-orders/{order['id']}/invoices", headers=admin, json={"number": "INV-000002", "amount_fen": 10_000}
    )
    assert rest.status_code == 201
    listed = client.get(f"{P}/bulk-orders/{order['id']}/invoices", headers=o.headers["purchaser"]).json
    assert listed["total"] == 2


def test_payment_is_idempotent_and_not_confirmable_as_a_shop_order(client, make, buyer_org):
    o = buyer_org
    order = new_order(client, o)
    add_lines(client, o, order["id"], [{"sku_code": o.sku.code, "quantity": 1, "delivery_address": "x"}])
    client.post(f"{P}/bulk-orders/{order['id']}/submit", headers=o.headers["purchaser"])
    client.post(f"{P}/bulk-orders/{order['id']}/approve", headers=o.headers["approver"], json={})
    headers = {**o.headers["finance"], "Idempotency-Key": "transfer-1"}
    first = client.post(f"{P}/bulk-orders/{order['id']}/payments", headers=headers, json={"gateway": "offline"})
    again = client.post(f"{P}/bulk-orders/{order['id']}/payments", headers=headers, json={"gateway": "offline"})
    assert first.status_code == again.status_code == 201 and first.json["id"] == again.json["id"]
    assert client.get(f"{P}/bulk-orders/{order['id']}/payments", headers=o.headers["finance"]).json["total"] == 1
    points = client.post(
        f"{P}/bulk-orders/{order['id']}/payments", headers=o.headers["finance"], json={"gateway": "points"}
    )
    assert points.status_code == 422
    # the shop orders' confirmation endpoint does not know bulk payments
    admin = make.headers(make.user("admin"))
    assert (
        client.post(f"/api/v1/payments/{first.json['id']}/confirm", headers=admin, json={"reference": "x"}).status_code
        == 404
    )
    # admins may confirm for the organisation
    confirmed = client.post(
        f"{P}/bulk-orders/{order['id']}/payments/{first.json['id']}/confirm", headers=admin, json={"reference": "x"}
    )
    assert confirmed.status_code == 200


def test_no_budget_for_the_year_and_bad_supply_location(client, buyer_org):
    o = buyer_org
    bad = client.post(
        f"{P}/organisations/{o.org.id}/bulk-orders",
        headers=o.headers["purchaser"],
        json={"title": "x", "supply_location_id": o.counter.id},
    )
    assert bad.status_code == 422 and "supply_location_id" in bad.json["error"]["details"]["fields"]
    order = new_order(client, o, fiscal_year=YEAR + 1)
    add_lines(client, o, order["id"], [{"sku_code": o.sku.code, "quantity": 1, "delivery_address": "x"}])
    client.post(f"{P}/bulk-orders/{order['id']}/submit", headers=o.headers["purchaser"])
    response = client.post(f"{P}/bulk-orders/{order['id']}/approve", headers=o.headers["approver"], json={})
    assert response.status_code == 409 and response.json["error"]["code"] == "no_budget"
    huge = client.get(f"{P}/bulk-orders/{10**12}", headers=o.headers["purchaser"])
    assert huge.status_code == 404
    assert client.get(f"{P}/organisations/{o.org.id}/pledges/1999", headers=o.headers["purchaser"]).status_code == 404
    assert client.post(f"{P}/vouchers/redeem", headers=o.headers["purchaser"], json={"code": ""}).status_code == 422


def test_large_amounts_are_kept_or_refused_never_overflow(client, make, session):
    from tests.procurement.conftest import make_org

    org, purchaser, approver, finance = make_org(make, session, headcount=200_000, budget_fen=0)
    big = client.post(
        f"{P}/organisations/{org.id}/budgets",
        headers=make.headers(finance),
        json={"fiscal_year": YEAR, "amount_fen": 5_000_000_000},  # ¥50 million
    )
    assert big.status_code == 201 and big.json["available_fen"] == 5_000_000_000
    hall = make.hall()
    sku = make.sku(price_fen=30_000)
    order = client.post(
        f"{P}/organisations/{org.id}/bulk-orders",
        headers=make.headers(purchaser),
        json={"title": "x", "supply_location_id": hall.id},
    ).json
    lines = [{"sku_code": sku.code, "quantity": 100_000, "delivery_address": "x"}]
    assert (
        client.post(
            f"{P}/bulk-orders/{order['id']}/lines", headers=make.headers(purchaser), json={"lines": lines}
        ).status_code
        == 200
    )
    response = client.post(f"{P}/bulk-orders/{order['id']}/submit", headers=make.headers(purchaser))
    assert response.status_code == 409 and response.json["error"]["code"] == "order_too_large"
    huge = client.post(
        f"{P}/vouchers/redeem", headers=make.headers(purchaser), json={"code": "X", "amount_fen": 10**12}
    )
    assert huge.status_code == 422
    cap = client.patch(
        f"{P}/organisations/{org.id}", headers=make.headers(approver), json={"per_capita_cap_fen": 10**12}
    )
    assert cap.status_code == 422
