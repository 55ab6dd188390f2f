"""The buyer's address book: mainland region codes, exactly one default, used at checkout."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy as sa
from flask_jwt_extended import create_access_token

from shop.addresses.models import Address
from shop.addresses.service import MAX_ADDRESSES
from shop.db import transaction
from tests.factories import Factory
from tests.orders.conftest import add_to_cart, shop  # noqa: F401  (the fixture)

URL = "/api/v1/addresses"


def address(**extra) -> dict:
    return {"recipient": "李四", "phone": "13800000000", "region_code": "500236", "detail": "永安街道 1 号", **extra}


def add(client, headers, **extra):
    response = client.post(URL, headers=headers, json=address(**extra))
    assert response.status_code == 201, response.json
    return response.json


def defaults(client, headers) -> list[int]:
    return [a["id"] for a in client.get(URL, headers=headers).json["items"] if a["is_default"]]


def test_the_first_address_is_the_default_and_one_stays_so(client, make):
    headers = make.headers(make.user())
    first = add(client, headers)
    assert first["is_default"] and first["district_id"] == 500236 and first["region_code"] == "500236"
    second = add(client, headers, region_code="110105", detail="朝阳区 8 号")
    assert not second["is_default"] and second["district_id"] is None
    third = add(client, headers, is_default=True)
    assert defaults(client, headers) == [third["id"]]
    listed = client.get(URL, headers=headers).json
    assert [a["id"] for a in listed["items"]] == [third["id"], second["id"], first["id"]] and listed["total"] == 3

    made = client.post(f"{URL}/{first['id']}/default", headers=headers)
    assert made.status_code == 200 and made.json["is_default"]
    assert defaults(client, headers) == [first["id"]]

    assert client.delete(f"{URL}/{first['id']}", headers=headers).status_code == 204
    assert defaults(client, headers) == [third["id"]]  # the newest left
    for gone in (first, second, third):
        client.delete(f"{URL}/{gone['id']}", headers=headers)
    assert client.get(URL, headers=headers).json["items"] == []


def test_an_address_is_changed_and_seen_only_by_its_owner(client, make):
    owner, other = make.headers(make.user()), make.headers(make.user())
    mine = add(client, owner)
    changed = client.patch(
        f"{URL}/{mine['id']}", headers=owner, json={"detail": "新地址 2 号", "postal_code": "404600"}
    )
    assert changed.status_code == 200 and changed.json["detail"] == "新地址 2 号" and changed.json["is_default"]
    for method, path in (("get", ""), ("patch", ""), ("delete", ""), ("post", "/default")):
        response = getattr(client, method)(f"{URL}/{mine['id']}{path}", headers=other, json={})
        assert response.status_code == 404 and response.json["error"]["code"] == "not_found", method
    assert client.get(URL).status_code == 401


@pytest.mark.parametrize(
    ("code", "error"),
    [
        ("5002A6", "invalid_region"),
        ("710100", "invalid_region"),  # not the mainland
        ("990101", "invalid_region"),  # no such province
        ("500000", "invalid_region"),  # a province, not a county
        ("500999", "invalid_region"),  # not a Chongqing district or county
        ("50023", "invalid_input"),
    ],
)
def test_region_codes_are_mainland_county_level(client, make, code, error):
    headers = make.headers(make.user())
    response = client.post(URL, headers=headers, json=address(region_code=code))
    assert response.status_code == 422 and response.json["error"]["code"] == error
    assert "region_code" in response.json["error"]["details"]["fields"]
    mine = add(client, headers)
    assert client.patch(f"{URL}/{mine['id']}", headers=headers, json={"region_code": code}).status_code == 422


def test_the_book_has_a_limit(client, make, session):
    user = make.user()
    session.add_all(
        Address(user_id=user.id, recipient="x", phone="13800000000", region_code="500236", detail="x")
        for _ in range(MAX_ADDRESSES - 1)
    )
    session.flush()
    headers = make.headers(user)
    add(client, headers)
    full = client.post(URL, headers=headers, json=address())
    assert full.status_code == 409 and full.json["error"]["code"] == "address_book_full"


def test_a_delivery_checks_out_with_a_book_address_or_the_default(client, shop):  # noqa: F811
    headers = shop.buyer_headers
    add_to_cart(client, headers, shop.sku, shop.hall, 1, fulfilment="delivery")
    none_yet = client.post("/api/v1/orders", headers=headers, json={})
    assert none_yet.status_code == 422 and "delivery_address" in none_yet.json["error"]["details"]["fields"]

    home = add(client, headers)
    office = add(client, headers, recipient="王五", region_code="500103", detail="解放碑 8 号")
    chosen = client.post("/api/v1/orders", headers=headers, json={"address_id": office["id"]})
    assert chosen.status_code == 201, chosen.json
    kept = chosen.json["delivery_address"]
    assert kept["name"] == "王五" and kept["region_code"] == "500103" and kept["district_id"] == 500103

    client.patch(f"{URL}/{office['id']}", headers=headers, json={"detail": "changed"})
    order = client.get(f"/api/v1/orders/{chosen.json['id']}", headers=headers).json
    assert order["delivery_address"]["address"] == "解放碑 8 号"  # the order keeps its copy

    add_to_cart(client, headers, shop.sku, shop.hall, 1, fulfilment="delivery")
    by_default = client.post("/api/v1/orders", headers=headers, json={})
    assert by_default.status_code == 201 and by_default.json["delivery_address"]["address_id"] == home["id"]


def test_checkout_refuses_a_foreign_address_and_two_addresses(client, shop, make):  # noqa: F811
    foreign = add(client, make.headers(make.user()))
    add_to_cart(client, shop.buyer_headers, shop.sku, shop.hall, 1, fulfilment="delivery")
    response = client.post("/api/v1/orders", headers=shop.buyer_headers, json={"address_id": foreign["id"]})
    assert response.status_code == 404
    both = {"address_id": foreign["id"], "delivery_address": {"name": "a", "phone": "13800000000", "address": "b"}}
    response = client.post("/api/v1/orders", headers=shop.buyer_headers, json=both)
    assert response.status_code == 422 and "address_id" in response.json["error"]["details"]["fields"]


def test_one_default_under_parallel_requests(committed_app):
    """Parallel creations asking to be the default and parallel switches: every request succeeds,
    and the buyer ends with exactly one default (PostgreSQL, real commits)."""
    factory = committed_app.extensions["shop"]["sessionmaker"]
    with committed_app.app_context(), transaction(factory) as session:
        user_id = Factory(committed_app, session).user().id
        token = create_access_token(identity=str(user_id))
    headers = {"Authorization": f"Bearer {token}"}

    def create(i):
        return committed_app.test_client().post(URL, headers=headers, json=address(detail=f"{i} 号", is_default=True))

    with ThreadPoolExecutor(max_workers=8) as pool:
        created = list(pool.map(create, range(12)))
    assert [r.status_code for r in created] == [201] * 12
    ids = [r.json["id"] for r in created]

    def switch(address_id):
        return committed_app.test_client().post(f"{URL}/{address_id}/default", headers=headers)

    with ThreadPoolExecutor(max_workers=8) as pool:
        switched = list(pool.map(switch, ids + ids[::-1]))
    assert [r.status_code for r in switched] == [200] * 24

    with ThreadPoolExecutor(max_workers=8) as pool:
        deleted = list(pool.map(lambda i: committed_app.test_client().delete(f"{URL}/{i}", headers=headers), ids[:6]))
    assert [r.status_code for r in deleted] == [204] * 6
    with transaction(factory) as session:
        rows = session.execute(sa.select(Address.id, Address.is_default).where(Address.user_id == user_id)).all()
    assert len(rows) == 6 and sum(is_default for _id, is_default in rows) == 1
