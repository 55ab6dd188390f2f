"""Parallel requests on PostgreSQL (real commits)."""

from concurrent.futures import ThreadPoolExecutor

from flask_jwt_extended import create_access_token

from shop import clock
from shop.auth.models import Role
from shop.db import transaction
from shop.supervision import complaints
from shop.supervision.models import Complaint, ComplaintStatus, Outcome
from tests.factories import FENGJIE, Factory


def test_two_handlers_deciding_one_complaint_at_once_give_one_decision(committed_app):
    factory = committed_app.extensions["shop"]["sessionmaker"]
    with committed_app.app_context(), transaction(factory) as session:
        make = Factory(committed_app, session)
        product = make.product(make.supplier(FENGJIE))
        buyer = make.actor(make.user())
        complaint, _ = complaints.file_complaint(
            session,
            buyer,
            data={"category": "service", "product_id": product.id, "description": "服务差"},
            settings=complaints.ComplaintSettings(),
            now=clock.now(),
        )
        handlers = [make.certifier(FENGJIE) for _ in range(2)]
        complaints.accept_complaint(
            session,
            make.actor(handlers[0]),
            complaint.id,
            note=None,
            settings=complaints.ComplaintSettings(),
            now=clock.now(),
        )
        tokens = [create_access_token(identity=str(h.id)) for h in handlers]
        complaint_id = complaint.id

    def decide(i):
        outcome = ("upheld", "dismissed")[i % 2]
        return committed_app.test_client().post(
            f"/api/v1/complaints/{complaint_id}/decide",
            json={"outcome": outcome, "decision": f"decision {i}"},
            headers={"Authorization": f"Bearer {tokens[i % 2]}"},
        )

    with ThreadPoolExecutor(max_workers=8) as pool:
        responses = list(pool.map(decide, range(8)))
    statuses = sorted(r.status_code for r in responses)
    assert statuses.count(200) == 1 and set(statuses) == {200, 409}, statuses
    with transaction(factory) as session:
        stored = session.get(Complaint, complaint_id)
        assert stored.status == ComplaintStatus.DECIDED
        winner = next(r.json for r in responses if r.status_code == 200)
        assert stored.outcome == Outcome(winner["outcome"]) and stored.decision == winner["decision"]
        assert [e.to_status for e in stored.events].count("decided") == 1


def test_a_batch_frozen_while_checkouts_run_is_never_sold_after_and_every_taker_is_recalled(committed_app):
    from datetime import timedelta

    import sqlalchemy as sa

    from shop.inventory.models import Batch, Movement, china_today
    from shop.orders import cart
    from shop.orders.models import Fulfilment
    from shop.supervision import service as supervision
    from shop.supervision.models import Inspection

    factory = committed_app.extensions["shop"]["sessionmaker"]
    today = china_today(clock.now())
    with committed_app.app_context(), transaction(factory) as session:
        make = Factory(committed_app, session)
        counter = make.counter()
        sku = make.sku(price_fen=1000)
        bad = make.stock(counter, sku, 6, best_before=today + timedelta(days=3))  # picked first (FEFO)
        make.stock(counter, sku, 6, best_before=today + timedelta(days=30))
        buyers = [make.user() for _ in range(16)]
        for user in buyers:
            line = {"sku_id": sku.id, "quantity": 1, "location_id": counter.id, "fulfilment": Fulfilment.PICKUP}
            cart.add_line(session, user.id, data=line)
        tokens = [create_access_token(identity=str(u.id)) for u in buyers]
        regulator = make.user(Role.REGULATOR)
        regulator_token = create_access_token(identity=str(regulator.id))

    def checkout(i):
        headers = {"Authorization": f"Bearer {tokens[i]}"}
        return committed_app.test_client().post("/api/v1/orders", json={}, headers=headers)

    def inspect():
        body = {"trace_code": bad, "result": "failed", "report_url": "https://lab.cq/r.pdf", "report_sha256": "a" * 64}
        headers = {"Authorization": f"Bearer {regulator_token}"}
        return committed_app.test_client().post("/api/v1/inspections", json=body, headers=headers)

    # the freeze races eight checkouts
    with ThreadPoolExecutor(max_workers=9) as pool:
        checkouts = [pool.submit(checkout, i) for i in range(4)]
        freeze = pool.submit(inspect)
        checkouts += [pool.submit(checkout, i) for i in range(4, 8)]
    assert freeze.result().status_code == 201, freeze.result().json
    assert {f.result().status_code for f in checkouts} <= {201, 409}
    # lifted, eight more checkouts race for what is left: never a unit of the frozen batch
    with committed_app.app_context(), transaction(factory) as session:
        make = Factory(committed_app, session)
        batch_id = session.scalar(sa.select(Batch.id).where(Batch.trace_code == bad))
        sanction_id = session.scalar(sa.select(Inspection.sanction_id).where(Inspection.batch_id == batch_id))
        supervision.lift_sanction(session, make.actor(regulator), sanction_id, reason="lifted", now=clock.now())
    with ThreadPoolExecutor(max_workers=8) as pool:
        later = list(pool.map(checkout, range(8, 16)))
    with transaction(factory) as session:
        batch = session.scalar(sa.select(Batch).where(Batch.trace_code == bad))
        takers = session.scalars(
            sa.select(Movement).where(Movement.batch_id == batch.id, Movement.reserved_delta > 0)
        ).all()
        inspection = session.scalar(sa.select(Inspection).where(Inspection.batch_id == batch.id))
        # The recall lists the reservations the freeze found under the stock level's lock: a unit
        # reserved after it, whatever time its request started, would be a taker not recalled.
        assert sum(r.units for r in inspection.recalls) == sum(m.reserved_delta for m in takers)
    assert [r.status_code for r in later].count(201) <= 6
