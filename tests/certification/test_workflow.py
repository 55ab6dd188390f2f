from datetime import timedelta

import pytest

from shop import clock
from shop.auth.models import Role
from shop.inventory.models import china_today
from tests.factories import FENGJIE, WUSHAN

SHA = "ab" * 32


def _application(product_id, **overrides):
    return {
        "product_id": product_id,
        "production_base": "安坪镇脐橙基地",
        "expected_yearly_output": 200000,
        "output_unit": "kg",
        "households_benefiting": 86,
        "documents": [{"title": "营业执照", "url": "https://docs.example.com/licence.pdf", "sha256": SHA}],
        **overrides,
    }


@pytest.fixture
def setup(make):
    supplier = make.supplier(FENGJIE)
    product = make.product(supplier)
    member = make.user((Role.SUPPLIER_MEMBER, supplier.id))
    certifier = make.certifier(FENGJIE)
    return product, make.headers(member), make.headers(certifier)


def test_apply_approve_publish_object_window_and_force(client, make, setup):
    product, member, certifier = setup
    applied = client.post("/api/v1/certifications", json=_application(product.id), headers=member)
    assert applied.status_code == 201
    cert = applied.json
    assert cert["status"] == "pending" and cert["district_id"] == FENGJIE
    assert cert["documents"][0]["sha256"] == SHA

    approved = client.post(f"/api/v1/certifications/{cert['id']}/approve", json={}, headers=certifier).json
    assert approved["status"] == "approved"
    assert approved["certificate_no"] == f"CQXF-{FENGJIE}-{china_today(clock.now()).year}-{cert['id']:06d}"

    published = client.post(
        "/api/v1/announcements", headers=certifier, json={"title": "2026年第1批公示", "certification_ids": [cert["id"]]}
    )
    assert published.status_code == 201
    announcement = published.json
    entry = announcement["entries"][0]
    assert entry["certificate_no"] == approved["certificate_no"]
    assert entry["product_name"] == product.name and entry["status"] == "in_objection_window"
    assert entry["district_name"] == "奉节县"

    # public announcement pages
    assert client.get("/api/v1/announcements").json["items"][0]["id"] == announcement["id"]
    assert (
        client.get(f"/api/v1/announcements/{announcement['id']}").json["entries"][0]["certification_id"] == cert["id"]
    )

    shown = client.get(f"/api/v1/certifications/{cert['id']}", headers=member).json
    assert shown["effective_status"] == "in_objection_window"
    valid_from = shown["valid_from"]
    # default window of 7 days, validity configured
    assert shown["objection_until"] == valid_from
    with clock.frozen_at(clock.now() + timedelta(days=8)):
        assert client.get(f"/api/v1/certifications/{cert['id']}", headers=member).json["effective_status"] == "in_force"
        assert client.get(f"/api/v1/products/{product.id}").status_code == 200

    events = client.get(f"/api/v1/certifications/{cert['id']}/events", headers=certifier).json
    assert [(e["from_status"], e["to_status"]) for e in events["items"]] == [
        (None, "pending"),
        ("pending", "approved"),
        ("approved", "published"),
    ]
    assert all(e["actor_id"] and e["at"] for e in events["items"])


def test_reject_with_reason(client, setup):
    product, member, certifier = setup
    cert = client.post("/api/v1/certifications", json=_application(product.id), headers=member).json
    assert client.post(f"/api/v1/certifications/{cert['id']}/reject", json={}, headers=certifier).status_code == 422
    rejected = client.post(
        f"/api/v1/certifications/{cert['id']}/reject", json={"reason": "材料不全"}, headers=certifier
    )
    assert rejected.json["status"] == "rejected" and rejected.json["decision_reason"] == "材料不全"
    # a rejected application may be followed by a new one
    assert client.post("/api/v1/certifications", json=_application(product.id), headers=member).status_code == 201


def test_certifier_of_another_district_cannot_decide(client, make, setup):
    product, member, _certifier = setup
    cert = client.post("/api/v1/certifications", json=_application(product.id), headers=member).json
    other = make.headers(make.certifier(WUSHAN))
    assert client.post(f"/api/v1/certifications/{cert['id']}/approve", json={}, headers=other).status_code == 404
    assert (
        client.post(
            "/api/v1/announcements", headers=other, json={"title": "x", "certification_ids": [cert["id"]]}
        ).status_code
        == 404
    )
    # a certifier sees only their districts
    assert client.get("/api/v1/certifications", headers=other).json["total"] == 0


def test_supplier_cannot_approve_its_own_application(client, setup):
    product, member, _ = setup
    cert = client.post("/api/v1/certifications", json=_application(product.id), headers=member).json
    assert client.post(f"/api/v1/certifications/{cert['id']}/approve", json={}, headers=member).status_code == 403


def test_only_members_apply_for_their_products(client, make, setup):
    product, _, _ = setup
    stranger = make.headers(make.user((Role.SUPPLIER_MEMBER, make.supplier().id)))
    assert client.post("/api/v1/certifications", json=_application(product.id), headers=stranger).status_code == 404


def test_illegal_transitions_are_409(client, setup):
    product, member, certifier = setup
    cert = client.post("/api/v1/certifications", json=_application(product.id), headers=member).json
    not_approved = client.post(
        "/api/v1/announcements", headers=certifier, json={"title": "x", "certification_ids": [cert["id"]]}
    )
    assert not_approved.status_code == 409
    assert not_approved.json["error"]["code"] == "illegal_transition"
    client.post(f"/api/v1/certifications/{cert['id']}/approve", json={}, headers=certifier)
    again = client.post(f"/api/v1/certifications/{cert['id']}/approve", json={}, headers=certifier)
    assert again.status_code == 409
    assert again.json["error"]["details"] == {"entity": "certification", "current": "approved", "target": "approved"}
    assert (
        client.post(
            f"/api/v1/certifications/{cert['id']}/reject", json={"reason": "late"}, headers=certifier
        ).status_code
        == 409
    )


def test_a_second_application_while_one_is_under_way_is_409(client, setup):
    product, member, _ = setup
    assert client.post("/api/v1/certifications", json=_application(product.id), headers=member).status_code == 201
    again = client.post("/api/v1/certifications", json=_application(product.id), headers=member)
    assert again.status_code == 409 and again.json["error"]["code"] == "certification_exists"


def test_objection_upheld_withdraws_the_certification(client, make):
    cert = make.certified(published_at=clock.now() - timedelta(days=1))
    objector = make.headers(make.user())
    certifier = make.headers(make.certifier(cert.district_id))
    objection = client.post(
        f"/api/v1/certifications/{cert.id}/objections", json={"reason": "并非本地生产的产品"}, headers=objector
    )
    assert objection.status_code == 201
    # while objected it does not come into force, even after the window
    with clock.frozen_at(clock.now() + timedelta(days=30)):
        assert client.get(f"/api/v1/products/{cert.product_id}").status_code == 404
    upheld = client.post(f"/api/v1/objections/{objection.json['id']}/uphold", json={"note": "属实"}, headers=certifier)
    assert upheld.status_code == 200 and upheld.json["status"] == "upheld"
    shown = client.get(f"/api/v1/certifications/{cert.id}", headers=certifier).json
    assert shown["status"] == "withdrawn"
    again = client.post(f"/api/v1/objections/{objection.json['id']}/dismiss", json={"note": "x"}, headers=certifier)
    assert again.status_code == 409


def test_dismissing_every_objection_restores_the_certification(client, make):
    cert = make.certified(published_at=clock.now() - timedelta(days=1))
    certifier = make.headers(make.certifier(cert.district_id))
    first = client.post(
        f"/api/v1/certifications/{cert.id}/objections", json={"reason": "reason one"}, headers=make.headers(make.user())
    ).json
    second = client.post(
        f"/api/v1/certifications/{cert.id}/objections", json={"reason": "reason two"}, headers=make.headers(make.user())
    ).json
    client.post(f"/api/v1/objections/{first['id']}/dismiss", json={"note": "不属实"}, headers=certifier)
    assert client.get(f"/api/v1/certifications/{cert.id}", headers=certifier).json["status"] == "objected"
    client.post(f"/api/v1/objections/{second['id']}/dismiss", json={"note": "不属实"}, headers=certifier)
    assert client.get(f"/api/v1/certifications/{cert.id}", headers=certifier).json["status"] == "published"
    listed = client.get(f"/api/v1/certifications/{cert.id}/objections", headers=certifier).json
    assert [o["status"] for o in listed["items"]] == ["dismissed", "dismissed"]
    with clock.frozen_at(cert.valid_from):
        assert client.get(f"/api/v1/products/{cert.product_id}").status_code == 200


def test_objection_after_the_window_is_409(client, make):
    cert = make.certified()
    response = client.post(
        f"/api/v1/certifications/{cert.id}/objections",
        json={"reason": "too late now"},
        headers=make.headers(make.user()),
    )
    assert response.status_code == 409
    assert response.json["error"]["code"] == "objection_window_closed"


def test_objection_needs_a_login(client, make):
    cert = make.certified(published_at=clock.now())
    assert client.post(f"/api/v1/certifications/{cert.id}/objections", json={"reason": "anonymous"}).status_code == 401


def test_revocation_by_regulator_and_not_by_a_buyer(client, make):
    cert = make.certified()
    buyer = make.headers(make.user())
    assert (
        client.post(f"/api/v1/certifications/{cert.id}/revoke", json={"reason": "x"}, headers=buyer).status_code == 404
    )
    regulator = make.headers(make.user(Role.REGULATOR))
    revoked = client.post(f"/api/v1/certifications/{cert.id}/revoke", json={"reason": "虚假宣传"}, headers=regulator)
    assert revoked.status_code == 200
    events = client.get(f"/api/v1/certifications/{cert.id}/events", headers=regulator).json["items"]
    assert events[-1]["to_status"] == "revoked" and events[-1]["reason"] == "虚假宣传"
    again = client.post(f"/api/v1/certifications/{cert.id}/revoke", json={"reason": "x"}, headers=regulator)
    assert again.status_code == 409


def test_renewal_extends_from_the_old_expiry(client, make):
    cert = make.certified(validity_days=365)
    member = make.headers(make.user((Role.SUPPLIER_MEMBER, cert.supplier_id)))
    certifier = make.headers(make.certifier(cert.district_id))
    body = {k: v for k, v in _application(cert.product_id).items() if k != "product_id"}
    renewal = client.post(f"/api/v1/certifications/{cert.id}/renewals", json=body, headers=member)
    assert renewal.status_code == 201 and renewal.json["renews_id"] == cert.id
    assert client.post(f"/api/v1/certifications/{cert.id}/renewals", json=body, headers=member).status_code == 409
    client.post(f"/api/v1/certifications/{renewal.json['id']}/approve", json={}, headers=certifier)
    client.post(
        "/api/v1/announcements",
        json={"title": "renewals", "certification_ids": [renewal.json["id"]]},
        headers=certifier,
    )
    renewed = client.get(f"/api/v1/certifications/{renewal.json['id']}", headers=member).json
    # the product stays in force across the old expiry
    with clock.frozen_at(cert.valid_until + timedelta(days=1)):
        shown = client.get(f"/api/v1/products/{cert.product_id}")
        assert shown.status_code == 200
        assert shown.json["certification"]["id"] == renewal.json["id"]
    assert renewed["valid_until"] > cert.valid_until.isoformat()


def test_an_expired_certification_cannot_be_renewed(client, make):
    cert = make.certified(published_at=clock.now() - timedelta(days=400), validity_days=365)
    member = make.headers(make.user((Role.SUPPLIER_MEMBER, cert.supplier_id)))
    body = {k: v for k, v in _application(cert.product_id).items() if k != "product_id"}
    response = client.post(f"/api/v1/certifications/{cert.id}/renewals", json=body, headers=member)
    assert response.status_code == 409 and response.json["error"]["code"] == "not_renewable"
    # but a fresh application is allowed once the old one expired
    assert client.post("/api/v1/certifications", json=_application(cert.product_id), headers=member).status_code == 201


def test_documents_need_a_sha256(client, setup):
    product, member, _ = setup
    body = _application(product.id, documents=[{"title": "x", "url": "https://d.example.com/a", "sha256": "abc"}])
    response = client.post("/api/v1/certifications", json=body, headers=member)
    assert response.status_code == 422
    assert "documents" in response.json["error"]["details"]["fields"]


def test_scoped_listing_of_certifications(client, make):
    a = make.certified(make.product(make.supplier(FENGJIE)))
    b = make.certified(make.product(make.supplier(WUSHAN)))

    def ids(headers, query=""):
        return {c["id"] for c in client.get(f"/api/v1/certifications?size=100{query}", headers=headers).json["items"]}

    assert a.id in ids(make.headers(make.certifier(FENGJIE))) and b.id not in ids(make.headers(make.certifier(FENGJIE)))
    member = make.headers(make.user((Role.SUPPLIER_MEMBER, b.supplier_id)))
    assert ids(member) == {b.id}
    regulator = make.headers(make.user(Role.REGULATOR))
    assert {a.id, b.id} <= ids(regulator)
    assert ids(regulator, f"&district_id={WUSHAN}") >= {b.id} and a.id not in ids(regulator, f"&district_id={WUSHAN}")
    assert client.get(f"/api/v1/certifications/{a.id}", headers=member).status_code == 404
