"""Public answers carry an ETag and answer 304 while it is current; private ones are no-store."""

from __future__ import annotations

from datetime import timedelta

from flask_smorest import Blueprint

from shop import clock, create_app
from shop.http_cache import public_cache, use_etag
from tests.conftest import TEST_CONFIG


def test_a_conditional_get_is_304_until_the_catalog_changes(client, make):
    product = make.product(name="巫山脆李")
    make.certified(product)
    first = client.get("/api/v1/products")
    assert first.status_code == 200
    etag = first.headers["ETag"]
    # strong, and named by the catalog version the page was built under (not by hashing the body)
    assert etag.startswith('"') and etag.endswith('"')
    assert first.headers["Cache-Control"] == "public, no-cache"

    again = client.get("/api/v1/products", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.get_data() == b"" and again.headers["ETag"] == etag

    make.certified(make.product(name="奉节脐橙"))
    changed = client.get("/api/v1/products", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
    assert {item["name"] for item in changed.json["items"]} >= {"巫山脆李", "奉节脐橙"}


def test_the_etag_changes_at_the_instant_a_certification_expires(client, make):
    product = make.product(name="城口老腊肉")
    cert = make.certified(product)
    until = cert.valid_until
    with clock.frozen_at(until - timedelta(seconds=1)):
        listed = client.get("/api/v1/products")
        detail = client.get(f"/api/v1/products/{product.id}")
        assert product.id in [item["id"] for item in listed.json["items"]] and detail.status_code == 200
        for url, answer in (("/api/v1/products", listed), (f"/api/v1/products/{product.id}", detail)):
            assert client.get(url, headers={"If-None-Match": answer.headers["ETag"]}).status_code == 304
    with clock.frozen_at(until):
        expired = client.get("/api/v1/products", headers={"If-None-Match": listed.headers["ETag"]})
        assert expired.status_code == 200 and expired.headers["ETag"] != listed.headers["ETag"]
        assert product.id not in [item["id"] for item in expired.json["items"]]
        gone = client.get(f"/api/v1/products/{product.id}", headers={"If-None-Match": detail.headers["ETag"]})
        assert gone.status_code == 404 and gone.headers["Cache-Control"] == "no-store" and "ETag" not in gone.headers


def test_public_families_are_cacheable(client, make):
    make.certified()
    for url in (
        "/api/v1/products",
        "/api/v1/categories",
        "/api/v1/brands",
        "/api/v1/districts",
        "/api/v1/districts/500236",
        "/api/v1/townships",
        "/api/v1/announcements",
        "/api/v1/promotions",
        "/api/v1/rush-sales",
        "/api/v1/search?q=product",
        "/api/v1/search/suggest?q=pro",
    ):
        response = client.get(url)
        assert response.status_code == 200, url
        assert response.headers["Cache-Control"].startswith("public"), url
        assert client.get(url, headers={"If-None-Match": response.headers["ETag"]}).status_code == 304, url
        head = client.head(url, headers={"If-None-Match": response.headers["ETag"]})
        assert head.status_code == 304, url
    assert client.get("/api/v1/districts").headers["Cache-Control"] == "public, max-age=3600, must-revalidate"


def test_private_answers_and_errors_are_not_stored(client, make):
    buyer = make.user()
    mine = client.get("/api/v1/auth/me", headers=make.headers(buyer))
    assert mine.status_code == 200 and mine.headers["Cache-Control"] == "no-store" and "ETag" not in mine.headers
    refused = client.get("/api/v1/orders")
    assert refused.status_code == 401 and refused.headers["Cache-Control"] == "no-store"
    login = client.post("/api/v1/auth/token", json={"login": "nobody@example.cn", "password": "x" * 10})
    assert login.headers["Cache-Control"] == "no-store"


def test_a_stale_or_foreign_etag_gets_the_whole_answer(client):
    response = client.get("/api/v1/districts", headers={"If-None-Match": '"not-the-current-one"'})
    assert response.status_code == 200 and response.json["items"]
    star = client.get("/api/v1/districts", headers={"If-None-Match": "*"})
    assert star.status_code == 304


def test_a_view_may_name_its_own_etag(engine):
    app = create_app({**TEST_CONFIG, "ENGINE": engine})
    blp = Blueprint("versioned", __name__)

    @blp.route("/versioned-test", methods=["GET"])
    @public_cache(max_age=60)
    def versioned():
        use_etag("catalog-v7")
        return {"version": 7}

    app.register_blueprint(blp)
    client = app.test_client()
    response = client.get("/versioned-test")
    assert response.headers["ETag"] == '"catalog-v7"'
    assert response.headers["Cache-Control"] == "public, max-age=60, must-revalidate"
    assert client.get("/versioned-test", headers={"If-None-Match": '"catalog-v7"'}).status_code == 304
