from datetime import timedelta

import sqlalchemy as sa

from shop import clock
from shop.auth.models import Role
from shop.inventory import movements
from shop.inventory.models import china_today
from shop.jobs import runner
from shop.monitoring.models import Campaign, CampaignStatus
from shop.procurement import organisations
from shop.procurement.models import OrgKind
from tests.factories import FENGJIE, YUZHONG, valid_uscc
from tests.monitoring.conftest import M, declare
from tests.procurement.conftest import P, make_org
from tests.search.conftest import engine_in_app, index, osmem  # noqa: F401  (both search backends)


def _campaign(client, produce, *, kind="ordinary", target=100, days=10):
    body = {
        "name": "奉节脐橙消纳",
        "kind": kind,
        "target_quantity": target,
        "ends_on": (china_today(clock.now()) + timedelta(days=days)).isoformat(),
        "sku_ids": [produce.sku.id],
    }
    return client.post(f"{M}/campaigns", headers=produce.coordinator, json=body)


def _org(make, session, produce):
    org, purchaser, approver, finance = make_org(make, session)
    headers = {
        "purchaser": make.headers(purchaser),
        "approver": make.headers(approver),
        "finance": make.headers(finance),
        "operator": make.headers(make.operator(produce.hall)),
    }
    return org, headers


def _allocate(client, produce, campaign_id, org_id, quantity):
    body = {
        "organisation_id": org_id,
        "sku_id": produce.sku.id,
        "quantity": quantity,
        "supply_location_id": produce.hall.id,
        "pickup_location_id": produce.hall.id,
    }
    return client.post(f"{M}/campaigns/{campaign_id}/allocations", headers=produce.coordinator, json=body)


def _receive(client, headers, order_id):
    """The organisation's usual flow: submit, approve, pay offline, delivered, received (验收)."""
    order = f"{P}/bulk-orders/{order_id}"
    assert client.post(f"{order}/submit", headers=headers["purchaser"]).status_code == 200
    assert client.post(f"{order}/approve", headers=headers["approver"], json={}).status_code == 200
    payment = client.post(f"{order}/payments", headers=headers["finance"], json={}).json
    confirmed = client.post(
        f"{order}/payments/{payment['id']}/confirm", headers=headers["finance"], json={"reference": "BANK-1"}
    )
    assert confirmed.status_code == 200, confirmed.json
    assert client.post(f"{order}/fulfil", headers=headers["operator"], json={}).status_code == 200
    assert client.post(f"{order}/receive", headers=headers["purchaser"], json={}).status_code == 200


def test_an_ordinary_campaign_is_for_produce_at_risk_an_emergency_one_for_any(client, produce):
    refused = _campaign(client, produce)
    assert refused.status_code == 422 and "sku_ids" in refused.json["error"]["details"]["fields"]
    emergency = _campaign(client, produce, kind="emergency")
    assert emergency.status_code == 201, emergency.json
    declare(client, produce, 100)
    opened = _campaign(client, produce)
    assert opened.status_code == 201 and opened.json["status"] == "open"
    assert opened.json["progress"] == {
        "target": 100,
        "allocated": 0,
        "absorbed": 0,
        "remaining": 100,
        "absorbed_bp": 0,
        "target_met": False,
        "by_organisation": [],
        "by_channel": [],
    }
    assert _campaign(client, produce, kind="emergency").status_code == 201
    assert client.post(f"{M}/campaigns", headers=produce.supplier_member, json={}).status_code in (403, 422)


def test_a_running_campaign_is_public_and_its_prices_may_not_rise(client, produce):
    campaign = _campaign(client, produce, kind="emergency").json
    public = client.get("/api/v1/campaigns").json
    assert [c["id"] for c in public["items"]] == [campaign["id"]]
    assert public["items"][0]["products"][0] == {
        "product_id": produce.product.id,
        "product_name": produce.product.name,
        "sku_id": produce.sku.id,
        "sku_name": produce.sku.name,
        "unit": "box",
        "price_fen": 2000,
    }
    rise = client.patch(f"/api/v1/skus/{produce.sku.id}", headers=produce.supplier_member, json={"price_fen": 2100})
    assert rise.status_code == 409 and rise.json["error"]["code"] == "price_frozen_by_campaign"
    cut = client.patch(f"/api/v1/skus/{produce.sku.id}", headers=produce.supplier_member, json={"price_fen": 1900})
    assert cut.status_code == 200
    closed = client.post(f"{M}/campaigns/{campaign['id']}/close", headers=produce.coordinator, json={})
    assert closed.status_code == 200 and closed.json["status"] == "closed"
    assert client.get("/api/v1/campaigns").json["items"] == []
    assert client.get(f"/api/v1/campaigns/{campaign['id']}").status_code == 404
    rise = client.patch(f"/api/v1/skus/{produce.sku.id}", headers=produce.supplier_member, json={"price_fen": 2100})
    assert rise.status_code == 200


def test_allocations_draft_bulk_orders_counted_from_what_was_received_and_sold(client, make, session, produce):
    campaign = _campaign(client, produce, kind="emergency", target=40).json
    org, headers = _org(make, session, produce)
    allocated = _allocate(client, produce, campaign["id"], org.id, 30)
    assert allocated.status_code == 201, allocated.json
    assert allocated.json["bulk_order_status"] == "draft"
    order = client.get(f"{P}/bulk-orders/{allocated.json['bulk_order_id']}", headers=headers["purchaser"]).json
    assert (order["status"], order["total_fen"], order["organisation_id"]) == ("draft", 60_000, org.id)
    over = _allocate(client, produce, campaign["id"], org.id, 11)
    assert over.status_code == 409 and over.json["error"]["code"] == "target_exceeded"
    # nothing absorbed until the goods are received
    detail = client.get(f"{M}/campaigns/{campaign['id']}", headers=produce.coordinator).json
    assert (detail["allocated_quantity"], detail["progress"]["absorbed"]) == (30, 0)
    _receive(client, headers, allocated.json["bulk_order_id"])
    with clock.frozen_at(clock.now() - timedelta(hours=1)):  # a shelf sale before the campaign opened
        movements.sell(session, produce.hall.id, [{"sku_id": produce.sku.id, "quantity": 5}], now=clock.now())
    progress = client.get(f"{M}/campaigns/{campaign['id']}", headers=produce.coordinator).json["progress"]
    assert progress["absorbed"] == 30  # the shelf sale, an hour ago, was before the campaign opened
    assert progress["by_organisation"] == [
        {"organisation_id": org.id, "organisation_name": org.name, "allocated": 30, "absorbed": 30}
    ]
    assert progress["by_channel"] == [{"channel": "bulk", "absorbed": 30}]
    listed = client.get(f"{M}/campaigns/{campaign['id']}/allocations", headers=produce.coordinator).json
    assert [a["bulk_order_status"] for a in listed["items"]] == ["received"]
    report = client.get(f"{M}/reports/campaigns/export", headers=produce.coordinator, query_string={"format": "csv"})
    assert report.status_code == 200 and "bulk,30" in report.get_data(as_text=True)


def test_a_campaign_closes_on_its_date_and_when_its_target_is_met(app, client, make, session, produce):
    met = _campaign(client, produce, kind="emergency", target=10).json
    later = _campaign(client, produce, kind="emergency", target=10_000, days=1).json
    with clock.frozen_at(clock.now() + timedelta(hours=2)):  # ten sold two hours after the opening
        movements.sell(session, produce.hall.id, [{"sku_id": produce.sku.id, "quantity": 10}], now=clock.now())
        runner.run(app, "monitoring.campaigns")
    session.expire_all()
    assert session.get(Campaign, met["id"]).close_reason == "target met"
    assert session.get(Campaign, later["id"]).status == CampaignStatus.OPEN
    with clock.frozen_at(clock.now() + timedelta(days=2, hours=1)):
        runner.run(app, "monitoring.campaigns")
    session.expire_all()
    assert session.get(Campaign, later["id"]).close_reason == "ended"
    refused = _allocate(client, produce, later["id"], make_org(make, session)[0].id, 1)
    assert refused.status_code == 409 and refused.json["error"]["code"] == "campaign_closed"


def test_allocations_reach_state_owned_enterprises_hospitals_and_schools(client, make, session, produce):
    campaign = _campaign(client, produce, kind="emergency", target=100).json
    for kind in (OrgKind.STATE_OWNED_ENTERPRISE, OrgKind.HOSPITAL, OrgKind.SCHOOL):
        org = organisations.register_organisation(
            session,
            make.actor(make.user()),
            data={
                "name": f"{kind.value} org",
                "kind": kind,
                "district_id": YUZHONG,
                "uscc": valid_uscc(YUZHONG),
                "headcount": 10,
                "contact_name": "张",
                "contact_phone": "13800000000",
            },
            now=clock.now(),
        )
        organisations.verify_organisation(session, make.admin, org.id, now=clock.now())
        assert _allocate(client, produce, campaign["id"], org.id, 10).status_code == 201
    unknown = _allocate(client, produce, campaign["id"], 999_999, 1)
    assert unknown.status_code == 422


def test_campaign_and_at_risk_produce_are_boosted_in_search(client, make, session, produce, index):  # noqa: F811
    twins = []
    for _ in range(3):
        product = make.product(make.supplier(FENGJIE, name="果园"), name="奉节脐橙 navel")
        make.certified(product)
        twins.append(product)
    index.refresh()

    def order():
        body = client.get("/api/v1/search", query_string={"q": "脐橙", "size": 50}).json
        assert body["backend"] == ("elasticsearch" if index.name == "engine" else "embedded")
        return [item["id"] for item in body["items"] if item["id"] in {t.id for t in twins}]

    assert order() == [t.id for t in twins]  # equal text, equal boosts: by id
    campaign = client.post(
        f"{M}/campaigns",
        headers=produce.coordinator,
        json={
            "name": "急",
            "kind": "emergency",
            "target_quantity": 10,
            "ends_on": china_today(clock.now()).isoformat(),
            "sku_ids": [twins[2].skus[0].id],
        },
    ).json
    index.refresh()
    assert order()[0] == twins[2].id
    client.post(f"{M}/campaigns/{campaign['id']}/close", headers=produce.coordinator, json={})
    index.refresh()
    assert order() == [t.id for t in twins]
    # a product at warning or critical risk is boosted too
    member = make.headers(make.user((Role.SUPPLIER_MEMBER, twins[1].supplier_id)))
    body = {
        "expected_quantity": 100,
        "expected_kg": 50,
        "unsold_quantity": 100,
        "unsold_kg": 50,
        "harvest_from": china_today(clock.now()).isoformat(),
        "harvest_until": china_today(clock.now()).isoformat(),
        "keeps_days": 5,
    }
    assert client.put(f"{M}/products/{twins[1].id}/declaration", headers=member, json=body).status_code == 200
    index.refresh()
    assert order()[0] == twins[1].id
    assert session.scalar(sa.select(sa.func.count()).select_from(Campaign)) == 1


def test_an_allocation_tells_the_organisation_of_its_draft_once(client, make, session, produce):
    def notes(headers):
        items = client.get("/api/v1/notifications", headers=headers).json["items"]
        return [i for i in items if i["kind"] == "campaign_allocation"]

    campaign = _campaign(client, produce, kind="emergency", target=40).json
    org, headers = _org(make, session, produce)
    allocated = _allocate(client, produce, campaign["id"], org.id, 30)
    assert allocated.status_code == 201, allocated.json
    for who in ("purchaser", "approver"):
        (note,) = notes(headers[who])
        assert note["data"]["bulk_order_id"] == allocated.json["bulk_order_id"]
    assert _allocate(client, produce, campaign["id"], org.id, 11).status_code == 409  # rolled back: no note
    assert len(notes(headers["approver"])) == 1
    _other_org, other_headers = _org(make, session, produce)
    assert notes(other_headers["approver"]) == []


def test_an_allocation_retried_with_its_idempotency_key_is_made_once(client, make, session, produce):
    campaign = _campaign(client, produce, kind="emergency", target=40).json
    org, _headers = _org(make, session, produce)
    body = {
        "organisation_id": org.id,
        "sku_id": produce.sku.id,
        "quantity": 30,
        "supply_location_id": produce.hall.id,
        "pickup_location_id": produce.hall.id,
    }
    url = f"{M}/campaigns/{campaign['id']}/allocations"
    headers = {**produce.coordinator, "Idempotency-Key": "alloc-1"}
    first, again = (client.post(url, headers=headers, json=body) for _ in range(2))
    assert first.status_code == again.status_code == 201, first.json
    assert again.json["bulk_order_id"] == first.json["bulk_order_id"]
    listed = client.get(url, headers=produce.coordinator).json
    assert listed["total"] == 1
    reused = client.post(url, headers=headers, json={**body, "quantity": 5})
    assert reused.status_code == 409 and reused.json["error"]["code"] == "idempotency_key_reused"
