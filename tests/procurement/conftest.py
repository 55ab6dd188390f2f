from dataclasses import dataclass
from datetime import timedelta

import pytest

from shop import clock
from shop.auth.models import Role
from shop.inventory.models import china_today
from shop.procurement import budgets, organisations
from shop.procurement.models import OrgKind
from tests.factories import YUZHONG, valid_uscc
from tests.orders.conftest import shop  # noqa: F401  (a buyer, a counter with a certified SKU)

YEAR = china_today(clock.now()).year  # the fiscal year a bulk order takes (Asia/Shanghai, as the code)
P = "/api/v1/procurement"


@dataclass
class Org:
    """A verified organisation with a budget, its purchaser, approver and finance, a hall with stock."""

    org: object
    purchaser: object
    approver: object
    finance: object
    hall: object
    counter: object
    operator: object
    sku: object
    headers: dict  # role name → headers


def make_org(make, session, *, headcount=100, budget_fen=5_000_000, name=None, district_id=YUZHONG):
    creator = make.user()
    org = organisations.register_organisation(
        session,
        make.actor(creator),
        data={
            "name": name or "渝中区总工会",
            "kind": OrgKind.LABOUR_UNION,
            "district_id": district_id,
            "uscc": valid_uscc(district_id),
            "headcount": headcount,
            "per_capita_cap_fen": 50_000,
            "return_unredeemed_vouchers": True,
            "contact_name": "王会计",
            "contact_phone": "13800000000",
        },
        now=clock.now(),
    )
    organisations.verify_organisation(session, make.admin, org.id, now=clock.now())
    purchaser = make.user((Role.ORG_MEMBER, org.id))
    finance = make.user((Role.ORG_FINANCE, org.id))
    if budget_fen:
        budgets.create_budget(
            session, make.actor(finance), org.id, fiscal_year=YEAR, amount_fen=budget_fen, now=clock.now()
        )
    return org, purchaser, creator, finance


@pytest.fixture
def buyer_org(make, session):
    org, purchaser, approver, finance = make_org(make, session)
    hall = make.hall()
    counter = make.counter(hall)
    sku = make.sku(price_fen=10_000)
    make.stock(hall, sku, 1000)
    make.stock(counter, sku, 10)
    operator = make.operator(hall)
    headers = {
        "purchaser": make.headers(purchaser),
        "approver": make.headers(approver),
        "finance": make.headers(finance),
        "operator": make.headers(operator),
    }
    return Org(org, purchaser, approver, finance, hall, counter, operator, sku, headers)


def new_order(client, o, **extra):
    response = client.post(
        f"{P}/organisations/{o.org.id}/bulk-orders",
        headers=o.headers["purchaser"],
        json={"title": "中秋慰问", "supply_location_id": o.hall.id, **extra},
    )
    assert response.status_code == 201, response.json
    return response.json


def add_lines(client, o, order_id, lines, who="purchaser"):
    return client.post(f"{P}/bulk-orders/{order_id}/lines", headers=o.headers[who], json={"lines": lines})


def budget_of(client, o):
    return client.get(f"{P}/organisations/{o.org.id}/budgets", headers=o.headers["finance"]).json["items"][0]


def voucher_order(client, o, lines, days=30):
    expires = (clock.now() + timedelta(days=days)).isoformat()
    order = client.post(
        f"{P}/organisations/{o.org.id}/bulk-orders",
        headers=o.headers["purchaser"],
        json={"title": "春节提货券", "kind": "vouchers", "voucher_expires_at": expires},
    ).json
    assert add_lines(client, o, order["id"], lines).status_code == 200
    assert client.post(f"{P}/bulk-orders/{order['id']}/submit", headers=o.headers["purchaser"]).status_code == 200
    assert (
        client.post(f"{P}/bulk-orders/{order['id']}/approve", headers=o.headers["approver"], json={}).status_code == 200
    )
    payment = client.post(f"{P}/bulk-orders/{order['id']}/payments", headers=o.headers["finance"], json={}).json
    paid = client.post(
        f"{P}/bulk-orders/{order['id']}/payments/{payment['id']}/confirm",
        headers=o.headers["finance"],
        json={"reference": "T-V"},
    )
    assert paid.status_code == 200, paid.json
    listed = client.get(f"{P}/bulk-orders/{order['id']}/vouchers?size=100", headers=o.headers["purchaser"]).json
    return order, listed["items"]
