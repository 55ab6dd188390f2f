from shop.auth.models import Role
from tests.factories import ANPING, FENGJIE, PINGAN, WUSHAN, YUZHONG
from tests.supervision.conftest import P

SHA = "cd" * 32
LABEL = {"kind": "green_food", "certificate_no": "LB2026-01", "evidence_url": "https://docs.example.com/g.pdf"}


def _setup(make, session):
    supplier = make.supplier(FENGJIE)
    product = make.product(supplier, township_id=ANPING)
    cert = make.certified(product)
    member = make.headers(make.user((Role.SUPPLIER_MEMBER, supplier.id)))
    return product, cert, member


def test_certified_facts_are_locked_but_price_description_and_images_stay_free(client, make, session):
    product, _cert, member = _setup(make, session)
    for change in ({"origin_township_id": PINGAN}, {"kind": "service"}, {"labels": [LABEL | {"evidence_sha256": SHA}]}):
        refused = client.patch(f"{P}/products/{product.id}", json=change, headers=member)
        assert refused.status_code == 409 and refused.json["error"]["code"] == "certified_fact_locked", change
    free = client.patch(f"{P}/products/{product.id}", json={"description": "新描述", "images": []}, headers=member)
    assert free.status_code == 200
    sku = product.skus[0]
    assert client.patch(f"{P}/skus/{sku.id}", json={"price_fen": 1200}, headers=member).status_code == 200
    # the same origin given again is no change
    same = client.patch(f"{P}/products/{product.id}", json={"origin_township_id": ANPING}, headers=member)
    assert same.status_code == 200
    # an uncertified product is edited freely
    other = make.product(make.supplier(FENGJIE))
    admin = make.headers(make.user(Role.ADMIN))
    assert client.patch(f"{P}/products/{other.id}", json={"kind": "service"}, headers=admin).status_code == 200


def test_an_amendment_approved_by_the_district_certifier_applies_and_verifies_its_labels(client, make, session):
    product, cert, member = _setup(make, session)
    body = {"origin_township_id": PINGAN, "production_base": "平安乡基地", "labels": [LABEL], "reason": "基地搬迁"}
    assert client.post(f"{P}/products/{product.id}/amendments", json=body, headers=member).status_code == 422
    body["labels"] = [LABEL | {"evidence_sha256": SHA.upper()}]
    made = client.post(f"{P}/products/{product.id}/amendments", json=body, headers=member)
    assert made.status_code == 201, made.json
    amendment = made.json
    assert amendment["status"] == "pending" and amendment["district_id"] == FENGJIE
    assert (
        amendment["previous"]["origin_township_id"] == ANPING and amendment["changes"]["origin_township_id"] == PINGAN
    )
    again = client.post(f"{P}/products/{product.id}/amendments", json=body, headers=member)
    assert again.status_code == 409 and again.json["error"]["code"] == "amendment_pending"

    wushan = make.headers(make.certifier(WUSHAN))
    assert client.get(f"{P}/amendments/{amendment['id']}", headers=wushan).status_code == 404
    assert client.get(f"{P}/amendments", headers=wushan).json["total"] == 0
    assert client.post(f"{P}/amendments/{amendment['id']}/approve", json={}, headers=wushan).status_code == 404
    assert client.post(f"{P}/amendments/{amendment['id']}/approve", json={}, headers=member).status_code == 403

    fengjie = make.headers(make.certifier(FENGJIE))
    assert client.get(f"{P}/amendments", headers=fengjie).json["total"] == 1
    approved = client.post(f"{P}/amendments/{amendment['id']}/approve", json={"reason": "核实"}, headers=fengjie)
    assert approved.status_code == 200 and approved.json["status"] == "approved"
    assert [e["to_status"] for e in approved.json["events"]] == ["pending", "approved"]
    shown = client.get(f"{P}/products/{product.id}").json
    assert shown["origin_township"]["id"] == PINGAN
    assert shown["labels"][0]["verified"] is True and shown["labels"][0]["evidence_sha256"] == SHA
    session.refresh(cert)
    assert cert.production_base == "平安乡基地" and cert.township_id == PINGAN
    twice = client.post(f"{P}/amendments/{amendment['id']}/reject", json={"reason": "x"}, headers=fengjie)
    assert twice.status_code == 409 and twice.json["error"]["code"] == "illegal_transition"


def test_a_rejected_amendment_changes_nothing_and_an_ineligible_new_origin_is_refused(client, make, session):
    product, _cert, member = _setup(make, session)
    fengjie = make.headers(make.certifier(FENGJIE))
    made = client.post(
        f"{P}/products/{product.id}/amendments", json={"kind": "service", "reason": "改为服务"}, headers=member
    ).json
    rejected = client.post(f"{P}/amendments/{made['id']}/reject", json={"reason": "不符"}, headers=fengjie)
    assert rejected.status_code == 200 and rejected.json["decision_reason"] == "不符"
    assert client.get(f"{P}/products/{product.id}").json["kind"] == "goods"
    moved = client.post(
        f"{P}/products/{product.id}/amendments", json={"origin_district_id": YUZHONG, "reason": "迁址"}, headers=member
    ).json
    refused = client.post(f"{P}/amendments/{moved['id']}/approve", json={}, headers=fengjie)
    assert refused.status_code == 409 and refused.json["error"]["code"] == "origin_not_eligible"
    assert client.post(f"{P}/amendments/{moved['id']}/withdraw", headers=member).json["status"] == "withdrawn"
    same = {"kind": "goods", "reason": "x"}
    nothing = client.post(f"{P}/products/{product.id}/amendments", json=same, headers=member)
    assert nothing.status_code == 422


def test_labels_show_unverified_until_the_district_certifier_verifies_their_evidence(client, make, session):
    supplier = make.supplier(FENGJIE)
    product = make.product(
        supplier,
        labels=[
            LABEL | {"evidence_sha256": SHA},
            {"kind": "organic", "certificate_no": "OR-1"},
        ],
    )
    wushan, fengjie = make.headers(make.certifier(WUSHAN)), make.headers(make.certifier(FENGJIE))
    url = f"{P}/products/{product.id}/labels"
    assert client.post(f"{url}/green_food/verify", headers=wushan).status_code == 403
    no_evidence = client.post(f"{url}/organic/verify", headers=fengjie)
    assert no_evidence.status_code == 409 and no_evidence.json["error"]["code"] == "label_without_evidence"
    assert client.post(f"{url}/geographical_indication/verify", headers=fengjie).status_code == 404
    verified = client.post(f"{url}/green_food/verify", headers=fengjie)
    assert verified.status_code == 200 and verified.json["verified"] is True
    make.certified(product)
    shown = {lb["kind"]: lb["verified"] for lb in client.get(f"{P}/products/{product.id}").json["labels"]}
    assert shown == {"green_food": True, "organic": False}
