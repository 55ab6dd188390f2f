"""Jobs are sent only when their transaction commits, with ids, never objects (on the real Redis)."""

from __future__ import annotations

import json
import uuid

import pytest
import sqlalchemy as sa

from shop import create_app, jobs
from shop.db import transaction
from tests.conftest import TEST_CONFIG
from tests.jobs.conftest import REDIS_URL, broker_url


@pytest.fixture
def redis_app(engine):
    broker_url("redis")
    import redis

    queue = f"shop-test-{uuid.uuid4().hex[:12]}"
    app = create_app({**TEST_CONFIG, "ENGINE": engine, "JOBS_BROKER_URL": REDIS_URL, "JOBS_QUEUE": queue})
    client = redis.Redis.from_url(REDIS_URL)
    yield app, client, queue
    client.delete(queue)


def sent(client, queue) -> list[tuple[str, dict, dict]]:
    messages = [json.loads(raw) for raw in client.lrange(queue, 0, -1)]
    out = []
    for message in reversed(messages):  # LPUSH: the newest first
        args, kwargs, _ = json.loads(__import__("base64").b64decode(message["body"]))
        out.append((args[0], args[1], kwargs))
    return out


def test_a_job_is_sent_after_commit_and_not_after_rollback(redis_app):
    app, client, queue = redis_app
    factory = app.extensions["shop"]["sessionmaker"]
    with app.app_context():
        with pytest.raises(RuntimeError), transaction(factory) as session:
            jobs.enqueue_after_commit(session, "orders.expire", order_ids=[1])
            session.execute(sa.text("SELECT 1"))
            raise RuntimeError("rolled back")
        assert sent(client, queue) == []
        with transaction(factory) as session:
            jobs.enqueue_after_commit(session, "orders.expire", order_ids=[7, 8])
            assert sent(client, queue) == []  # not before the commit
        assert [(name, kwargs) for name, kwargs, _ in sent(client, queue)] == [("orders.expire", {"order_ids": [7, 8]})]


def test_a_job_carries_plain_values_only(redis_app, make):
    app, _client, _queue = redis_app
    user = make.user()
    with app.app_context(), pytest.raises(TypeError):
        jobs.enqueue_after_commit(make.session, "orders.expire", order=user)
    with app.app_context(), pytest.raises(LookupError):
        jobs.enqueue("no.such.job")


def test_the_request_id_travels_with_the_job(redis_app):
    app, client, queue = redis_app
    with app.test_request_context(headers={"X-Request-ID": "req-42"}):
        app.preprocess_request()
        jobs.enqueue("noop")
    [(name, _kwargs, extra)] = sent(client, queue)
    assert name == "noop" and extra["request_id"] == "req-42"


def test_checkout_enqueues_the_order_expiry_at_its_deadline(redis_app, session):
    app, client, queue = redis_app
    from tests.factories import Factory
    from tests.jobs.conftest import place_order

    app.extensions["shop"]["sessionmaker"] = sa.orm.sessionmaker(
        bind=session.connection(), join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    with app.app_context():
        make = Factory(app, session)
        hall = make.hall()
        counter = make.counter(hall)
        sku = make.sku(price_fen=5000)
        make.stock(counter, sku, 10)
        buyer = make.user()
        from shop.points import service as points
        from shop.points.models import PointsKind

        points.post(session, buyer.id, 10_000, PointsKind.ADJUST, note="test")
        session.flush()
        order_id = place_order(app, counter.id, sku.id, make.headers(buyer))
    expiries = [(kwargs, raw) for name, kwargs, raw in sent(client, queue) if name == "orders.expire"]
    assert [kwargs for kwargs, _ in expiries] == [{"order_ids": [order_id]}]
    message = json.loads(client.lrange(queue, 0, -1)[0])
    assert message["headers"]["eta"] is not None


def test_a_rolled_back_session_joined_to_an_outer_transaction_sends_nothing(redis_app, connection):
    app, client, queue = redis_app
    session = sa.orm.sessionmaker(bind=connection, join_transaction_mode="create_savepoint")()
    with app.app_context():
        jobs.enqueue_after_commit(session, "orders.expire", order_ids=[3])
        session.execute(sa.text("SELECT 1"))
        session.rollback()
        session.execute(sa.text("SELECT 1"))
        session.commit()
    session.close()
    assert sent(client, queue) == []
