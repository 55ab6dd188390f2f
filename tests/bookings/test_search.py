"""Services found by a date range with capacity left, on both search backends and in the catalog."""

from datetime import timedelta

from shop.bookings import offerings
from tests.bookings.conftest import book, make_homestay
from tests.search.conftest import engine_in_app, index, osmem  # noqa: F401


def _ids(client, index, **params) -> set[int]:  # noqa: F811
    response = client.get("/api/v1/search", query_string={"size": 100, **params})
    assert response.status_code == 200, response.json
    assert response.json["backend"] == ("elasticsearch" if index.name == "engine" else "embedded")
    return {item["id"] for item in response.json["items"]}


def test_a_date_range_finds_services_with_capacity_left(client, make, session, index):  # noqa: F811
    make.centre()
    stay = make_homestay(make, session, capacity=1, days=3)
    goods = make.sku()
    first, last = stay.slots[0].day, stay.slots[-1].day
    index.refresh()
    days = {"available_from": first.isoformat(), "available_to": last.isoformat()}
    assert _ids(client, index, **days) == {stay.product.id}
    assert goods.product_id in _ids(client, index)  # without the filter, goods too
    after = (last + timedelta(days=30)).isoformat()
    assert _ids(client, index, available_from=after) == set()
    # the only room of the first night is booked: that night alone no longer finds it
    book(client, stay.buyer_headers, stay.sku, stay.slots[0])
    assert client.post("/api/v1/orders", headers=stay.buyer_headers, json={}).status_code == 201
    index.refresh()
    night = {"available_from": first.isoformat(), "available_to": first.isoformat()}
    assert _ids(client, index, **night) == set()
    assert _ids(client, index, **days) == {stay.product.id}
    # a closed slot is no capacity either
    for slot in stay.slots[1:]:
        offerings.update_slot(session, make.admin, slot.id, data={"is_closed": True})
    index.refresh()
    assert _ids(client, index, **days) == set()
    # the catalog filters the same way
    listed = client.get("/api/v1/products", query_string={"kind": "service", **days}).json
    assert listed["total"] == 0
    reversed_range = client.get("/api/v1/search", query_string={"available_from": last, "available_to": first})
    assert reversed_range.status_code == 422
