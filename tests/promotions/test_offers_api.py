from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest

from shop import clock
from shop.auth.models import Role
from shop.db import transaction
from shop.points import service as points
from shop.points.models import PointsKind
from shop.promotions import service as offers
from shop.promotions.errors import OfferUnavailable
from tests.factories import Factory


def _window(days=1):
    now = clock.now()
    return {"starts_at": (now - timedelta(hours=1)).isoformat(), "ends_at": (now + timedelta(days=days)).isoformat()}


@pytest.fixture
def admin(make):
    return make.headers(make.user(Role.ADMIN))


def test_quote_explains_threshold_coupon_and_points(client, make, session, admin):
    product = make.product(price_fen=6980)
    make.certified(product)
    sku = product.skus[0]
    promo = client.post(
        "/api/v1/promotions",
        headers=admin,
        json={
            "name": "满99减10 满199减30",
            "kind": "threshold_discount",
            "tiers": [[9900, 1000], [19900, 3000]],
            **_window(),
        },
    )
    assert promo.status_code == 201
    coupon = client.post(
        "/api/v1/coupons",
        headers=admin,
        json={"code": "fresh5", "name": "新人券", "kind": "fixed", "value": 500, "min_spend_fen": 10000, **_window()},
    )
    assert coupon.status_code == 201 and coupon.json["code"] == "FRESH5"
    buyer = make.user()
    points.post(session, buyer.id, 2000, PointsKind.EARN)
    quote = client.post(
        "/api/v1/quotes",
        headers=make.headers(buyer),
        json={"items": [{"sku_id": sku.id, "quantity": 3}], "coupon_code": "fresh5", "points": 1000},
    )
    assert quote.status_code == 200, quote.json
    body = quote.json
    line = body["lines"][0]
    assert line["subtotal_fen"] == 20940
    assert [(a["source"], a["amount_fen"]) for a in line["adjustments"]] == [
        ("promotion", 3000),
        ("coupon", 500),
        ("points", 1000),
    ]
    assert body["total_fen"] == 20940 - 3000 - 500 - 1000 == line["total_fen"]
    assert body["points_redeemed"] == 1000 and body["applied_promotions"] == [promo.json["id"]]


def test_quote_flags_products_not_in_force(client, make):
    product = make.product()
    quote = client.post(
        "/api/v1/quotes",
        headers=make.headers(make.user()),
        json={"items": [{"sku_id": product.skus[0].id, "quantity": 1}]},
    ).json
    assert quote["problems"] == ["not_in_force"] and quote["total_fen"] == 0


def test_quote_rejects_unknown_skus_and_coupons(client, make):
    headers = make.headers(make.user())
    assert (
        client.post("/api/v1/quotes", headers=headers, json={"items": [{"sku_id": 999999, "quantity": 1}]}).status_code
        == 422
    )
    product = make.certified().product
    unknown = client.post(
        "/api/v1/quotes",
        headers=headers,
        json={"items": [{"sku_id": product.skus[0].id, "quantity": 1}], "coupon_code": "NOPE"},
    )
    assert unknown.status_code == 422 and "coupon_code" in unknown.json["error"]["details"]["fields"]


def test_offers_are_admin_only_and_validated(client, make, admin):
    buyer = make.headers(make.user())
    body = {"name": "x", "kind": "percent_discount", "percent_bp": 1000, **_window()}
    assert client.post("/api/v1/promotions", headers=buyer, json=body).status_code == 403
    no_rule = client.post("/api/v1/promotions", headers=admin, json={**body, "percent_bp": 0})
    assert no_rule.status_code == 422
    backwards = client.post(
        "/api/v1/promotions",
        headers=admin,
        json={**body, "ends_at": _window()["starts_at"], "starts_at": _window()["ends_at"]},
    )
    assert backwards.status_code == 422 and "ends_at" in backwards.json["error"]["details"]["fields"]
    percent_coupon = client.post(
        "/api/v1/coupons",
        headers=admin,
        json={"code": "BIG", "name": "x", "kind": "percent", "value": 20000, **_window()},
    )
    assert percent_coupon.status_code == 422


def test_promotion_can_be_switched_off(client, make, admin):
    created = client.post(
        "/api/v1/promotions",
        headers=admin,
        json={"name": "9折", "kind": "percent_discount", "percent_bp": 1000, **_window()},
    ).json
    assert created["id"] in [p["id"] for p in client.get("/api/v1/promotions").json["items"]]
    client.patch(f"/api/v1/promotions/{created['id']}", headers=admin, json={"is_active": False})
    assert created["id"] not in [p["id"] for p in client.get("/api/v1/promotions").json["items"]]


def test_rush_sale_listing_and_quote(client, make, session, admin):
    product = make.certified().product
    rush = client.post(
        "/api/v1/rush-sales",
        headers=admin,
        json={
            "name": "积分抢脐橙",
            "sku_id": product.skus[0].id,
            "points_price": 800,
            "cash_price_fen": 100,
            "quantity_cap": 10,
            "per_buyer_cap": 2,
            **_window(),
        },
    )
    assert rush.status_code == 201
    listed = client.get("/api/v1/rush-sales").json["items"]
    assert [(r["id"], r["remaining"]) for r in listed] == [(rush.json["id"], 10)]
    buyer = make.user()
    quote = client.post(
        "/api/v1/quotes",
        headers=make.headers(buyer),
        json={"items": [{"sku_id": product.skus[0].id, "quantity": 3, "rush_sale_id": rush.json["id"]}]},
    ).json
    assert quote["problems"] == ["rush_sale_buyer_limit"]
    assert quote["points_cost"] == 2400 and quote["total_fen"] == 300
    mismatch = client.post(
        "/api/v1/quotes",
        headers=make.headers(buyer),
        json={
            "items": [{"sku_id": make.certified().product.skus[0].id, "quantity": 1, "rush_sale_id": rush.json["id"]}]
        },
    )
    assert mismatch.status_code == 422


# --- the atomic claims under parallel load (PostgreSQL) -------------------------------------------


def _parallel(fn, n):
    with ThreadPoolExecutor(max_workers=8) as pool:
        return list(pool.map(fn, range(n)))


def test_rush_sale_cap_and_per_buyer_cap_hold_under_parallel_claims(committed_app):
    factory = committed_app.extensions["shop"]["sessionmaker"]
    now = clock.now()
    with committed_app.app_context(), transaction(factory) as session:
        make = Factory(committed_app, session)
        product = make.certified().product
        rush = offers.create_rush_sale(
            session,
            make.admin,
            data={
                "name": "r",
                "sku_id": product.skus[0].id,
                "points_price": 10,
                "cash_price_fen": 0,
                "quantity_cap": 7,
                "per_buyer_cap": 2,
                "starts_at": now - timedelta(hours=1),
                "ends_at": now + timedelta(hours=1),
            },
        )
        buyers = [make.user().id for _ in range(6)]
        rush_id = rush.id

    def claim(i):
        try:
            with transaction(factory) as session:
                offers.claim_rush_sale(session, rush_id, buyers[i % 6], 1, now)
            return buyers[i % 6]
        except OfferUnavailable:
            return None

    won = [b for b in _parallel(claim, 30) if b is not None]
    assert len(won) == 7
    assert max(won.count(b) for b in buyers) <= 2
    with transaction(factory) as session:
        assert offers.get_rush_sale(session, rush_id).sold == 7


def test_single_use_coupon_is_claimed_once_under_parallel_claims(committed_app):
    factory = committed_app.extensions["shop"]["sessionmaker"]
    now = clock.now()
    with committed_app.app_context(), transaction(factory) as session:
        make = Factory(committed_app, session)
        coupon = offers.create_coupon(
            session,
            make.admin,
            data={
                "code": "ONCE",
                "name": "once",
                "kind": "fixed",
                "value": 100,
                "total_uses": 1,
                "per_buyer_uses": 1,
                "starts_at": now - timedelta(hours=1),
                "ends_at": now + timedelta(hours=1),
            },
        )
        buyers = [make.user().id for _ in range(4)]
        coupon_id = coupon.id

    def claim(i):
        try:
            with transaction(factory) as session:
                offers.claim_coupon(session, coupon_id, buyers[i % 4], now)
            return True
        except OfferUnavailable:
            return False

    assert _parallel(claim, 20).count(True) == 1
