"""Jobs through real worker processes on the machine's Redis (and RabbitMQ)."""

from __future__ import annotations

import signal
import uuid
from datetime import timedelta

import sqlalchemy as sa

from search.models import SearchOutbox
from shop import clock, jobs
from shop.inventory.models import StockLevel
from shop.jobs.models import DeadLetter
from shop.orders.models import Order, OrderEvent
from shop.points import service as points
from shop.points.models import PointsKind
from shop.procurement.models import Voucher
from tests.factories import Factory
from tests.jobs.conftest import all_jobs_off_but, broker_url, place_order, wait_for
from tests.jobs.worker_jobs import read_lines


def scalar(app, stmt):
    with app.extensions["shop"]["sessionmaker"]() as session:
        return session.scalar(stmt)


def build_shop(app):
    """A counter with 10 of a certified SKU and a buyer with points, committed."""
    with app.app_context(), app.extensions["shop"]["sessionmaker"]() as session:
        make = Factory(app, session)
        hall = make.hall()
        counter = make.counter(hall)
        sku = make.sku(price_fen=5000)
        make.stock(counter, sku, 10)
        buyer = make.user()
        points.post(session, buyer.id, 10_000, PointsKind.ADJUST, note="test")
        session.commit()
        return counter.id, sku.id, make.headers(buyer)


def reserved(app, counter_id, sku_id) -> tuple[int, int]:
    with app.extensions["shop"]["sessionmaker"]() as session:
        return tuple(
            session.execute(
                sa.select(StockLevel.on_hand, StockLevel.reserved).where(
                    StockLevel.location_id == counter_id, StockLevel.sku_id == sku_id
                )
            ).one()
        )


def test_an_unpaid_order_expires_through_the_worker_at_its_deadline(shared):
    redis = broker_url("redis")
    app = shared.app(redis, ORDER_PAYMENT_MINUTES=0)  # due at once: the expiry job it enqueues runs now
    counter_id, sku_id, headers = build_shop(app)
    order_id = place_order(app, counter_id, sku_id, headers)
    wait_for(lambda: scalar(app, sa.select(Order.status).where(Order.id == order_id)) == "cancelled")
    assert reserved(app, counter_id, sku_id) == (10, 0)


def test_the_outbox_drains_through_the_worker_after_commit(shared):
    redis = broker_url("redis")
    app = shared.app(redis)
    with app.app_context(), app.extensions["shop"]["sessionmaker"]() as session:
        Factory(app, session).sku(price_fen=100)
        session.commit()  # after this commit the sync job is on the queue
    wait_for(lambda: scalar(app, sa.select(sa.func.count()).select_from(SearchOutbox)) == 0)


def test_the_outbox_drains_through_a_worker_on_rabbitmq(stack):
    broker = broker_url("amqp")
    app = stack.app(broker)
    with app.app_context(), app.extensions["shop"]["sessionmaker"]() as session:
        Factory(app, session).sku(price_fen=100)
        session.commit()  # after this commit the sync job is on the queue
    assert scalar(app, sa.select(sa.func.count()).select_from(SearchOutbox)) > 0
    stack.worker(broker)
    wait_for(lambda: scalar(app, sa.select(sa.func.count()).select_from(SearchOutbox)) == 0)


def test_a_voucher_expires_through_the_worker(shared):
    from tests.procurement.conftest import Org, make_org, voucher_order

    redis = broker_url("redis")
    app = shared.app(redis)
    with app.app_context(), app.extensions["shop"]["sessionmaker"]() as session:
        make = Factory(app, session)
        org, purchaser, approver, finance = make_org(make, session)
        hall = make.hall()
        sku = make.sku(price_fen=10_000)
        make.stock(hall, sku, 1000)
        headers = {"purchaser": make.headers(purchaser), "approver": make.headers(approver)}
        headers["finance"] = make.headers(finance)
        session.commit()
    o = Org(org, purchaser, approver, finance, hall, None, None, sku, headers)
    _, items = voucher_order(app.test_client(), o, [{"voucher_value_fen": 20_000, "quantity": 2}], days=1)
    ids = [item["voucher"]["id"] if "voucher" in item else item["id"] for item in items]
    with app.extensions["shop"]["sessionmaker"]() as session:  # their day has come
        session.execute(
            sa.update(Voucher).where(Voucher.id.in_(ids)).values(expires_at=clock.now() - timedelta(seconds=1))
        )
        session.commit()
    with app.app_context():
        jobs.enqueue("vouchers.expire", voucher_ids=ids)
    wait_for(
        lambda: scalar(app, sa.select(sa.func.count()).where(Voucher.id.in_(ids), Voucher.status == "expired")) == 2
    )


def test_a_job_whose_worker_is_killed_runs_again_and_applies_once(stack, tmp_path):
    redis = broker_url("redis")
    setup = stack.app()  # its own jobs go nowhere: the one under test is sent by hand
    counter_id, sku_id, headers = build_shop(setup)
    order_id = place_order(setup, counter_id, sku_id, headers)
    with setup.extensions["shop"]["sessionmaker"]() as session:
        session.execute(sa.update(Order).values(expires_at=clock.now() - timedelta(seconds=1)))
        session.commit()
    marker = str(tmp_path / "runs")
    app = stack.app(redis)
    workers = {proc.pid: proc for proc in stack.workers(redis, 2)}
    with app.app_context():
        jobs.enqueue("test.slow_expire_orders", order_ids=[order_id], marker=marker, pause=2.0)
    first_pid = int(wait_for(lambda: read_lines(marker))[0].split(":")[0])
    stack.kill(workers[first_pid])  # in the middle of the job, before it commits
    assert scalar(app, sa.select(Order.status).where(Order.id == order_id)) == "pending_payment"
    # the other worker gets the message once the dead one's hold on it times out
    wait_for(lambda: scalar(app, sa.select(Order.status).where(Order.id == order_id)) == "cancelled", timeout=30)
    assert len(read_lines(marker)) >= 2  # it ran again
    events = sa.select(sa.func.count()).where(OrderEvent.order_id == order_id, OrderEvent.to_status == "cancelled")
    assert scalar(app, events) == 1
    assert reserved(app, counter_id, sku_id) == (10, 0)


def test_two_schedulers_run_each_periodic_job_once_per_period(stack, tmp_path):
    redis = broker_url("redis")
    ticks = str(tmp_path / "ticks")
    env = {"JOBS_SCHEDULE": all_jobs_off_but("test.tick"), "TICK_FILE": ticks}
    stack.workers(redis, 2, beat=True, env=env)
    wait_for(lambda: len(read_lines(ticks)) >= 4, timeout=30)
    periods = read_lines(ticks)
    assert len(periods) == len(set(periods)), periods


def test_a_failing_job_retries_then_lands_in_the_dead_letters_and_can_be_retried(shared):
    redis = broker_url("redis")
    app = shared.app(redis)
    note = uuid.uuid4().hex
    with app.app_context():
        jobs.enqueue("test.fail", note=note)
    count = sa.select(sa.func.count()).where(DeadLetter.job == "test.fail")
    wait_for(lambda: scalar(app, count) == 1)
    with app.extensions["shop"]["sessionmaker"]() as session:
        dead = session.scalars(sa.select(DeadLetter).where(DeadLetter.job == "test.fail")).one()
    assert dead.job == "test.fail" and dead.attempts == 3 and "always fails" in dead.error
    assert dead.kwargs == {"note": note}
    listed = app.test_cli_runner().invoke(args=["jobs", "dead"])
    assert f"#{dead.id}" in listed.output and "test.fail" in listed.output
    retried = app.test_cli_runner().invoke(args=["jobs", "retry", str(dead.id)])
    assert f"#{dead.id}" in retried.output
    wait_for(lambda: scalar(app, count) == 2)  # it failed again, as a new dead letter
    assert scalar(app, sa.select(DeadLetter.retried_at).where(DeadLetter.id == dead.id)) is not None


def test_sigterm_lets_the_running_job_finish(stack, tmp_path):
    redis = broker_url("redis")
    setup = stack.app()
    counter_id, sku_id, headers = build_shop(setup)
    order_id = place_order(setup, counter_id, sku_id, headers)
    with setup.extensions["shop"]["sessionmaker"]() as session:
        session.execute(sa.update(Order).values(expires_at=clock.now() - timedelta(seconds=1)))
        session.commit()
    marker = str(tmp_path / "runs")
    app = stack.app(redis)
    worker = stack.worker(redis)
    with app.app_context():
        jobs.enqueue("test.slow_expire_orders", order_ids=[order_id], marker=marker, pause=2.0)
    wait_for(lambda: read_lines(marker))
    worker.send_signal(signal.SIGTERM)  # mid-job: a warm shutdown finishes it first
    assert worker.wait(30) == 0
    assert scalar(app, sa.select(Order.status).where(Order.id == order_id)) == "cancelled"
    assert reserved(app, counter_id, sku_id) == (10, 0)
