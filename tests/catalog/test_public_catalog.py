"""The public catalog as shoppers see it: what a page carries, how many statements it costs, and its
cache keyed by the catalog version, exact after every change and at every certification boundary."""

from datetime import time, timedelta

import pytest
import sqlalchemy as sa

from shop import clock, create_app, settings
from shop.auth import service as auth_service
from shop.auth.models import Role
from shop.bookings import capacity, offerings
from shop.bookings.models import UnitKind
from shop.catalog import service as catalog
from shop.catalog.models import CatalogVersion, ProductKind
from shop.catalog.schemas import ProductSchema
from shop.catalog.version import next_midnight
from shop.certification import service as certification
from shop.db import transaction
from shop.inventory import locations, movements
from shop.inventory.models import Batch, china_today
from shop.monitoring import cold_chain
from shop.monitoring.models import Quarantine
from tests.conftest import TEST_CONFIG
from tests.factories import Factory

NEW_FIELDS = {"certificate_no", "price_min_fen", "price_max_fen", "availability"}


def _token(session) -> str:
    return session.scalar(sa.select(CatalogVersion.token).execution_options(populate_existing=True))


def _item(client, product_id, query=""):
    body = client.get(f"/api/v1/products?size=100{query}").json
    return next((item for item in body["items"] if item["id"] == product_id), None)


@pytest.fixture
def catalog_settings(app):
    """Change the catalog's settings of the shared app for one test (restored afterwards)."""
    saved = dict(app.config)

    def change(**values):
        app.config.update(values)
        return settings.install(app).catalog

    yield change
    app.config.clear()
    app.config.update(saved)
    settings.install(app)


def test_a_page_carries_price_range_availability_certificate_origin_and_labels(client, make, session):
    product = make.product(labels=[{"kind": "organic", "certificate_no": "O-77"}], township_id=None, price_fen=1200)
    big = catalog.add_sku(
        session, make.admin, product.id, data={"code": f"BIG-{product.id}", "price_fen": 5900, "unit": "box"}
    )
    cert = make.certified(product)
    hall, counter = make.hall(), make.counter()
    make.stock(hall, product.skus[0], 5)
    make.stock(counter, big, 2)
    item = _item(client, product.id)
    assert item["price_min_fen"] == 1200 and item["price_max_fen"] == 5900
    assert item["availability"] == {"in_stock": True, "stocked_locations": 2, "bookable": None}
    only_centre = make.product()
    make.certified(only_centre)
    make.stock(make.centre(), only_centre.skus[0], 40)  # waits to be sent out: nobody buys it there
    assert _item(client, only_centre.id)["availability"] == {
        "in_stock": False,
        "stocked_locations": 0,
        "bookable": None,
    }
    assert item["certificate_no"] == cert.certificate_no == item["certification"]["certificate_no"]
    assert item["origin_district"]["id"] == product.origin_district_id
    assert item["labels"] == [
        {"kind": "organic", "certificate_no": "O-77", "evidence_url": None, "evidence_sha256": None, "verified": False}
    ]
    detail = client.get(f"/api/v1/products/{product.id}").json
    assert detail == item


def test_the_page_keeps_every_field_it_had(client, make, session):
    """Backward compatible: without the added fields, an item is what the schema dumped before."""
    brand = make.brand()
    product = make.product(brand_id=brand.id, labels=[{"kind": "green_food", "certificate_no": "G-1"}])
    make.certified(product)
    session.expire_all()
    dumped = ProductSchema().dump(catalog.get_public_product(session, product.id, clock.now()))
    before = {k: v for k, v in dumped.items() if k not in NEW_FIELDS} | {"booking": None}
    now = {k: v for k, v in _item(client, product.id).items() if k not in NEW_FIELDS}
    assert now == before


def test_a_page_costs_at_most_four_statements_whatever_its_size(client, make, count_queries):
    for _ in range(51):
        make.certified(make.product(labels=[{"kind": "organic", "certificate_no": "O1"}]))
    counts = []
    for size in (1, 50):
        with count_queries() as counter:
            response = client.get(f"/api/v1/products?size={size}")
        assert len(response.json["items"]) == size
        counts.append(counter.count)
    assert counts == [4, 4], counts
    with count_queries() as counter:  # warm: the version only
        client.get("/api/v1/products?size=50")
    assert counter.count == 1


def test_a_detail_costs_at_most_four_statements(client, make, count_queries, session):
    goods = make.certified().product_id
    service = _homestay(make, session)["product"].id
    for product_id in (goods, service):
        with count_queries() as counter:
            assert client.get(f"/api/v1/products/{product_id}").status_code == 200
        assert counter.count <= 4, counter.statements


def test_a_price_change_is_seen_by_the_very_next_request(client, make, session):
    cert = make.certified()
    sku = cert.product.skus[0]
    member = make.user((Role.SUPPLIER_MEMBER, cert.product.supplier_id))
    first = client.get(f"/api/v1/products/{cert.product_id}")
    etag = first.headers["ETag"]
    assert client.get(f"/api/v1/products/{cert.product_id}", headers={"If-None-Match": etag}).status_code == 304
    changed = client.patch(f"/api/v1/skus/{sku.id}", json={"price_fen": 990}, headers=make.headers(member))
    assert changed.status_code == 200
    again = client.get(f"/api/v1/products/{cert.product_id}", headers={"If-None-Match": etag})
    assert again.status_code == 200 and again.headers["ETag"] != etag
    assert again.json["price_min_fen"] == 990
    assert _item(client, cert.product_id)["skus"][0]["price_fen"] == 990


def test_a_stock_out_is_seen_and_other_sales_leave_the_version_alone(client, make, session):
    cert = make.certified()
    sku = cert.product.skus[0]
    hall = make.hall()
    make.stock(hall, sku, 3)
    session.commit()  # each change below is a transaction of its own, as in a request
    assert _item(client, cert.product_id)["availability"]["in_stock"] is True
    token = _token(session)
    movements.sell(session, hall.id, [{"sku_id": sku.id, "quantity": 2}], now=clock.now())
    session.commit()
    assert _token(session) == token  # 3 -> 1: still available, no bump
    assert _item(client, cert.product_id)["availability"]["stocked_locations"] == 1
    movements.sell(session, hall.id, [{"sku_id": sku.id, "quantity": 1}], now=clock.now())
    session.commit()
    assert _token(session) != token  # 1 -> 0: a flip
    assert _item(client, cert.product_id)["availability"] == {
        "in_stock": False,
        "stocked_locations": 0,
        "bookable": None,
    }
    make.stock(hall, sku, 4)  # back from zero: a flip again
    session.commit()
    assert _item(client, cert.product_id)["availability"]["in_stock"] is True


def test_a_checkout_that_reserves_the_last_units_is_seen(client, make, session):
    cert = make.certified()
    sku = cert.product.skus[0]
    hall = make.hall()
    make.stock(hall, sku, 2)
    buyer = make.headers(make.user())
    session.commit()
    assert _item(client, cert.product_id)["availability"]["stocked_locations"] == 1
    line = {"sku_id": sku.id, "quantity": 2, "location_id": hall.id, "fulfilment": "pickup"}
    assert client.post("/api/v1/cart/lines", json=line, headers=buyer).status_code == 201
    assert client.post("/api/v1/orders", json={}, headers=buyer).status_code == 201
    assert _item(client, cert.product_id)["availability"] == {
        "in_stock": False,
        "stocked_locations": 0,
        "bookable": None,
    }


@pytest.fixture
def two_places(make, session):
    """A certified product with a batch at a hall and one at a counter, committed."""
    cert = make.certified()
    sku = cert.product.skus[0]
    hall = make.hall()
    counter = make.counter(hall)
    codes = {hall.id: make.stock(hall, sku, 3), counter.id: make.stock(counter, sku, 4)}
    session.commit()
    return {"product_id": cert.product_id, "sku": sku, "hall": hall, "counter": counter, "codes": codes}


def _stocked(client, product_id) -> int:
    availability = _item(client, product_id)["availability"]
    assert availability["in_stock"] is (availability["stocked_locations"] > 0)
    detail = client.get(f"/api/v1/products/{product_id}").json["availability"]
    assert detail == availability
    return availability["stocked_locations"]


def test_a_frozen_batch_is_not_in_stock_from_the_next_request(client, make, session, two_places):
    product_id, codes = two_places["product_id"], two_places["codes"]
    assert _stocked(client, product_id) == 2  # cached
    batch = session.scalar(sa.select(Batch).where(Batch.trace_code == codes[two_places["hall"].id]))
    batch.frozen_at = clock.now()  # what a failed spot check does, everywhere the batch lies
    session.commit()
    assert _stocked(client, product_id) == 1
    batch.frozen_at = None
    session.commit()
    assert _stocked(client, product_id) == 2
    session.expire(batch, ["frozen_at"])
    batch.frozen_at = clock.now()  # set with its old value not loaded: still a change
    session.commit()
    assert _stocked(client, product_id) == 1


def _overheat(session, counter_id) -> None:
    """40 minutes out of a chilled range at the counter: the incident opens and quarantines its batches."""
    now = clock.now()
    for at in (now - timedelta(minutes=40), now):
        cold_chain.observe_temperature(session, counter_id, 9.5, now=at, excursion_minutes=30)
    session.commit()


def test_a_quarantined_batch_is_not_in_stock_and_its_release_brings_it_back(client, make, session, two_places):
    product_id, sku, counter = two_places["product_id"], two_places["sku"], two_places["counter"]
    cold_chain.set_storage(session, make.admin, sku.id, data={"storage_class": "chilled"}, now=clock.now())
    session.commit()
    assert _stocked(client, product_id) == 2  # cached
    _overheat(session, counter.id)
    assert _stocked(client, product_id) == 1
    quarantine = session.scalar(sa.select(Quarantine).where(Quarantine.location_id == counter.id))
    cold_chain.release(session, make.admin, quarantine.id, note="2.8 °C", now=clock.now())
    session.commit()
    assert _stocked(client, product_id) == 2


def test_a_written_off_quarantine_stays_out_of_stock(client, make, session, two_places):
    product_id, sku, counter = two_places["product_id"], two_places["sku"], two_places["counter"]
    cold_chain.set_storage(session, make.admin, sku.id, data={"storage_class": "chilled"}, now=clock.now())
    _overheat(session, counter.id)
    assert _stocked(client, product_id) == 1
    quarantine = session.scalar(sa.select(Quarantine).where(Quarantine.location_id == counter.id))
    cold_chain.write_off(session, make.admin, quarantine.id, note="warm", now=clock.now())
    session.commit()
    assert _stocked(client, product_id) == 1
    make.stock(counter, sku, 2)  # a fresh batch at the counter sells again
    session.commit()
    assert _stocked(client, product_id) == 2


def test_a_batch_is_in_stock_through_its_best_before_day_and_not_after(client, make, session):
    cert = make.certified()
    sku = cert.product.skus[0]
    hall, counter = make.hall(), make.counter()
    today = china_today(clock.now())
    make.stock(hall, sku, 3, best_before=today, produced_on=today - timedelta(days=2))
    make.stock(counter, sku, 3)
    session.commit()
    midnight = next_midnight(clock.now())
    with clock.frozen_at(midnight - timedelta(microseconds=1)):
        assert _stocked(client, cert.product_id) == 2  # cached until the day's end
    with clock.frozen_at(midnight):
        assert _stocked(client, cert.product_id) == 1


def test_an_inactive_location_is_not_counted(client, make, session, two_places):
    product_id, counter = two_places["product_id"], two_places["counter"]
    assert _stocked(client, product_id) == 2  # cached
    locations.update_location(session, make.admin, counter.id, data={"is_active": False})
    session.commit()
    assert _stocked(client, product_id) == 1
    locations.update_location(session, make.admin, counter.id, data={"is_active": True})
    session.commit()
    assert _stocked(client, product_id) == 2


def test_selling_out_one_batch_while_another_is_expired_is_seen(client, make, session):
    """The units of a stock level stay above zero (an expired batch), yet none can be sold."""
    cert = make.certified()
    sku = cert.product.skus[0]
    hall = make.hall()
    today = china_today(clock.now())
    make.stock(hall, sku, 5, best_before=today, produced_on=today - timedelta(days=9))
    make.stock(hall, sku, 2)
    session.commit()
    with clock.frozen_at(next_midnight(clock.now()) + timedelta(hours=1)):  # the first batch expired
        assert _stocked(client, cert.product_id) == 1
        movements.sell(session, hall.id, [{"sku_id": sku.id, "quantity": 2}], now=clock.now())
        session.commit()
        assert _stocked(client, cert.product_id) == 0


def test_a_revocation_is_seen_by_the_very_next_request(client, make, session):
    cert = make.certified()
    session.commit()
    assert _item(client, cert.product_id) is not None
    assert client.get(f"/api/v1/products/{cert.product_id}").status_code == 200
    certification.revoke_certification(session, make.regulator(), cert.id, reason="spot check", now=clock.now())
    session.commit()
    assert _item(client, cert.product_id) is None
    assert client.get(f"/api/v1/products/{cert.product_id}").status_code == 404


def test_an_expiry_and_a_coming_into_force_are_seen_at_their_instant(client, make):
    cert = make.certified()
    coming = make.certified(published_at=clock.now() - timedelta(days=1), objection_days=7)
    with clock.frozen_at(cert.valid_until - timedelta(microseconds=1)):
        assert _item(client, cert.product_id) is not None  # cached now
        etag = client.get(f"/api/v1/products/{cert.product_id}").headers["ETag"]
    with clock.frozen_at(cert.valid_until):
        assert _item(client, cert.product_id) is None
        gone = client.get(f"/api/v1/products/{cert.product_id}", headers={"If-None-Match": etag})
        assert gone.status_code == 404
    with clock.frozen_at(coming.valid_from - timedelta(microseconds=1)):
        assert _item(client, coming.product_id) is None
    with clock.frozen_at(coming.valid_from):
        assert _item(client, coming.product_id) is not None


def _homestay(make, session, capacity_per_slot=2):
    supplier = make.supplier()
    product = make.product(supplier, kind=ProductKind.SERVICE, price_fen=30_000)
    make.certified(product, published_at=clock.now() - timedelta(days=60))
    provider = make.user()
    auth_service.add_grant(session, provider, Role.SUPPLIER_MEMBER, supplier.id, granted_by_id=None)
    actor = make.actor(provider)
    offering = offerings.create_offering(
        session,
        actor,
        product.id,
        data={
            "sku_id": product.skus[0].id,
            "unit_kind": UnitKind.ROOM,
            "name": "Double room",
            "meeting_point": "游客中心",
            "guests_per_unit": 2,
            "max_party": 4,
            "weekday_price_fen": 30_000,
            "weekend_price_fen": 40_000,
            "holiday_price_fen": 50_000,
        },
        now=clock.now(),
    )
    first = china_today(clock.now()) + timedelta(days=1)
    slots = offerings.add_slots(
        session,
        actor,
        offering.id,
        data={
            "first_day": first,
            "last_day": first,
            "start_times": [time(14, 0)],
            "minutes": 60,
            "capacity": capacity_per_slot,
            "holidays": [],
        },
        now=clock.now(),
    )
    session.flush()
    return {"product": product, "slot": slots[0]}


def test_a_service_is_bookable_until_its_last_place_is_taken(client, make, session):
    stay = _homestay(make, session)
    session.commit()
    product_id, slot = stay["product"].id, stay["slot"]
    assert _item(client, product_id)["availability"]["bookable"] is True
    detail = client.get(f"/api/v1/products/{product_id}").json
    assert detail["booking"]["bookable"] is True and detail["availability"]["bookable"] is True
    capacity.take(session, slot.id, 2, now=clock.now())
    session.commit()
    assert _item(client, product_id)["availability"]["bookable"] is False
    capacity.give_back(session, slot.id, 1)
    session.commit()
    assert _item(client, product_id)["availability"]["bookable"] is True


def test_totals_are_exact_up_to_the_bound_then_flagged(client, make, catalog_settings):
    catalog_settings(CATALOG_COUNT_BOUND=3)
    supplier = make.supplier()
    for _ in range(5):
        make.certified(make.product(supplier))
    other = make.certified().product
    page = client.get("/api/v1/products?size=2").json
    assert page["total"] == 4 and page["total_is_estimate"] is True
    assert len(page["items"]) == 2
    mine = client.get(f"/api/v1/products?size=2&supplier_id={other.supplier_id}").json
    assert mine["total"] == 1 and mine["total_is_estimate"] is False
    last = client.get("/api/v1/products?size=4&page=2").json
    assert last["total"] == 6 and last["total_is_estimate"] is False


def test_a_redis_cache_is_shared_and_exact(client, make, session, catalog_settings):
    redis = pytest.importorskip("redis")
    server = redis.Redis.from_url("redis://127.0.0.1:6379/5", socket_connect_timeout=0.5)
    try:
        server.ping()
    except redis.RedisError:
        pytest.skip("no Redis at 127.0.0.1:6379")
    cache = catalog_settings(CATALOG_CACHE_URL="redis://127.0.0.1:6379/5")
    cache.cache.clear()
    cert = make.certified()
    sku = cert.product.skus[0]
    assert client.get(f"/api/v1/products/{cert.product_id}").json["price_min_fen"] == sku.price_fen
    assert any(server.scan_iter(match=cache.cache.prefix + "*"))
    member = make.user((Role.SUPPLIER_MEMBER, cert.product.supplier_id))
    client.patch(f"/api/v1/skus/{sku.id}", json={"price_fen": 777}, headers=make.headers(member))
    assert client.get(f"/api/v1/products/{cert.product_id}").json["price_min_fen"] == 777
    cache.cache.clear()


def test_two_workers_with_their_own_caches_see_each_others_commits(committed_app):
    """Real commits on PostgreSQL (where the version is read outside the request's transaction): a
    change committed through one worker is seen by the very next request of another."""
    other = create_app({**TEST_CONFIG, "DATABASE_URL": committed_app.config["DATABASE_URL"]})
    factory = committed_app.extensions["shop"]["sessionmaker"]
    with committed_app.app_context(), transaction(factory) as session:
        make = Factory(committed_app, session)
        cert = make.certified()
        hall = make.hall()
        sku_id, product_id = cert.product.skus[0].id, cert.product_id
        make.stock(hall, cert.product.skus[0], 1)
        member = make.headers(make.user((Role.SUPPLIER_MEMBER, cert.product.supplier_id)))
        hall_id = hall.id
    first, second = committed_app.test_client(), other.test_client()
    try:
        for client in (first, second):
            assert client.get(f"/api/v1/products/{product_id}").json["availability"]["in_stock"] is True
        assert first.patch(f"/api/v1/skus/{sku_id}", json={"price_fen": 4321}, headers=member).status_code == 200
        assert second.get(f"/api/v1/products/{product_id}").json["price_min_fen"] == 4321
        with other.app_context(), transaction(other.extensions["shop"]["sessionmaker"]) as session:
            movements.sell(session, hall_id, [{"sku_id": sku_id, "quantity": 1}], now=clock.now())
        assert first.get(f"/api/v1/products/{product_id}").json["availability"]["in_stock"] is False
    finally:
        other.extensions["shop"]["engine"].dispose()
