"""Parallel requests on PostgreSQL with real commits: one hot SKU at one location never goes below
zero, whatever mix of cabinet sales, counter sales, transfers and reservations hits it at once, and the
ledger check finds no drift; a cabinet event sent many times at once moves stock once."""

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import sqlalchemy as sa

from shop import clock, create_app, migrate
from shop.auth.models import Role
from shop.db import transaction
from shop.errors import DomainError
from shop.inventory import reservations
from shop.inventory.ledger import check_balances
from shop.inventory.models import CounterEvent, Movement, MovementKind, StockLevel, china_today
from tests.conftest import TEST_CONFIG
from tests.factories import Factory

STOCK = 30


def _world(app):
    with app.app_context(), transaction(app.extensions["shop"]["sessionmaker"]) as session:
        make = Factory(app, session)
        hall = make.hall()
        counter = make.counter(hall)
        sku = make.sku()
        today = china_today(clock.now())
        for days in (3, 9, 20):  # three batches: FEFO moves across them under load
            make.stock(counter, sku, STOCK // 3, best_before=today + timedelta(days=days))
        return {
            "hall": hall.id,
            "counter": counter.id,
            "sku": sku.id,
            "key": make.counter_key(counter),
            "operator": make.headers(make.operator(hall)),
            "admin": make.headers(make.user(Role.ADMIN)),
        }


def _levels(app, w):
    with transaction(app.extensions["shop"]["sessionmaker"]) as session:
        level = session.get(StockLevel, (w["counter"], w["sku"]))
        drifts = check_balances(session)
        moved = session.scalar(
            sa.select(sa.func.sum(Movement.on_hand_delta)).where(
                Movement.location_id == w["counter"], Movement.kind != MovementKind.RECEIVE
            )
        )
        events = session.scalar(sa.select(sa.func.count()).select_from(CounterEvent))
        return level.on_hand, level.reserved, drifts, -(moved or 0), events


def test_parallel_sales_transfers_and_reservations_never_oversell(committed_app):
    w = _world(committed_app)
    sessionmaker = committed_app.extensions["shop"]["sessionmaker"]

    def task(i):
        client = committed_app.test_client()
        quantity = 1 + i % 3
        kind = i % 4
        if kind == 0:
            body = {
                "event_id": f"par-{i}",
                "occurred_at": clock.now().isoformat(),
                "items": [{"sku_id": w["sku"], "quantity": quantity}],
            }
            response = client.post(
                f"/api/v1/counters/{w['counter']}/sales", json=body, headers={"X-Counter-Key": w["key"]}
            )
        elif kind == 1:
            body = {"lines": [{"sku_id": w["sku"], "quantity": quantity}]}
            response = client.post(f"/api/v1/locations/{w['counter']}/sales", json=body, headers=w["operator"])
        elif kind == 2:
            body = {
                "from_location_id": w["counter"],
                "to_location_id": w["hall"],
                "lines": [{"sku_id": w["sku"], "quantity": quantity}],
            }
            response = client.post("/api/v1/transfers", json=body, headers=w["operator"])
        else:
            try:
                with committed_app.app_context(), transaction(sessionmaker) as session:
                    reservations.reserve_stock(
                        session,
                        location_id=w["counter"],
                        reference=f"order:{i}",
                        lines=[{"sku_id": w["sku"], "quantity": quantity}],
                        now=clock.now(),
                    )
                return ("reserve", quantity, 201)
            except DomainError as error:
                return ("reserve", quantity, error.status)
        return (kind, quantity, response.status_code)

    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(task, range(64)))
    statuses = {status for _, _, status in results}
    assert statuses <= {201, 409}, results
    taken = sum(q for kind, q, status in results if status == 201 and kind != "reserve")
    reserved = sum(q for kind, q, status in results if status == 201 and kind == "reserve")
    assert 409 in statuses  # the demand (about 128 units) was well above the 30 in stock
    on_hand, level_reserved, drifts, moved, events = _levels(committed_app, w)
    assert drifts == []
    assert on_hand == STOCK - taken >= 0
    assert level_reserved == reserved <= on_hand
    assert moved == taken
    assert events == sum(1 for kind, _, status in results if kind == 0 and status == 201)


def test_one_cabinet_event_sent_many_times_at_once_moves_stock_once(committed_app):
    w = _world(committed_app)
    body = {"event_id": "dup-1", "occurred_at": clock.now().isoformat(), "items": [{"sku_id": w["sku"], "quantity": 2}]}

    def send(_):
        client = committed_app.test_client()
        return client.post(f"/api/v1/counters/{w['counter']}/sales", json=body, headers={"X-Counter-Key": w["key"]})

    with ThreadPoolExecutor(max_workers=12) as pool:
        responses = list(pool.map(send, range(24)))
    statuses = sorted(r.status_code for r in responses)
    assert statuses.count(201) == 1 and statuses.count(200) == 23, statuses
    assert len({str(r.json) for r in responses}) == 1
    on_hand, _, drifts, moved, events = _levels(committed_app, w)
    assert (on_hand, moved, events, drifts) == (STOCK - 2, 2, 1, [])


def test_a_transfer_received_at_once_from_many_places_is_received_once(committed_app):
    w = _world(committed_app)
    client = committed_app.test_client()
    transfer = client.post(
        "/api/v1/transfers",
        json={
            "from_location_id": w["counter"],
            "to_location_id": w["hall"],
            "lines": [{"sku_id": w["sku"], "quantity": 5}],
        },
        headers=w["operator"],
    ).json

    def receive(_):
        return committed_app.test_client().post(
            f"/api/v1/transfers/{transfer['id']}/receive", json={}, headers=w["operator"]
        )

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = sorted(r.status_code for r in pool.map(receive, range(8)))
    assert statuses == [200] + [409] * 7
    with transaction(committed_app.extensions["shop"]["sessionmaker"]) as session:
        assert session.get(StockLevel, (w["hall"], w["sku"])).on_hand == 5
        assert check_balances(session) == []


def test_parallel_reports_queue_instead_of_failing_on_either_database(scratch_database_url):
    """On SQLite too (the embedded start): writers wait for the write lock rather than fail."""
    migrate.upgrade(scratch_database_url)
    app = create_app({**TEST_CONFIG, "DATABASE_URL": scratch_database_url})
    try:
        w = _world(app)

        def send(i):
            body = {
                "event_id": f"q-{i}",
                "occurred_at": clock.now().isoformat(),
                "items": [{"sku_id": w["sku"], "quantity": 1}],
            }
            client = app.test_client()
            return client.post(f"/api/v1/counters/{w['counter']}/sales", json=body, headers={"X-Counter-Key": w["key"]})

        with ThreadPoolExecutor(max_workers=8) as pool:
            statuses = [r.status_code for r in pool.map(send, range(24))]
        assert statuses == [201] * 24
        on_hand, _, drifts, moved, _ = _levels(app, w)
        assert (on_hand, moved, drifts) == (STOCK - 24, 24, [])
    finally:
        app.extensions["shop"]["engine"].dispose()
