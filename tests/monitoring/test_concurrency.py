"""Proofs on PostgreSQL with real commits: parallel allocations stay within the campaign's target;
a batch quarantined while checkouts and a smart counter's sessions run is never sold after."""

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import sqlalchemy as sa
from flask_jwt_extended import create_access_token

from shop import clock
from shop.auth.models import Role
from shop.db import transaction
from shop.inventory.models import Movement, MovementKind, china_today
from shop.monitoring import cold_chain
from shop.monitoring.models import (
    Campaign,
    CampaignAllocation,
    ColdChainIncident,
    CounterExcursion,
    SkuStorage,
    StorageClass,
)
from shop.orders import cart
from shop.orders.models import Fulfilment
from shop.procurement.models import BulkOrder
from tests.factories import Factory, stamp
from tests.procurement.conftest import make_org


def test_parallel_allocations_never_allocate_more_than_the_target(committed_app):
    factory = committed_app.extensions["shop"]["sessionmaker"]
    with committed_app.app_context(), transaction(factory) as session:
        make = Factory(committed_app, session)
        hall = make.hall()
        sku = make.sku(price_fen=1000)
        coordinator = make.user(Role.COORDINATOR)
        orgs = [make_org(make, session, name=f"单位 {i}")[0].id for i in range(4)]
        token = create_access_token(identity=str(coordinator.id))
    headers = {"Authorization": f"Bearer {token}"}
    client = committed_app.test_client()
    body = {
        "name": "急",
        "kind": "emergency",
        "target_quantity": 10,
        "ends_on": china_today(clock.now()).isoformat(),
        "sku_ids": [sku.id],
    }
    campaign = client.post("/api/v1/monitoring/campaigns", headers=headers, json=body).json

    def allocate(i):
        line = {"organisation_id": orgs[i % 4], "sku_id": sku.id, "quantity": 3, "pickup_location_id": hall.id}
        return committed_app.test_client().post(
            f"/api/v1/monitoring/campaigns/{campaign['id']}/allocations", headers=headers, json=line
        )

    with ThreadPoolExecutor(max_workers=8) as pool:
        responses = list(pool.map(allocate, range(12)))
    assert sorted({r.status_code for r in responses}) == [201, 409]
    assert [r.status_code for r in responses].count(201) == 3
    with transaction(factory) as session:
        allocations = session.scalars(sa.select(CampaignAllocation)).all()
        assert sum(a.quantity for a in allocations) == 9
        assert session.get(Campaign, campaign["id"]).allocated_quantity == 9
        drafts = session.scalars(sa.select(BulkOrder).where(BulkOrder.id.in_([a.bulk_order_id for a in allocations])))
        assert len(drafts.all()) == 3


def test_a_batch_quarantined_while_checkouts_and_a_counter_sell_is_never_sold_after(committed_app):
    factory = committed_app.extensions["shop"]["sessionmaker"]
    now = clock.now()
    with committed_app.app_context(), transaction(factory) as session:
        make = Factory(committed_app, session)
        counter = make.counter()
        sku = make.sku(price_fen=1000)
        make.stock(counter, sku, 30)
        session.add(
            SkuStorage(
                sku_id=sku.id, storage_class=StorageClass.CHILLED, min_decicelsius=0, max_decicelsius=40, updated_at=now
            )
        )
        # out of range since long ago: the next heartbeat opens the incident
        session.add(
            CounterExcursion(
                location_id=counter.id, out_since=now - timedelta(hours=2), last_decicelsius=95, last_seen_at=now
            )
        )
        key = make.counter_key(counter)
        buyers = [make.user() for _ in range(16)]
        for user in buyers:
            line = {"sku_id": sku.id, "quantity": 1, "location_id": counter.id, "fulfilment": Fulfilment.PICKUP}
            cart.add_line(session, user.id, data=line)
        tokens = [create_access_token(identity=str(u.id)) for u in buyers]

    def checkout(i):
        headers = {"Authorization": f"Bearer {tokens[i]}"}
        return committed_app.test_client().post("/api/v1/orders", json={}, headers=headers)

    def counter_sale(i):
        body = {
            "event_id": f"race-{i}",
            "occurred_at": stamp(clock.now()),
            "items": [{"sku_id": sku.id, "quantity": 1}],
        }
        return committed_app.test_client().post(
            f"/api/v1/counters/{counter.id}/sales", headers={"X-Counter-Key": key}, json=body
        )

    def heartbeat():
        return committed_app.test_client().post(
            f"/api/v1/counters/{counter.id}/heartbeats", headers={"X-Counter-Key": key}, json={"temperature_c": 9.5}
        )

    with ThreadPoolExecutor(max_workers=9) as pool:
        checkouts = [pool.submit(checkout, i) for i in range(4)]
        sales = [pool.submit(counter_sale, i) for i in range(4)]
        beat = pool.submit(heartbeat)
        checkouts += [pool.submit(checkout, i) for i in range(4, 8)]
        sales += [pool.submit(counter_sale, i) for i in range(4, 8)]
    assert beat.result().status_code == 200
    assert {f.result().status_code for f in checkouts + sales} <= {201, 409}
    with ThreadPoolExecutor(max_workers=8) as pool:
        later = list(pool.map(checkout, range(8, 16))) + list(pool.map(counter_sale, range(8, 16)))
    assert {r.status_code for r in later} == {409}
    # The stock level's row lock orders the quarantine among the sales, whatever time each request
    # started: the quarantine holds what the counter had not sold before it, and nothing left after.
    sold = [f.result().status_code for f in sales].count(201)
    reserved = [f.result().status_code for f in checkouts].count(201)
    with transaction(factory) as session:
        incident = session.scalar(sa.select(ColdChainIncident).where(ColdChainIncident.location_id == counter.id))
        assert incident is not None
        assert sum(q.units for q in incident.quarantines) + sold == 30
        movements = session.execute(
            sa.select(Movement.kind, sa.func.count())
            .where(Movement.location_id == counter.id, Movement.kind.in_((MovementKind.RESERVE, MovementKind.SALE)))
            .group_by(Movement.kind)
        ).all()
        assert dict(movements) == {
            kind: n for kind, n in ((MovementKind.RESERVE, reserved), (MovementKind.SALE, sold)) if n
        }
        assert cold_chain.raise_due(session, now=clock.now(), excursion_minutes=30) == 0
