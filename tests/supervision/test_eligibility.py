from datetime import timedelta

from shop import clock
from shop.auth.models import Role
from shop.reference.models import Township
from tests.factories import FENGJIE, YUZHONG
from tests.supervision.conftest import P, apply_body

JIEFANGBEI = 500103001  # a township of 渝中 (not poverty-alleviated)


def _pending(client, make, district, township=None, base="生产基地"):
    supplier = make.supplier(district)
    product = make.product(supplier, township_id=township)
    member = make.headers(make.user((Role.SUPPLIER_MEMBER, supplier.id)))
    cert = client.post(f"{P}/certifications", json=apply_body(product.id, base), headers=member)
    assert cert.status_code == 201, cert.json
    return cert.json["id"], make.headers(make.certifier(district))


def _township(session, district):
    """The reference data has townships only in the poverty-alleviated districts: add one."""
    session.add(Township(id=JIEFANGBEI, district_id=district, name="解放碑街道", name_en="Jiefangbei"))
    session.flush()
    return JIEFANGBEI


def test_a_product_of_an_ineligible_origin_cannot_be_approved(client, make):
    cert_id, certifier = _pending(client, make, YUZHONG)
    refused = client.post(f"{P}/certifications/{cert_id}/approve", json={}, headers=certifier)
    assert refused.status_code == 409 and refused.json["error"]["code"] == "origin_not_eligible"
    assert refused.json["error"]["details"]["district_id"] == YUZHONG
    fine, fengjie_certifier = _pending(client, make, FENGJIE)
    assert client.post(f"{P}/certifications/{fine}/approve", json={}, headers=fengjie_certifier).status_code == 200


def test_admin_lists_a_township_with_its_act_and_the_approval_passes_from_its_date(client, make, session):
    township = _township(session, YUZHONG)
    cert_id, certifier = _pending(client, make, YUZHONG, township)
    admin = make.headers(make.user(Role.ADMIN))
    start = clock.now() + timedelta(hours=1)
    body = {
        "district_id": YUZHONG,
        "township_id": township,
        "act": "渝府发〔2026〕1号",
        "eligible_from": start.isoformat(),
    }
    assert client.post(f"{P}/eligible-places", json=body, headers=certifier).status_code == 403
    made = client.post(f"{P}/eligible-places", json=body, headers=admin)
    assert made.status_code == 201 and made.json["act"] == "渝府发〔2026〕1号"
    listed = client.get(f"{P}/eligible-places", query_string={"district_id": YUZHONG}).json
    assert [p["id"] for p in listed["items"]] == [made.json["id"]]
    # before its instant: still refused; at it: approved
    with clock.frozen_at(start - timedelta(microseconds=1)):
        refused = client.post(f"{P}/certifications/{cert_id}/approve", json={}, headers=certifier)
        assert refused.json["error"]["code"] == "origin_not_eligible"
    with clock.frozen_at(start):
        assert client.post(f"{P}/certifications/{cert_id}/approve", json={}, headers=certifier).status_code == 200


def test_a_village_entry_covers_a_production_base_in_that_village_only(client, make, session):
    township = _township(session, YUZHONG)
    admin = make.headers(make.user(Role.ADMIN))
    body = {
        "district_id": YUZHONG,
        "township_id": township,
        "village": "红岩村",
        "act": "试点村",
        "eligible_from": (clock.now() - timedelta(days=1)).isoformat(),
    }
    assert client.post(f"{P}/eligible-places", json=body, headers=admin).status_code == 201
    elsewhere, certifier = _pending(client, make, YUZHONG, township, base="别村基地")
    assert client.post(f"{P}/certifications/{elsewhere}/approve", json={}, headers=certifier).status_code == 409
    inside, certifier = _pending(client, make, YUZHONG, township, base="红岩村蔬菜基地")
    assert client.post(f"{P}/certifications/{inside}/approve", json={}, headers=certifier).status_code == 200
    no_township = {**body, "township_id": None}
    assert client.post(f"{P}/eligible-places", json=no_township, headers=admin).status_code == 422


def test_report_lists_certifications_whose_origin_is_no_longer_eligible_own_district_only(client, make, session):
    admin = make.headers(make.user(Role.ADMIN))
    product = make.product(make.supplier(YUZHONG))
    cert = make.certified(product)  # made eligible by an act a year ago
    place_id = client.get(f"{P}/eligible-places", query_string={"district_id": YUZHONG}).json["items"][0]["id"]
    yuzhong, fengjie = make.headers(make.certifier(YUZHONG)), make.headers(make.certifier(FENGJIE))
    regulator = make.headers(make.user(Role.REGULATOR))
    url = f"{P}/supervision/reports/ineligible-certifications"
    assert cert.id not in [c["id"] for c in client.get(url, headers=yuzhong).json["items"]]
    end = clock.now() + timedelta(days=2)
    ended = client.post(f"{P}/eligible-places/{place_id}/end", json={"eligible_until": end.isoformat()}, headers=admin)
    assert ended.status_code == 200
    with clock.frozen_at(end - timedelta(microseconds=1)):
        assert cert.id not in [c["id"] for c in client.get(url, headers=regulator).json["items"]]
    with clock.frozen_at(end):
        assert cert.id in [c["id"] for c in client.get(url, headers=yuzhong).json["items"]]
        assert cert.id in [c["id"] for c in client.get(url, headers=regulator).json["items"]]
        assert cert.id not in [c["id"] for c in client.get(url, headers=fengjie).json["items"]]
    buyer = make.headers(make.user())
    assert client.get(url, headers=buyer).status_code == 403
