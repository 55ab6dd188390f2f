from datetime import timedelta

from shop import clock
from shop.auth.models import Role
from shop.certification import service as certification
from shop.inventory import movements, reservations
from shop.inventory.models import LocationKind, china_today
from tests.factories import ANPING, FENGJIE, WUSHAN, YUZHONG


def test_availability_lists_pickup_points_with_sellable_stock(client, make, session):
    product = make.product(make.supplier(FENGJIE), township_id=ANPING)
    make.certified(product, published_at=clock.now() - timedelta(days=60))
    sku = product.skus[0]
    centre = make.centre()
    hall = make.hall(district_id=FENGJIE, opening_hours={"mon": [{"opens": "00:00", "closes": "24:00"}]})
    counter = make.counter(hall, district_id=YUZHONG)
    zone = make.location(LocationKind.ZONE, centre, district_id=WUSHAN)
    closed = make.hall(district_id=FENGJIE)
    empty = make.hall(district_id=FENGJIE)
    today = china_today(clock.now())
    make.stock(hall, sku, 4)
    make.stock(counter, sku, 2, best_before=today + timedelta(days=1))  # expires before the zone's
    make.stock(zone, sku, 1)
    make.stock(closed, sku, 9)
    make.stock(centre, sku, 50)  # the centre is not a pickup point
    make.stock(empty, sku, 1)
    movements.sell(session, empty.id, [{"sku_id": sku.id, "quantity": 1}], now=clock.now())
    closed.is_active = False
    reservations.reserve_stock(
        session, location_id=zone.id, reference="order:z", lines=[{"sku_id": sku.id, "quantity": 1}], now=clock.now()
    )  # all reserved
    session.flush()

    url = f"/api/v1/products/{product.id}/availability"
    body = client.get(url).json
    # by district (Yuzhong's code is lower than Fengjie's), then id
    assert [(a["location"]["id"], a["skus"][0]["available"]) for a in body["items"]] == [(counter.id, 2), (hall.id, 4)]
    assert body["total"] == 2
    by_id = {a["location"]["id"]: a for a in body["items"]}
    assert by_id[counter.id]["location"]["host_institution"] == "重庆医科大学附属第一医院"
    assert by_id[hall.id]["skus"][0]["sku"]["price_fen"] == sku.price_fen
    assert by_id[counter.id]["open_now"] is False  # no opening hours given
    fengjie = client.get(f"{url}?district_id={FENGJIE}").json["items"]
    assert [a["location"]["id"] for a in fengjie] == [hall.id]
    with clock.frozen_at(clock.now() + timedelta(days=2)):
        later = client.get(url).json["items"]
        assert [a["location"]["id"] for a in later] == [hall.id]


def test_availability_only_for_products_in_force(client, make):
    product = make.product()
    hall = make.hall()
    make.stock(hall, product.skus[0], 3)
    assert client.get(f"/api/v1/products/{product.id}/availability").status_code == 404
    assert client.get("/api/v1/products/999999/availability").status_code == 404
    assert client.get(f"/api/v1/products/{product.id}/availability?district_id=x").status_code == 422


def test_trace_code_tells_producer_origin_dates_and_certification(client, make, session):
    supplier = make.supplier(FENGJIE, name="奉节县安坪脐橙专业合作社")
    product = make.product(
        supplier,
        township_id=ANPING,
        name="奉节脐橙",
        labels=[{"kind": "geographical_indication", "certificate_no": "AGI00001"}],
    )
    cert = make.certified(product, published_at=clock.now() - timedelta(days=60))
    today = china_today(clock.now())
    make.stock(make.hall(), product.skus[0], 5, produced_on=today - timedelta(days=4), trace_code="FJ-20261124-A01")
    body = client.get("/api/v1/trace/FJ-20261124-A01").json
    assert body["producer"]["name"] == "奉节县安坪脐橙专业合作社"
    assert body["origin_district"]["name"] == "奉节县" and body["origin_township"]["name"] == "安坪镇"
    assert body["produced_on"] == (today - timedelta(days=4)).isoformat() and body["expired"] is False
    assert body["product"]["name"] == "奉节脐橙" and body["labels"][0]["certificate_no"] == "AGI00001"
    assert body["certification"]["certificate_no"] == cert.certificate_no
    assert (body["certification"]["status"], body["certification"]["in_force"]) == ("in_force", True)

    regulator = make.actor(make.user(Role.REGULATOR))
    certification.revoke_certification(session, regulator, cert.id, now=clock.now(), reason="抽检不合格")
    session.flush()
    lapsed = client.get("/api/v1/trace/FJ-20261124-A01").json["certification"]
    assert (lapsed["status"], lapsed["in_force"]) == ("revoked", False)
    assert client.get("/api/v1/trace/NOPE-0000").status_code == 404
