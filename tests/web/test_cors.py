"""Browser front ends: preflights and requests from allowed origins get CORS headers, others none."""

from __future__ import annotations

import pytest

from shop import create_app
from shop.cors import allowed_origins
from shop.sessions import make_sessionmaker
from tests.conftest import TEST_CONFIG

SHOP = "https://shop.example.cn"
LOCAL = "http://localhost:5173"
ORIGINS = f"{SHOP}, ^http://localhost(:[0-9]+)?$"


@pytest.fixture(scope="module")
def cors_app(engine):
    return create_app({**TEST_CONFIG, "ENGINE": engine, "CORS_ORIGINS": ORIGINS, "LOGIN_RATE_LIMIT": "2 per minute"})


@pytest.fixture
def browser(cors_app, connection, make):
    factory = make_sessionmaker(connection)
    factory.configure(join_transaction_mode="create_savepoint")
    cors_app.extensions["shop"]["sessionmaker"] = factory
    return cors_app.test_client()


# (method, path, request headers a browser asks to send, needs a token); one per route family
PUBLIC = [
    ("GET", "/api/v1/products", "accept-language,if-none-match"),
    ("GET", "/api/v1/products/{product}", "if-none-match"),
    ("GET", "/api/v1/districts", "if-none-match"),
    ("GET", "/api/v1/announcements", "if-none-match"),
    ("GET", "/api/v1/promotions", "if-none-match"),
    ("GET", "/api/v1/search?q=x", "if-none-match"),
    ("GET", "/api/v1/products/{product}/availability", "if-none-match"),
]
PRIVATE = [
    ("GET", "/api/v1/auth/me", "authorization"),
    ("POST", "/api/v1/auth/refresh", "authorization"),
    ("GET", "/api/v1/cart", "authorization,accept-language"),
    ("POST", "/api/v1/orders", "authorization,content-type,idempotency-key"),
    ("GET", "/api/v1/addresses", "authorization"),
    ("PATCH", "/api/v1/addresses/1", "authorization,content-type"),
    ("GET", "/api/v1/points", "authorization"),
    ("GET", "/api/v1/procurement/organisations", "authorization"),
    ("GET", "/api/v1/operator/orders", "authorization"),
]


def preflight(client, method, path, headers, origin=SHOP):
    return client.options(
        path,
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": headers,
        },
    )


@pytest.mark.parametrize(("method", "path", "asked"), PUBLIC + PRIVATE)
def test_a_preflight_from_an_allowed_origin_is_answered_and_cached(browser, make, method, path, asked):
    path = path.format(product=make.product().id)
    response = preflight(browser, method, path, asked)
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == SHOP
    assert method in response.headers["Access-Control-Allow-Methods"]
    allowed = {h.strip().lower() for h in response.headers["Access-Control-Allow-Headers"].split(",")}
    assert set(asked.split(",")) <= allowed
    assert response.headers["Access-Control-Max-Age"] == "7200"
    assert "Access-Control-Allow-Credentials" not in response.headers


def test_public_requests_expose_what_a_client_reads(browser, make):
    product = make.product()
    make.certified(product)
    for path in [p.format(product=product.id) for _m, p, _h in PUBLIC]:
        response = browser.get(path, headers={"Origin": LOCAL})
        assert response.status_code == 200, path
        assert response.headers["Access-Control-Allow-Origin"] == LOCAL
        exposed = {h.strip() for h in response.headers["Access-Control-Expose-Headers"].split(",")}
        assert {"ETag", "X-Request-ID", "Retry-After", "RateLimit-Remaining", "Content-Language"} <= exposed
        assert "Origin" in response.headers["Vary"]
        assert response.headers["ETag"] and response.headers["X-Request-ID"]
        again = browser.get(path, headers={"Origin": LOCAL, "If-None-Match": response.headers["ETag"]})
        assert again.status_code == 304 and again.headers["Access-Control-Allow-Origin"] == LOCAL


def test_private_requests_and_their_errors_carry_cors_headers(browser, make):
    headers = {"Origin": SHOP, **make.headers(make.user())}
    for method, path, _asked in PRIVATE:
        if method != "GET":
            continue
        response = browser.get(path, headers=headers)
        assert response.headers["Access-Control-Allow-Origin"] == SHOP, path
        assert response.headers["Cache-Control"] == "no-store", path
    refused = browser.get("/api/v1/cart", headers={"Origin": SHOP})
    assert refused.status_code == 401 and refused.headers["Access-Control-Allow-Origin"] == SHOP


def test_another_origin_gets_no_cors_headers(browser):
    for origin in ("https://evil.example.com", "http://localhost.evil.example.com", "https://shop.example.cn.evil.com"):
        response = preflight(browser, "GET", "/api/v1/cart", "authorization", origin=origin)
        assert "Access-Control-Allow-Origin" not in response.headers, origin
        assert "Access-Control-Allow-Origin" not in browser.get("/api/v1/products", headers={"Origin": origin}).headers


def test_without_configured_origins_none_is_allowed(client):
    response = preflight(client, "GET", "/api/v1/products", "if-none-match")
    assert "Access-Control-Allow-Origin" not in response.headers
    assert "Access-Control-Allow-Origin" not in client.get("/api/v1/products", headers={"Origin": SHOP}).headers


def test_preflights_do_not_count_against_a_rate_limit(browser):
    for _ in range(5):
        assert preflight(browser, "POST", "/api/v1/auth/token", "content-type").status_code == 200
    body = {"login": "nobody@example.cn", "password": "wrong-password"}
    first = browser.post("/api/v1/auth/token", json=body, headers={"Origin": SHOP})
    assert first.status_code == 401
    assert first.headers["RateLimit-Limit"] == "2" and first.headers["RateLimit-Remaining"] == "1"
    assert int(first.headers["RateLimit-Reset"]) > 0


def test_origins_setting():
    origins = allowed_origins("https://a.example.cn/, ^http://localhost(:[0-9]+)?$ ,,")
    assert origins[0] == "https://a.example.cn" and origins[1].match("http://LOCALHOST:3000")
    assert allowed_origins("") == []
