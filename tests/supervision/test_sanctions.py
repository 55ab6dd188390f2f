from datetime import timedelta

from shop import clock
from shop.auth.models import Role
from tests.factories import FENGJIE, WUSHAN
from tests.orders.conftest import add_to_cart
from tests.supervision.conftest import P, apply_body, cert_of


def _sanction(client, headers, **body):
    return client.post(f"{P}/sanctions", json=body, headers=headers)


def test_a_suspension_takes_the_product_out_of_catalog_cart_and_checkout_at_once_until_lifted(
    client, make, session, shop
):
    cert = cert_of(session, shop.sku.product)
    product_id = shop.sku.product_id
    add_to_cart(client, shop.buyer_headers, shop.sku, shop.counter, 1)
    regulator = make.headers(make.user(Role.REGULATOR))
    assert client.get(f"{P}/products/{product_id}").status_code == 200
    suspended = _sanction(
        client,
        regulator,
        supplier_id=cert.supplier_id,
        kind="suspension",
        certification_id=cert.id,
        reason="抽检不合格",
    )
    assert suspended.status_code == 201 and suspended.json["status"] == "in_effect"
    assert client.get(f"{P}/certifications/{cert.id}", headers=regulator).json["effective_status"] == "suspended"
    assert client.get(f"{P}/products/{product_id}").status_code == 404
    assert product_id not in [p["id"] for p in client.get(f"{P}/products?size=100").json["items"]]
    assert client.get(f"{P}/cart", headers=shop.buyer_headers).json["quote"]["problems"] == ["not_in_force"]
    refused = client.post(f"{P}/orders", headers=shop.buyer_headers, json={})
    assert refused.status_code == 409 and refused.json["error"]["code"] == "cart_not_orderable"
    # a suspension cannot be suspended again; lifting restores it at once
    again = _sanction(
        client, regulator, supplier_id=cert.supplier_id, kind="suspension", certification_id=cert.id, reason="x"
    )
    assert again.status_code == 409 and again.json["error"]["code"] == "illegal_transition"
    lifted = client.post(f"{P}/sanctions/{suspended.json['id']}/lift", json={"reason": "整改完成"}, headers=regulator)
    assert lifted.status_code == 200 and lifted.json["status"] == "lifted"
    assert [e["to_status"] for e in lifted.json["events"]] == ["in_effect", "lifted"]
    assert client.get(f"{P}/products/{product_id}").status_code == 200
    assert client.post(f"{P}/orders", headers=shop.buyer_headers, json={}).status_code == 201
    twice = client.post(f"{P}/sanctions/{suspended.json['id']}/lift", json={"reason": "again"}, headers=regulator)
    assert twice.status_code == 409


def test_certifiers_sanction_only_their_district_and_never_blacklist(client, make, session):
    cert = make.certified(make.product(make.supplier(FENGJIE)))
    own, other = make.headers(make.certifier(FENGJIE)), make.headers(make.certifier(WUSHAN))
    body = {"supplier_id": cert.supplier_id, "kind": "warning", "certification_id": cert.id, "reason": "价格虚高"}
    assert _sanction(client, other, **body).status_code == 403
    warned = _sanction(client, own, **body)
    assert warned.status_code == 201 and warned.json["district_id"] == FENGJIE
    until = (clock.now() + timedelta(days=30)).isoformat()
    black = {"supplier_id": cert.supplier_id, "kind": "blacklist", "until": until, "reason": "屡次违规"}
    assert _sanction(client, own, **black).status_code == 403
    # the certifier of another district does not even see it
    assert client.get(f"{P}/sanctions/{warned.json['id']}", headers=other).status_code == 404
    assert client.get(f"{P}/sanctions", headers=other).json["total"] == 0
    revoked = _sanction(client, own, **{**body, "kind": "revocation"})
    assert revoked.status_code == 201
    assert client.get(f"{P}/certifications/{cert.id}", headers=own).json["status"] == "revoked"
    missing = _sanction(client, own, supplier_id=cert.supplier_id, kind="suspension", reason="x")
    assert missing.status_code == 422


def test_blacklist_refuses_applications_until_its_instant_and_shows_in_the_credit_record(client, make, session):
    supplier = make.supplier(FENGJIE)
    product = make.product(supplier)
    member = make.headers(make.user((Role.SUPPLIER_MEMBER, supplier.id)))
    regulator = make.headers(make.user(Role.REGULATOR))
    until = clock.now() + timedelta(days=90)
    black = _sanction(
        client, regulator, supplier_id=supplier.id, kind="blacklist", until=until.isoformat(), reason="造假"
    )
    assert black.status_code == 201
    past = _sanction(
        client, regulator, supplier_id=supplier.id, kind="blacklist", until=clock.now().isoformat(), reason="x"
    )
    assert past.status_code == 422
    with clock.frozen_at(until - timedelta(microseconds=1)):
        refused = client.post(f"{P}/certifications", json=apply_body(product.id), headers=member)
        assert refused.status_code == 409 and refused.json["error"]["code"] == "supplier_blacklisted"
        credit = client.get(f"{P}/suppliers/{supplier.id}/credit", headers=member).json
        assert credit["blacklistings"] == 1 and credit["blacklisted_until"] is not None
    with clock.frozen_at(until):
        assert client.post(f"{P}/certifications", json=apply_body(product.id), headers=member).status_code == 201
        assert client.get(f"{P}/suppliers/{supplier.id}/credit", headers=member).json["blacklisted_until"] is None
    # another supplier's member sees neither its credit nor its sanctions
    stranger = make.headers(make.user((Role.SUPPLIER_MEMBER, make.supplier().id)))
    assert client.get(f"{P}/suppliers/{supplier.id}/credit", headers=stranger).status_code == 403
    assert client.get(f"{P}/sanctions", headers=stranger).json["total"] == 0
    assert client.get(f"{P}/sanctions", headers=member).json["total"] == 1


def test_lifting_a_blacklist_early_lets_the_supplier_apply(client, make):
    supplier = make.supplier(FENGJIE)
    product = make.product(supplier)
    member = make.headers(make.user((Role.SUPPLIER_MEMBER, supplier.id)))
    regulator = make.headers(make.user(Role.REGULATOR))
    until = (clock.now() + timedelta(days=90)).isoformat()
    black = _sanction(client, regulator, supplier_id=supplier.id, kind="blacklist", until=until, reason="造假").json
    assert client.post(f"{P}/certifications", json=apply_body(product.id), headers=member).status_code == 409
    client.post(f"{P}/sanctions/{black['id']}/lift", json={"reason": "申诉成立"}, headers=regulator)
    assert client.post(f"{P}/certifications", json=apply_body(product.id), headers=member).status_code == 201
