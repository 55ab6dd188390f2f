from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from shop import clock
from shop.auth.models import Role
from shop.inventory.models import china_today
from shop.jobs import runner
from shop.monitoring.models import RiskLevel, RiskLevelChange
from shop.monitoring.risk import RiskRules, evaluate
from tests.monitoring.conftest import M, declaration, declare, sell_over_days

RULES = RiskRules()  # 28 days of velocity, 7 of ageing; watch 10%, warning 30%, critical 60%
TODAY = date(2026, 6, 1)


def level(unsold, sold, *, horizon=10, ageing=0):
    """The level with the harvest over today and `horizon` days of keeping left."""
    return evaluate(
        RULES,
        today=TODAY,
        unsold=unsold,
        harvest_until=TODAY,
        keeps_days=horizon,
        sold_in_window=sold,
        ageing_units=ageing,
    )


# Worked examples at each boundary: `sold` over 28 days sells sold/28 a day, for 10 days.
@pytest.mark.parametrize(
    ("unsold", "sold", "share_bp", "expected"),
    [
        (99, 252, 909, RiskLevel.NONE),  # 9 a day: 90 of 99 sell, 9 left is 9.09%
        (100, 252, 1000, RiskLevel.WATCH),  # 10 of 100 left: exactly 10%
        (99, 196, 2929, RiskLevel.WATCH),  # 7 a day: 70 sell, 29 of 99 left
        (100, 196, 3000, RiskLevel.WARNING),  # exactly 30%
        (99, 112, 5959, RiskLevel.WARNING),  # 4 a day: 40 sell, 59 of 99 left
        (100, 112, 6000, RiskLevel.CRITICAL),  # exactly 60%
        (100, 0, 10000, RiskLevel.CRITICAL),  # nothing sells
    ],
)
def test_the_rule_at_each_level_boundary(unsold, sold, share_bp, expected):
    found, figures = level(unsold, sold)
    assert (found, figures["unsold_share_bp"]) == (expected, share_bp)
    assert figures["expected_sales"] == sold * 10 // 28
    assert figures["horizon_days"] == 10 and figures["sell_by"] == "2026-06-11"


@pytest.mark.parametrize("unsold", [0, 1, 150, 299, 300])
def test_a_product_that_sells_fast_enough_never_warns(unsold):
    # 10 a day for 30 days sells 300: anything up to that goes
    found, figures = level(unsold, 280, horizon=30)
    assert found == RiskLevel.NONE and figures["unsold_share_bp"] == 0


def test_stock_near_its_best_before_counts_with_what_the_shelves_sell_first():
    # past the sell-by nothing more sells from origin; 50 ageing units at halls, 1 a day sells 7 in a week
    found, figures = level(0, 28, horizon=0, ageing=50)
    assert (figures["ageing_left"], figures["exposed"], figures["unsold_share_bp"]) == (43, 50, 8600)
    assert found == RiskLevel.CRITICAL
    # the week's sales go to the shelves first, the rest of the horizon to the origin
    found, figures = level(30, 28, horizon=37, ageing=7)
    assert (figures["ageing_left"], figures["origin_left"], found) == (0, 0, RiskLevel.NONE)


def test_thresholds_come_from_the_settings():
    rules = RiskRules.from_config(
        {
            "MONITORING_VELOCITY_DAYS": 10,
            "MONITORING_AGEING_DAYS": 3,
            "MONITORING_WATCH_BP": 100,
            "MONITORING_WARNING_BP": 200,
            "MONITORING_CRITICAL_BP": 300,
        }
    )
    found, figures = evaluate(
        rules, today=TODAY, unsold=100, harvest_until=TODAY, keeps_days=10, sold_in_window=97, ageing_units=0
    )
    assert figures["unsold_share_bp"] == 300 and found == RiskLevel.CRITICAL


def test_a_declaration_assesses_the_product_from_its_sales_in_every_channel(client, session, produce):
    sell_over_days(session, produce.hall, produce.sku, per_day=2, days=28)  # 56 in the window: 2 a day
    body = declare(client, produce, 100, harvest_days=0, keeps_days=30)  # 60 sell in 30 days, 40 left
    assert body["version"] == 1 and body["unit"] == "box"
    risk = client.get(f"{M}/products/{produce.product.id}/risk", headers=produce.coordinator).json
    assert risk["level"] == "warning"
    assert risk["figures"]["sold_in_window"] == 56 and risk["figures"]["velocity_per_day"] == "2.00"
    assert (risk["figures"]["expected_sales"], risk["figures"]["unsold_share_bp"]) == (60, 4000)
    assert [(c["from_level"], c["to_level"]) for c in risk["changes"]] == [("none", "warning")]


def test_a_new_declaration_re_evaluates_and_each_change_is_recorded(client, session, produce):
    declare(client, produce, 100)
    assert client.get(f"{M}/products/{produce.product.id}/risk", headers=produce.certifier).json["level"] == "critical"
    declare(client, produce, 0)
    risk = client.get(f"{M}/products/{produce.product.id}/risk", headers=produce.certifier).json
    assert risk["level"] == "none" and risk["declaration_version"] == 2
    assert [(c["from_level"], c["to_level"]) for c in risk["changes"]] == [("critical", "none"), ("none", "critical")]
    history = client.get(f"{M}/products/{produce.product.id}/declaration", headers=produce.supplier_member).json
    assert [v["unsold_quantity"] for v in history["history"]] == [0, 100]


def test_the_same_figures_change_nothing_and_new_sales_do(app, client, session, produce):
    declare(client, produce, 100, keeps_days=10)
    runner.run(app, "monitoring.risk")
    runner.run(app, "monitoring.risk")
    changes = session.scalars(sa.select(RiskLevelChange).where(RiskLevelChange.product_id == produce.product.id))
    assert [c.to_level for c in changes] == [RiskLevel.CRITICAL]
    sell_over_days(session, produce.hall, produce.sku, per_day=10, days=28)  # 100 sell in 10 days
    assessed = client.post(f"{M}/risks/assess", headers=produce.coordinator, json={}).json
    assert assessed["changed_levels"] == 1
    assert client.get(f"{M}/products/{produce.product.id}/risk", headers=produce.coordinator).json["level"] == "none"


def test_who_sees_a_products_risk(client, make, produce):
    declare(client, produce, 100)
    other_supplier = make.headers(make.user((Role.SUPPLIER_MEMBER, make.supplier().id)))
    other_certifier = make.headers(make.certifier(500237))
    for headers in (produce.supplier_member, produce.certifier, produce.coordinator):
        listed = client.get(f"{M}/risks", headers=headers, query_string={"min_level": "warning"}).json
        assert [r["product_id"] for r in listed["items"]] == [produce.product.id]
    for headers in (other_supplier, other_certifier, make.headers(make.user())):
        assert client.get(f"{M}/risks", headers=headers).json["items"] == []
        assert client.get(f"{M}/products/{produce.product.id}/risk", headers=headers).status_code == 404
        assert client.get(f"{M}/products/{produce.product.id}/declaration", headers=headers).status_code == 404
    # only the supplier declares; only the coordinator asks for an assessment
    assert (
        client.put(
            f"{M}/products/{produce.product.id}/declaration", headers=other_supplier, json=declaration(1)
        ).status_code
        == 403
    )
    assert client.post(f"{M}/risks/assess", headers=produce.supplier_member, json={}).status_code == 403


def test_a_declaration_must_add_up_and_be_of_certified_goods(client, make, produce):
    bad = {**declaration(10, expected=5), "harvest_until": "2001-01-01"}
    refused = client.put(f"{M}/products/{produce.product.id}/declaration", headers=produce.supplier_member, json=bad)
    assert refused.status_code == 422 and set(refused.json["error"]["details"]["fields"]) >= {
        "unsold_quantity",
        "harvest_until",
    }
    uncertified = make.product(produce.product.supplier)
    refused = client.put(
        f"{M}/products/{uncertified.id}/declaration", headers=produce.supplier_member, json=declaration(1)
    )
    assert refused.status_code == 409 and refused.json["error"]["code"] == "not_declarable"


def test_risk_report_by_district_and_level_over_time(client, produce):
    declare(client, produce, 100)
    today = china_today(clock.now())
    query = {"date_from": (today - timedelta(days=1)).isoformat(), "date_to": today.isoformat(), "period": "day"}
    rows = client.get(f"{M}/reports/risk", headers=produce.coordinator, query_string=query).json["items"]
    assert rows == [{"day": today.isoformat(), "district_id": 500236, "level": "critical", "products": 1}]
    csv = client.get(f"{M}/reports/risk/export", headers=produce.certifier, query_string={**query, "format": "csv"})
    assert csv.status_code == 200 and "critical" in csv.get_data(as_text=True)
    xlsx = client.get(f"{M}/reports/risk/export", headers=produce.coordinator, query_string={**query, "format": "xlsx"})
    assert xlsx.status_code == 200 and xlsx.data[:2] == b"PK"


def test_an_early_warning_reaches_the_supplier_certifier_and_coordinator_once(client, make, produce):
    def kinds(headers):
        return [item["kind"] for item in client.get("/api/v1/notifications", headers=headers).json["items"]]

    bystander = make.headers(make.certifier(500237))
    declare(client, produce, 100)  # none → critical: a warning
    declare(client, produce, 90)  # still critical: no second one
    for headers in (produce.supplier_member, produce.certifier, produce.coordinator):
        assert kinds(headers).count("early_warning") == 1
    assert "early_warning" not in kinds(bystander)
    declare(client, produce, 0)  # back to none: nothing to warn of
    assert kinds(produce.coordinator).count("early_warning") == 1
