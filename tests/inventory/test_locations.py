from datetime import UTC, datetime

from shop import clock
from shop.auth.models import Role
from shop.inventory.locations import is_open
from tests.factories import FENGJIE, YUZHONG

HOURS = {"mon": [{"opens": "08:30", "closes": "12:00"}, {"opens": "13:30", "closes": "17:30"}], "note": "节假日休息"}


def _create(client, headers, **body):
    return client.post("/api/v1/locations", json=body, headers=headers)


def test_admin_builds_the_tree_centre_halls_counters_zones(client, make):
    admin = make.headers(make.user(Role.ADMIN))
    centre = _create(client, admin, kind="centre", name="重庆消费帮扶运营中心", district_id=YUZHONG, address="渝中区")
    assert centre.status_code == 201, centre.json
    centre = centre.json
    assert centre["path"] == f"/{centre['id']}/" and centre["parent_id"] is None

    hall = _create(
        client,
        admin,
        kind="hall",
        parent_id=centre["id"],
        name="奉节专馆",
        district_id=FENGJIE,
        address="奉节县",
        opening_hours=HOURS,
    ).json
    assert hall["path"] == f"/{centre['id']}/{hall['id']}/"
    assert hall["opening_hours"]["mon"][1] == {"opens": "13:30", "closes": "17:30"}
    assert hall["district"] == {"id": FENGJIE, "name": "奉节县"}

    counter = _create(
        client,
        admin,
        kind="counter",
        parent_id=hall["id"],
        name="医院智能柜",
        district_id=YUZHONG,
        address="袁家岗",
        host_institution="重庆医科大学附属第一医院",
    ).json
    assert counter["host_institution"] == "重庆医科大学附属第一医院" and counter["has_counter_key"] is False
    for parent in (hall, centre):
        zone = _create(
            client, admin, kind="zone", parent_id=parent["id"], name="专区", district_id=YUZHONG, address="x"
        )
        assert zone.status_code == 201

    # the shape of the tree is enforced
    assert _create(client, admin, kind="centre", name="2nd", district_id=YUZHONG, address="x").status_code == 409
    bad = _create(client, admin, kind="counter", parent_id=centre["id"], name="c", district_id=YUZHONG, address="x")
    assert bad.status_code == 422 and "parent_id" in bad.json["error"]["details"]["fields"]
    assert _create(client, admin, kind="hall", name="orphan", district_id=YUZHONG, address="x").status_code == 422
    hosted = _create(
        client,
        admin,
        kind="hall",
        parent_id=centre["id"],
        name="h",
        district_id=YUZHONG,
        address="x",
        host_institution="school",
    )
    assert hosted.status_code == 422
    unknown = _create(client, admin, kind="hall", parent_id=centre["id"], name="h", district_id=1, address="x")
    assert unknown.status_code == 422

    listed = client.get("/api/v1/locations?size=100", headers=admin).json
    assert [loc["path"] for loc in listed["items"]] == sorted(loc["path"] for loc in listed["items"])
    assert listed["total"] == 5
    assert client.get(f"/api/v1/locations?kind=zone&parent_id={hall['id']}", headers=admin).json["total"] == 1


def test_opening_hours_are_validated(client, make):
    admin = make.headers(make.user(Role.ADMIN))
    centre = make.centre()
    for hours in (
        {"mon": [{"opens": "9:00", "closes": "17:00"}]},
        {"mon": [{"opens": "18:00", "closes": "17:00"}]},
        {"mon": [{"opens": "08:00", "closes": "12:00"}, {"opens": "11:00", "closes": "14:00"}]},
        {"monday": [{"opens": "08:00", "closes": "12:00"}]},
        {"mon": [{"opens": "08:00", "closes": "25:00"}]},
    ):
        response = _create(
            client,
            admin,
            kind="hall",
            parent_id=centre.id,
            name="h",
            district_id=YUZHONG,
            address="x",
            opening_hours=hours,
        )
        assert response.status_code == 422, hours
        assert response.json["error"]["code"] == "invalid_input"
    all_day = {"sun": [{"opens": "00:00", "closes": "24:00"}]}
    ok = _create(
        client,
        admin,
        kind="hall",
        parent_id=centre.id,
        name="h",
        district_id=YUZHONG,
        address="x",
        opening_hours=all_day,
    )
    assert ok.status_code == 201


def test_is_open_reads_china_time():
    hours = {"mon": [{"opens": "08:30", "closes": "17:30"}]}
    # Monday 2026-11-30 09:00 in Chongqing is 01:00 UTC
    assert is_open(hours, datetime(2026, 11, 30, 1, 0, tzinfo=UTC))
    assert not is_open(hours, datetime(2026, 11, 30, 9, 31, tzinfo=UTC))  # 17:31 local
    assert not is_open(hours, datetime(2026, 11, 29, 1, 0, tzinfo=UTC))  # Sunday
    assert is_open({"sun": [{"opens": "00:00", "closes": "24:00"}]}, datetime(2026, 11, 29, 15, 59, tzinfo=UTC))


def test_only_admins_create_and_change_locations(client, make):
    hall = make.hall()
    operator = make.headers(make.operator(hall))
    created = _create(client, operator, kind="zone", parent_id=hall.id, name="z", district_id=YUZHONG, address="x")
    assert created.status_code == 403
    assert client.patch(f"/api/v1/locations/{hall.id}", json={"name": "x"}, headers=operator).status_code == 403
    admin = make.headers(make.user(Role.ADMIN))
    changed = client.patch(
        f"/api/v1/locations/{hall.id}",
        json={"name": "新名字", "is_active": False, "opening_hours": HOURS},
        headers=admin,
    )
    assert changed.status_code == 200
    assert changed.json["name"] == "新名字" and changed.json["is_active"] is False
    assert client.patch(f"/api/v1/locations/{hall.id}", json={"kind": "zone"}, headers=admin).status_code == 422


def test_an_operator_sees_their_hall_and_what_hangs_under_it(client, make):
    hall_a, hall_b = make.hall(), make.hall()
    counter_a, counter_b = make.counter(hall_a), make.counter(hall_b)
    operator = make.headers(make.operator(hall_a))
    ids = {loc["id"] for loc in client.get("/api/v1/locations", headers=operator).json["items"]}
    assert ids == {hall_a.id, counter_a.id}
    assert client.get(f"/api/v1/locations/{counter_a.id}", headers=operator).status_code == 200
    for other in (hall_b, counter_b, make.centre()):
        response = client.get(f"/api/v1/locations/{other.id}", headers=operator)
        assert response.status_code == 404 and response.json["error"]["code"] == "not_found"
    # an operator of a counter alone sees that counter only
    only_counter = make.headers(make.operator(counter_b))
    ids = {loc["id"] for loc in client.get("/api/v1/locations", headers=only_counter).json["items"]}
    assert ids == {counter_b.id}
    # buyers are not operators at all
    buyer = make.headers(make.user())
    assert client.get("/api/v1/locations", headers=buyer).status_code == 403
    assert client.get(f"/api/v1/locations/{hall_a.id}", headers=buyer).status_code == 403
    assert clock.now()  # clock untouched


def test_admin_grants_hall_operator_with_a_location_scope(client, make):
    admin = make.headers(make.user(Role.ADMIN))
    hall = make.hall()
    user = make.user()
    granted = client.post(
        f"/api/v1/admin/users/{user.id}/roles", json={"role": "hall_operator", "scope_id": hall.id}, headers=admin
    )
    assert granted.status_code == 201
    assert granted.json["scope_kind"] == "location" and granted.json["scope_id"] == hall.id
    unknown = client.post(
        f"/api/v1/admin/users/{user.id}/roles", json={"role": "hall_operator", "scope_id": 999999}, headers=admin
    )
    assert unknown.status_code == 422
    assert client.get(f"/api/v1/locations/{hall.id}", headers=make.headers(user)).status_code == 200


def test_ids_beyond_32_bits_are_bad_input_or_unknown_never_a_server_error(client, make):
    admin = make.headers(make.user(Role.ADMIN))
    hall = make.hall()
    big = 10**12
    for method, url, body, status in (
        ("GET", f"/api/v1/locations/{big}", None, 404),
        ("GET", f"/api/v1/transfers/{big}", None, 404),
        ("GET", f"/api/v1/products/{big}/availability", None, 404),
        ("GET", f"/api/v1/locations?district_id={big}", None, 422),
        ("GET", f"/api/v1/inventory/low-stock?location_id={big}", None, 422),
        ("POST", f"/api/v1/locations/{hall.id}/sales", {"lines": [{"sku_id": big, "quantity": 1}]}, 422),
        ("PUT", f"/api/v1/locations/{hall.id}/thresholds/{big}", {"low_stock_threshold": 1}, 404),
        (
            "POST",
            "/api/v1/transfers",
            {"from_location_id": hall.id, "to_location_id": big, "lines": [{"sku_id": 1, "quantity": 1}]},
            422,
        ),
    ):
        response = client.open(url, method=method, json=body, headers=admin)
        assert response.status_code == status, (url, response.json)
