from concurrent.futures import ThreadPoolExecutor

import pytest

from shop.auth.models import Role
from shop.db import transaction
from shop.points import service
from shop.points.errors import InsufficientPoints
from shop.points.models import PointsAccount, PointsKind
from tests.conftest import configured
from tests.factories import Factory


def test_balance_and_history_follow_the_ledger(client, make, session):
    buyer = make.user()
    service.post(session, buyer.id, 500, PointsKind.EARN, order_id=1, note="order 1")
    service.post(session, buyer.id, -200, PointsKind.SPEND, order_id=2)
    headers = make.headers(buyer)
    assert client.get("/api/v1/points", headers=headers).json == {"balance": 300, "point_value_fen": 1}
    history = client.get("/api/v1/points/history", headers=headers).json
    assert [(e["kind"], e["delta"], e["balance_after"]) for e in history["items"]] == [
        ("spend", -200, 300),
        ("earn", 500, 500),
    ]
    assert service.check(session) == []


def test_a_debit_beyond_the_balance_is_refused_but_a_clawback_may_go_negative(make, session):
    buyer = make.user()
    service.post(session, buyer.id, 100, PointsKind.EARN)
    with pytest.raises(InsufficientPoints):
        service.post(session, buyer.id, -101, PointsKind.SPEND)
    service.post(session, buyer.id, -150, PointsKind.CLAWBACK, allow_negative=True)
    assert service.balance(session, buyer.id) == -50
    with pytest.raises(InsufficientPoints):
        service.post(session, buyer.id, -1, PointsKind.SPEND)


def test_admin_adjusts_points_and_others_cannot(client, make):
    admin, buyer, other = make.user(Role.ADMIN), make.user(), make.user()
    url = f"/api/v1/admin/users/{buyer.id}/points"
    ok = client.post(url, json={"delta": 1000, "note": "welcome"}, headers=make.headers(admin))
    assert ok.status_code == 201 and ok.json["balance_after"] == 1000
    too_much = client.post(url, json={"delta": -5000, "note": "oops"}, headers=make.headers(admin))
    assert too_much.status_code == 409 and too_much.json["error"]["code"] == "insufficient_points"
    assert client.post(url, json={"delta": 1, "note": "x"}, headers=make.headers(other)).status_code == 403
    assert client.post(url, json={"delta": 0, "note": "x"}, headers=make.headers(admin)).status_code == 422


def test_check_reports_drift(app, make, session):
    buyer = make.user()
    service.post(session, buyer.id, 100, PointsKind.EARN)
    session.get(PointsAccount, buyer.id).balance = 90
    session.flush()
    drift = service.check(session)
    assert [(d.user_id, d.cached, d.ledger) for d in drift] == [(buyer.id, 90, 100)]


def test_parallel_spending_never_overdraws(committed_app):
    factory = committed_app.extensions["shop"]["sessionmaker"]
    with committed_app.app_context(), transaction(factory) as session:
        buyer = Factory(committed_app, session).user()
        service.post(session, buyer.id, 1000, PointsKind.EARN)
        user_id = buyer.id

    def spend(_):
        try:
            with transaction(factory) as session:
                service.post(session, user_id, -300, PointsKind.SPEND)
            return True
        except InsufficientPoints:
            return False

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(spend, range(12)))
    assert results.count(True) == 3
    with transaction(factory) as session:
        assert service.balance(session, user_id) == 100
        assert service.check(session) == []
    runner = committed_app.test_cli_runner()
    assert "agree" in runner.invoke(args=["points", "check"]).output


def test_the_point_value_shown_is_the_one_built_at_start_up(app, client, make):
    headers = make.headers(make.user())
    app.config["POINTS_VALUE_FEN"] = 3  # not read per request
    try:
        assert client.get("/api/v1/points", headers=headers).json["point_value_fen"] == 1
    finally:
        app.config["POINTS_VALUE_FEN"] = 1
    with configured(app, POINTS_VALUE_FEN=3):
        assert client.get("/api/v1/points", headers=headers).json["point_value_fen"] == 3
    assert client.get("/api/v1/points", headers=headers).json["point_value_fen"] == 1
