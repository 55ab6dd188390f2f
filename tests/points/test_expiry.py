"""Points expire POINTS_EXPIRE_DAYS after they were credited, oldest first, unless spent."""

from datetime import UTC, datetime, timedelta

from shop import clock
from shop.jobs import runner
from shop.points import service
from shop.points.models import PointsEntry, PointsKind
from tests.conftest import configured

NOW = datetime(2027, 6, 1, 12, 0, tzinfo=UTC)
DAYS = 730
CUTOFF = NOW - timedelta(days=DAYS)
TICK = timedelta(microseconds=1)


def _post_at(session, user_id, delta, kind, at):
    with clock.frozen_at(at):
        return service.post(session, user_id, delta, kind, allow_negative=kind == PointsKind.CLAWBACK)


def _expired(session, user_id) -> list[int]:
    entries = session.query(PointsEntry).filter_by(user_id=user_id, kind=PointsKind.EXPIRE).order_by(PointsEntry.id)
    return [e.delta for e in entries]


def _run(session, **kwargs):
    with clock.frozen_at(NOW):
        return service.expire_due(session, NOW, expire_days=DAYS, **kwargs)


def test_credits_older_than_the_setting_expire_and_those_exactly_at_it_do_not(make, session):
    older, exact = make.user(), make.user()
    _post_at(session, older.id, 100, PointsKind.EARN, CUTOFF - TICK)
    _post_at(session, exact.id, 100, PointsKind.EARN, CUTOFF)
    _post_at(session, older.id, 40, PointsKind.EARN, CUTOFF + timedelta(days=1))
    assert _run(session, user_ids=[older.id, exact.id]) == 1
    assert _expired(session, older.id) == [-100] and service.balance(session, older.id) == 40
    assert _expired(session, exact.id) == [] and service.balance(session, exact.id) == 100
    # a microsecond later the other credit is old enough too
    with clock.frozen_at(NOW + TICK):
        assert service.expire_due(session, NOW + TICK, expire_days=DAYS, user_ids=[exact.id]) == 1
    assert _expired(session, exact.id) == [-100]
    assert service.check(session) == []


def test_spending_uses_the_oldest_points_first_and_a_second_run_expires_nothing(make, session):
    buyer = make.user()
    _post_at(session, buyer.id, 300, PointsKind.EARN, CUTOFF - timedelta(days=10))
    _post_at(session, buyer.id, 200, PointsKind.EARN, CUTOFF + timedelta(days=10))
    _post_at(session, buyer.id, -120, PointsKind.SPEND, CUTOFF + timedelta(days=20))
    assert _run(session, user_ids=[buyer.id]) == 1
    assert _expired(session, buyer.id) == [-180]  # 300 old, 120 of them spent
    assert service.balance(session, buyer.id) == 200
    assert _run(session, user_ids=[buyer.id]) == 0
    assert _expired(session, buyer.id) == [-180]
    # once the newer credit is old as well, only it expires: earlier expiries count as debits
    later = NOW + timedelta(days=30)
    with clock.frozen_at(later):
        assert service.expire_due(session, later, expire_days=DAYS, user_ids=[buyer.id]) == 1
    assert _expired(session, buyer.id) == [-180, -200] and service.balance(session, buyer.id) == 0
    assert service.check(session) == []


def test_never_more_than_the_balance_and_nothing_when_all_was_spent(make, session):
    owes, spent = make.user(), make.user()
    _post_at(session, owes.id, 100, PointsKind.EARN, CUTOFF - timedelta(days=5))
    _post_at(session, owes.id, 50, PointsKind.RETURN, CUTOFF - timedelta(days=4))
    _post_at(session, owes.id, 120, PointsKind.EARN, CUTOFF + timedelta(days=1))
    _post_at(session, owes.id, -90, PointsKind.CLAWBACK, CUTOFF + timedelta(days=2))
    _post_at(session, owes.id, -150, PointsKind.SPEND, CUTOFF + timedelta(days=3))
    _post_at(session, spent.id, 100, PointsKind.EARN, CUTOFF - timedelta(days=5))
    _post_at(session, spent.id, -100, PointsKind.SPEND, CUTOFF - timedelta(days=1))
    # owes: 150 old credits - 240 debits < 0 -> nothing; spent: balance 0 -> nothing
    assert _run(session, user_ids=[owes.id, spent.id]) == 0
    capped = make.user()
    _post_at(session, capped.id, 100, PointsKind.EARN, CUTOFF - timedelta(days=5))
    _post_at(session, capped.id, 100, PointsKind.EARN, CUTOFF + timedelta(days=5))
    _post_at(session, capped.id, -150, PointsKind.CLAWBACK, CUTOFF + timedelta(days=6))
    assert service.balance(session, capped.id) == 50
    assert _run(session, user_ids=[capped.id]) == 0  # 100 old - 150 debits
    _post_at(session, capped.id, 200, PointsKind.ADJUST, CUTOFF - timedelta(days=1))
    assert _run(session, user_ids=[capped.id]) == 1  # 300 old - 150 = 150, balance 250
    assert _expired(session, capped.id) == [-150]


def test_zero_days_means_never(make, session):
    buyer = make.user()
    _post_at(session, buyer.id, 100, PointsKind.EARN, NOW - timedelta(days=10_000))
    assert service.expire_due(session, NOW, expire_days=0) == 0


def test_the_worker_job_and_the_command_expire_with_the_setting(app, make, session):
    buyer, other = make.user(), make.user()
    _post_at(session, buyer.id, 70, PointsKind.EARN, CUTOFF - timedelta(days=1))
    _post_at(session, other.id, 70, PointsKind.EARN, CUTOFF - timedelta(days=1))
    with clock.frozen_at(NOW):
        with configured(app, POINTS_EXPIRE_DAYS=0):
            assert runner.run(app, "points.expire", {"user_ids": [buyer.id]}) == 0
        assert runner.run(app, "points.expire", {"user_ids": [buyer.id]}) == 1
        assert runner.run(app, "points.expire", {"user_ids": [buyer.id]}) == 0
        cli = app.test_cli_runner()
        result = cli.invoke(args=["points", "expire"])
        assert result.exit_code == 0, result.output
        assert "points expired for" in result.output
        check = cli.invoke(args=["points", "check"])
        assert check.exit_code == 0, check.output
    session.expire_all()
    assert _expired(session, buyer.id) == [-70] and _expired(session, other.id) == [-70]
