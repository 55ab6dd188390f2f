"""Parallel requests on PostgreSQL (real commits)."""

from concurrent.futures import ThreadPoolExecutor

from flask_jwt_extended import create_access_token

from shop import clock
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
