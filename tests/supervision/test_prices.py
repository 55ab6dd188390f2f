from datetime import timedelta

from shop import clock
from shop.auth.models import Role
from tests.conftest import configured
from tests.factories import FENGJIE, WUSHAN
from tests.supervision.conftest import P


def _setup(make, district=FENGJIE, price=3000, weight=5000):
    category = make.category()
    supplier = make.supplier(district)
    product = make.product(supplier, category=category, price_fen=price)
    sku = product.skus[0]
    member = make.headers(make.user((Role.SUPPLIER_MEMBER, supplier.id)))
    return category, sku, member


def test_every_price_is_kept_with_who_and_when(client, make, session):
    _category, sku, member = _setup(make)
    for price in (3100, 3200):
        assert client.patch(f"{P}/skus/{sku.id}", json={"price_fen": price}, headers=member).status_code == 200
    client.patch(f"{P}/skus/{sku.id}", json={"name": "5斤装"}, headers=member)  # no price change: no row
    history = client.get(f"{P}/skus/{sku.id}/price-history").json
    assert [(h["old_price_fen"], h["new_price_fen"]) for h in history["items"]] == [
        (3100, 3200),
        (3000, 3100),
        (None, 3000),
    ]
    assert history["items"][0]["changed_by_id"] is not None


def test_above_reference_per_kg_flagged_justified_and_closed_by_the_regulator(client, make, session):
    category, sku, member = _setup(make, price=3000)
    sku.net_weight_g = 2500  # 3000 fen for 2.5 kg: 1200 fen per kg
    session.flush()
    regulator = make.headers(make.user(Role.REGULATOR))
    start = clock.now() - timedelta(days=1)
    body = {
        "category_id": category.id,
        "unit": "kg",
        "price_fen": 1000,
        "valid_from": start.isoformat(),
        "valid_until": (start + timedelta(days=30)).isoformat(),
    }
    assert client.post(f"{P}/reference-prices", json=body, headers=member).status_code == 403
    assert client.post(f"{P}/reference-prices", json=body, headers=regulator).status_code == 201
    assert client.get(f"{P}/price-flags?open=true", headers=regulator).json["total"] == 0  # 20% above: allowed
    client.patch(f"{P}/skus/{sku.id}", json={"price_fen": 3300}, headers=member)  # 1320 per kg: 32% above
    flags = client.get(f"{P}/price-flags?open=true", headers=regulator).json["items"]
    assert [(f["kind"], f["sku_id"]) for f in flags] == [("above_reference", sku.id)]
    flag = flags[0]
    assert flag["details"]["unit_price_fen"] == 1320 and flag["details"]["reference_price_fen"] == 1000
    # scope: the certifier of another district sees nothing; the supplier sees its own
    ws = make.headers(make.certifier(WUSHAN))
    assert client.get(f"{P}/price-flags/{flag['id']}", headers=ws).status_code == 404
    assert client.get(f"{P}/price-flags", headers=ws).json["total"] == 0
    assert client.get(f"{P}/price-flags", headers=make.headers(make.certifier(FENGJIE))).json["total"] == 1
    assert client.post(f"{P}/price-flags/{flag['id']}/close", json={}, headers=member).status_code == 403
    justified = client.post(
        f"{P}/price-flags/{flag['id']}/justify", json={"justification": "冰雹减产"}, headers=member
    ).json
    assert justified["status"] == "justified"
    closed = client.post(f"{P}/price-flags/{flag['id']}/close", json={"note": "属实"}, headers=regulator).json
    assert closed["status"] == "closed" and [e["to_status"] for e in closed["events"]] == [
        "open",
        "justified",
        "closed",
    ]
    assert client.post(f"{P}/price-flags/{flag['id']}/close", json={}, headers=regulator).status_code == 409


def test_a_sharp_rise_within_the_days_is_flagged_and_a_correction_marks_it(client, make, session):
    _category, sku, member = _setup(make, price=1000)
    regulator = make.headers(make.user(Role.REGULATOR))
    t0 = clock.now()

    def set_price(day, price):
        with clock.frozen_at(t0 + timedelta(days=day)):
            assert client.patch(f"{P}/skus/{sku.id}", json={"price_fen": price}, headers=member).status_code == 200

    def rises():
        return client.get(f"{P}/price-flags?kind=sharp_rise", headers=regulator).json["items"]

    set_price(1, 1150)  # +15%
    set_price(9, 1300)  # +13% on the week's lowest (1150): the 1000 is older than seven days
    assert rises() == []
    set_price(10, 1450)  # +26% on 1150 within the week
    flags = rises()
    assert len(flags) == 1 and flags[0]["details"]["lowest_price_fen"] == 1150
    set_price(11, 1350)  # +17%: back within bounds
    assert client.get(f"{P}/price-flags/{flags[0]['id']}", headers=regulator).json["status"] == "corrected"


def test_a_price_set_through_the_api_is_checked_against_the_configured_share(app, client, make, session):
    category, sku, member = _setup(make, price=3000)
    sku.net_weight_g = 2500  # 1200 fen per kg
    session.flush()
    regulator = make.headers(make.user(Role.REGULATOR))
    start = clock.now() - timedelta(days=1)
    body = {
        "category_id": category.id,
        "unit": "kg",
        "price_fen": 1000,
        "valid_from": start.isoformat(),
        "valid_until": (start + timedelta(days=30)).isoformat(),
    }
    with configured(app, PRICE_ABOVE_REFERENCE_BP=3500):
        assert client.post(f"{P}/reference-prices", json=body, headers=regulator).status_code == 201
        client.patch(f"{P}/skus/{sku.id}", json={"price_fen": 3300}, headers=member)  # 32% above: within 35%
        assert client.get(f"{P}/price-flags?open=true", headers=regulator).json["total"] == 0
        client.patch(f"{P}/skus/{sku.id}", json={"price_fen": 3500}, headers=member)  # 40% above
        flags = client.get(f"{P}/price-flags?open=true", headers=regulator).json["items"]
    assert [(f["kind"], f["sku_id"]) for f in flags] == [("above_reference", sku.id)]
