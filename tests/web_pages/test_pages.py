"""The pages through the test client: sessions and CSRF, the API untouched by the page cookie, scope,
and odd path input on every page route."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from shop import clock
from shop.auth.models import Role
from shop.inventory.models import Movement, china_today
from tests.factories import FENGJIE, WUSHAN

ODD_SEGMENTS = ["0", "-1", "abc", "99999999999999999999999", "2147483648", "1.5", "%E2%80%8B", "１２", "x" * 300]
PAGE_BLUEPRINTS = ("public_pages", "console", "oversight")


def csrf_of(client, path="/login") -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).text).group(1)


PASSWORD = "secret-pass-1"


def page_login(client, login: str) -> None:
    answer = client.post("/login", data={"login": login, "password": PASSWORD, "csrf_token": csrf_of(client)})
    assert answer.status_code == 303, answer.text


@pytest.fixture
def places(make):
    """Hall A with a counter and its operator, hall B, an admin and a buyer."""
    hall_a, hall_b = make.hall(name="甲专馆 Hall A"), make.hall(name="乙专馆 Hall B")
    make.counter(hall_a, name="甲专柜 Counter A")
    return {
        "a": hall_a,
        "b": hall_b,
        "operator": make.operator(hall_a).email,
        "admin": make.user(Role.ADMIN).email,
        "buyer": make.user().email,
    }


def test_the_page_cookie_never_authenticates_the_api(client, places):
    page_login(client, places["admin"])
    assert client.get("/console").status_code == 200
    answer = client.get("/api/v1/locations")
    assert answer.status_code == 401
    assert answer.json["error"]["code"] == "unauthenticated"
    # and the API takes no CSRF token: a bearer call works as before, with the cookie present
    token = client.post("/api/v1/auth/token", json={"login": places["admin"], "password": PASSWORD})
    assert token.status_code == 200
    headers = {"Authorization": f"Bearer {token.json['access_token']}"}
    assert client.get("/api/v1/locations", headers=headers).status_code == 200


def test_a_form_without_the_sessions_csrf_token_changes_nothing(client, session, places):
    hall_a = places["a"]
    page_login(client, places["operator"])
    before = session.scalar(sa.select(sa.func.count()).select_from(Movement))
    form = {"trace_code": "WS-X", "quantity": "1", "reason": "过期"}
    for token in (None, "forged", csrf_of(client.application.test_client())):
        data = form if token is None else {**form, "csrf_token": token}
        answer = client.post(f"/console/locations/{hall_a.id}/write-offs", data=data)
        assert answer.status_code == 400
        assert "表单校验失败" in answer.text
    assert session.scalar(sa.select(sa.func.count()).select_from(Movement)) == before
    # log-in itself needs the token too (no log-in CSRF)
    fresh = client.application.test_client()
    answer = fresh.post("/login", data={"login": places["operator"], "password": PASSWORD})
    assert answer.status_code == 400


def test_log_in_gives_a_new_token_and_log_out_ends_the_session(client, places):
    before = csrf_of(client)
    page_login(client, places["operator"])
    after = csrf_of(client, "/console")
    assert after != before
    assert client.post("/logout", data={"csrf_token": after}).status_code == 303
    answer = client.get("/console")
    assert answer.status_code == 302 and "/login" in answer.headers["Location"]


def test_a_wrong_password_is_refused_on_the_page(client, places):
    answer = client.post(
        "/login", data={"login": places["operator"], "password": "wrong-password", "csrf_token": csrf_of(client)}
    )
    assert answer.status_code == 401
    assert "登录名或密码错误" in answer.text


def test_log_in_never_redirects_to_another_site(client, places):
    for target in ("https://evil.example/", "//evil.example/x", "/\\evil.example"):
        answer = client.post(
            "/login",
            data={"login": places["operator"], "password": PASSWORD, "csrf_token": csrf_of(client)} | {"next": target},
        )
        assert answer.headers["Location"] == "/console"


def test_an_operator_sees_only_the_locations_of_their_hall(client, places):
    hall_a, hall_b = places["a"], places["b"]
    page_login(client, places["operator"])
    home = client.get("/console").text
    assert hall_a.name in home and hall_b.name not in home
    assert client.get(f"/console/locations/{hall_a.id}").status_code == 200
    assert client.get(f"/console/locations/{hall_b.id}").status_code == 404
    form = {"trace_code": "X", "counted": "0", "reason": "r", "csrf_token": csrf_of(client, "/console")}
    answer = client.post(f"/console/locations/{hall_b.id}/counts", data=form)
    assert answer.status_code == 303
    assert "未找到" in client.get(answer.headers["Location"]).text


def test_a_buyer_is_refused_the_operator_pages(client, places):
    page_login(client, places["buyer"])
    answer = client.get(f"/console/locations/{places['a'].id}")
    assert answer.status_code == 403
    assert "没有执行此操作的权限" in answer.text


def test_pages_load_nothing_from_outside_the_app(client, places):
    page_login(client, places["admin"])
    for path in ("/", "/products", "/halls", "/announcements", "/console", f"/console/locations/{places['a'].id}"):
        answer = client.get(path)
        assert answer.status_code == 200, path
        assert "default-src 'self'" in answer.headers["Content-Security-Policy"]
        assert not re.search(r'(src|href)="(https?:)?//', answer.text), path


def _page_rules(app):
    return [rule for rule in app.url_map.iter_rules() if rule.endpoint.split(".")[0] in PAGE_BLUEPRINTS]


def _paths(rule) -> list[str]:
    if not rule.arguments:
        return [rule.rule]
    paths = []
    for odd in ODD_SEGMENTS:
        path = re.sub(r"<(?:[^:>]+:)?[^>]+>", odd, rule.rule)
        paths.append(path)
    return paths


@pytest.mark.parametrize("who", [None, "admin", "operator"])
def test_every_page_route_answers_odd_path_input_without_a_server_error(app, client, places, who):
    if who:
        page_login(client, places[who])
    token = csrf_of(client)
    rules = _page_rules(app)
    assert len(rules) > 30
    for rule in rules:
        for path in _paths(rule):
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                data = {"csrf_token": token, "reason": "x" * 5, "code": "12345x", "quantity": "1e9"}
                answer = client.open(path, method=method, data=data if method == "POST" else None)
                assert answer.status_code < 500, f"{method} {path}: {answer.status_code}"
    for query in ("page=-1", "page=99999999999", "page=abc", "district_id=abc", "label=nope", "q=" + "字" * 500):
        assert client.get(f"/products?{query}").status_code < 500, query
        assert client.get(f"/announcements?{query}").status_code < 500, query


def test_early_warnings_show_a_certifier_the_risks_of_their_districts_only(app, client, make):
    supplier = make.supplier(FENGJIE)
    sku = make.sku(supplier=supplier)
    member = make.headers(make.user((Role.SUPPLIER_MEMBER, supplier.id)))
    today = china_today(clock.now())
    declared = {  # everything unsold at origin, nothing selling: critical at once
        "expected_quantity": 2000,
        "expected_kg": 1000,
        "unsold_quantity": 1000,
        "unsold_kg": 500,
        "harvest_from": (today - timedelta(days=30)).isoformat(),
        "harvest_until": today.isoformat(),
        "keeps_days": 28,
    }
    answer = client.put(f"/api/v1/monitoring/products/{sku.product.id}/declaration", headers=member, json=declared)
    assert answer.status_code == 200, answer.json

    page_login(client, make.certifier(FENGJIE).email)
    page = client.get("/console/early-warnings").text
    assert sku.product.name in page and "严重" in page

    other = app.test_client()
    page_login(other, make.certifier(WUSHAN).email)
    page = other.get("/console/early-warnings").text
    assert sku.product.name not in page
    assert "辖区内没有预警或严重级别的滞销风险。" in page
