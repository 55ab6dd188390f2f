"""Grouped totals with periods, filters and year-on-year change; the deep-poverty townships' check;
who sees what; reserved-share completion counted from the facts; the yearly plan's progress."""

from datetime import timedelta

from shop import clock
from shop.auth.models import Role
from shop.inventory import movements as inventory
from shop.inventory.models import CHINA
from shop.procurement import vouchers
from tests.conftest import configured
from tests.factories import FENGJIE, PINGAN, WUSHAN, YUZHONG
from tests.statistics.conftest import P, received_bulk_order, voucher_order

S = "/api/v1/statistics"


def _today():
    return clock.now().astimezone(CHINA).date()


def _sell(session, location, sku, quantity, at):
    inventory.sell(session, location.id, [{"sku_id": sku.id, "quantity": quantity}], now=at, require_in_force=False)


def test_totals_grouped_by_channel_and_month_with_year_on_year_change(client, session, make, shop):
    regulator = make.headers(make.user(Role.REGULATOR))
    now = clock.now()
    _sell(session, shop.hall, shop.sku, 2, now - timedelta(days=365))
    _sell(session, shop.hall, shop.sku, 3, now)
    _sell(session, shop.counter, shop.sku, 1, now)
    today = _today()
    response = client.get(
        f"{S}/sales",
        headers=regulator,
        query_string={
            "date_from": (today - timedelta(days=2)).isoformat(),
            "date_to": today.isoformat(),
            "group_by": "channel",
            "period": "year",
            "year_on_year": "true",
        },
    )
    assert response.status_code == 200, response.json
    rows = {row["dimensions"]["channel"]: row for row in response.json["items"]}
    assert rows["hall"]["amount_fen"] == 3 * 5000 and rows["hall"]["quantity"] == 3
    assert rows["hall"]["last_year_amount_fen"] == 2 * 5000 and rows["hall"]["change_bp"] == 5000
    assert rows["counter"]["amount_fen"] == 5000 and rows["counter"]["change_bp"] is None
    filtered = client.get(
        f"{S}/sales",
        headers=regulator,
        query_string={"date_from": today.isoformat(), "date_to": today.isoformat(), "channel": "counter"},
    ).json["items"]
    assert [(r["period"], r["amount_fen"]) for r in filtered] == [("all", 5000)]
    by_day = client.get(
        f"{S}/sales",
        headers=regulator,
        query_string={"date_from": today.isoformat(), "date_to": today.isoformat(), "period": "day"},
    ).json["items"]
    assert by_day == [
        {
            "period": today.isoformat(),
            "dimensions": {},
            "quantity": 4,
            "amount_fen": 20_000,
            "facts": by_day[0]["facts"],
        }
    ]


def test_a_query_of_more_groups_than_the_limit_is_refused_whole(app, client, session, make, shop):
    regulator = make.headers(make.user(Role.REGULATOR))
    now = clock.now()
    _sell(session, shop.hall, shop.sku, 2, now - timedelta(days=365))
    _sell(session, shop.counter, shop.sku, 1, now - timedelta(days=365))
    _sell(session, shop.hall, shop.sku, 3, now)
    today = _today()
    query = {"date_from": (today - timedelta(days=2)).isoformat(), "date_to": today.isoformat(), "group_by": "channel"}
    with configured(app, STATISTICS_MAX_GROUPS=1):
        one = client.get(f"{S}/sales", headers=regulator, query_string=query)
        assert one.status_code == 200 and [r["dimensions"] for r in one.json["items"]] == [{"channel": "hall"}]
        # a year before, the hall and a counter sold: two groups to compare with, over the limit
        compared = client.get(f"{S}/sales", headers=regulator, query_string={**query, "year_on_year": "true"})
        assert compared.status_code == 422, compared.json
        assert compared.json["error"]["code"] == "too_many_groups"
        assert compared.json["error"]["details"] == {"max_groups": 1}
        _sell(session, shop.counter, shop.sku, 1, now)
        refused = client.get(f"{S}/sales", headers=regulator, query_string=query)
        assert refused.status_code == 422 and refused.json["error"]["code"] == "too_many_groups"
    both = client.get(f"{S}/sales", headers=regulator, query_string=query).json["items"]
    assert sorted(r["dimensions"]["channel"] for r in both) == ["counter", "hall"]


def test_scopes_certifier_own_district_organisation_own_figures(client, session, make, buyer_org):
    o = buyer_org
    received_bulk_order(client, o, [{"sku_code": o.sku.code, "quantity": 2, "delivery_address": "解放碑 8号"}])
    _sell(session, o.hall, o.sku, 1, clock.now())
    today = _today().isoformat()
    query = {"date_from": today, "date_to": today, "group_by": "channel"}
    fengjie = make.headers(make.certifier(FENGJIE))
    wushan = make.headers(make.certifier(WUSHAN))
    seen = client.get(f"{S}/sales", headers=fengjie, query_string=query).json["items"]
    assert {r["dimensions"]["channel"]: r["amount_fen"] for r in seen} == {"bulk": 20_000, "hall": 10_000}
    assert client.get(f"{S}/sales", headers=wushan, query_string=query).json["items"] == []
    own = client.get(f"{S}/sales", headers=o.headers["finance"], query_string=query).json["items"]
    assert {r["dimensions"]["channel"]: r["amount_fen"] for r in own} == {"bulk": 20_000}
    buyer = client.get(f"{S}/sales", headers=make.headers(make.user()), query_string=query)
    assert buyer.status_code == 403


def test_a_deep_poverty_township_selling_less_than_last_year_is_flagged(client, session, make, shop):
    poor = make.sku(price_fen=1000, township_id=PINGAN)
    make.stock(shop.hall, poor, 50)
    now = clock.now()
    _sell(session, shop.hall, poor, 5, now - timedelta(days=365))
    _sell(session, shop.hall, poor, 2, now)
    today = _today()
    response = client.get(
        f"{S}/deep-poverty-townships",
        headers=make.headers(make.user(Role.REGULATOR)),
        query_string={"date_from": (today - timedelta(days=1)).isoformat(), "date_to": today.isoformat()},
    )
    assert response.status_code == 200, response.json
    row = next(r for r in response.json["items"] if r["township_id"] == PINGAN)
    assert (row["amount_fen"], row["last_year_amount_fen"], row["flagged"]) == (2000, 5000, True)
    assert row["change_bp"] == -6000
    assert all(not r["flagged"] for r in response.json["items"] if r["township_id"] != PINGAN)


def test_completion_counts_only_eligible_products_and_vouchers_by_value_redeemed(client, session, make, buyer_org):
    o = buyer_org
    year = _today().year
    # a certified product of a district that is not poverty-alleviated does not count
    city = make.sku(price_fen=1000, supplier=make.supplier(YUZHONG))
    make.stock(o.hall, city, 100)
    received_bulk_order(client, o, [{"sku_code": city.code, "quantity": 5, "delivery_address": "解放碑 8号"}])
    pledge = f"{P}/organisations/{o.org.id}/pledges/{year}"
    client.put(
        pledge,
        headers=o.headers["finance"],
        json={
            "amount_fen": 400_000,
            "canteen_food_budget_fen": 4_000_000,
            "contact_name": "王",
            "contact_phone": "13800000000",
        },
    )
    assert client.get(pledge, headers=o.headers["finance"]).json["completed_fen"] == 0
    # a voucher half redeemed, then expired: the half counts, the rest goes back to the budget
    _, items = voucher_order(client, o, [{"voucher_value_fen": 20_000, "quantity": 1}], days=3)
    redeemed = client.post(
        f"{P}/operator/vouchers/redeem",
        headers=o.headers["operator"],
        json={"code": items[0]["code"], "location_id": o.counter.id, "lines": [{"sku_id": o.sku.id, "quantity": 1}]},
    )
    assert redeemed.status_code == 201, redeemed.json
    later = clock.now() + timedelta(days=4)
    assert vouchers.expire_due(session, later) == 1
    assert client.get(pledge, headers=o.headers["finance"]).json["completed_fen"] == 10_000


def test_the_coordinator_sets_the_plan_and_progress_shows_share_and_pace(client, session, make, buyer_org):
    o = buyer_org
    coordinator = make.headers(make.user(Role.COORDINATOR))
    year = _today().year
    received_bulk_order(client, o, [{"sku_code": o.sku.code, "quantity": 3, "delivery_address": "解放碑 8号"}])
    refused = client.put(
        f"{S}/plans/{year}",
        headers=o.headers["finance"],
        json={"targets": [{"kind": "channel", "key": "bulk", "target_fen": 1}]},
    )
    assert refused.status_code == 403
    bad = client.put(
        f"{S}/plans/{year}",
        headers=coordinator,
        json={"targets": [{"kind": "district", "key": "999999", "target_fen": 1}]},
    )
    assert bad.status_code == 422
    targets = [
        {"kind": "district", "key": str(FENGJIE), "target_fen": 300_000},
        {"kind": "org_kind", "key": "union", "target_fen": 60_000},
        {"kind": "channel", "key": "bulk", "target_fen": 30_000},
    ]
    saved = client.put(f"{S}/plans/{year}", headers=coordinator, json={"targets": targets})
    assert saved.status_code == 200, saved.json
    progress = client.get(f"{S}/plans/{year}/progress", headers=coordinator).json
    rows = {(r["kind"], r["key"]): r for r in progress["targets"]}
    assert rows[("district", str(FENGJIE))]["amount_fen"] == 30_000
    assert rows[("district", str(FENGJIE))]["share_bp"] == 1000
    assert rows[("org_kind", "union")]["share_bp"] == 5000
    assert rows[("channel", "bulk")]["share_bp"] == 10_000 and not rows[("channel", "bulk")]["behind"]
    elapsed = progress["elapsed_bp"]
    assert 0 < elapsed <= 10_000
    assert rows[("channel", "bulk")]["pace_bp"] == 10_000 * 10_000 // elapsed
