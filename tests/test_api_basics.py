import json
import re

from shop import create_app
from shop.cli import render_openapi
from shop.config import ROOT
from tests.conftest import TEST_CONFIG


def test_health_answers_without_touching_the_database(client):
    response = client.get("/api/v1/health")
    assert response.status_code == 200
    assert response.json == {"status": "ok"}


def test_openapi_document_and_docs_page_are_served(client):
    spec = client.get("/api/openapi.json").json
    assert spec["info"]["title"] == "Assistance products marketplace"
    assert "/api/v1/products" in spec["paths"]
    assert "bearerAuth" in spec["components"]["securitySchemes"]
    docs = client.get("/api/docs")
    assert docs.status_code == 200 and b"swagger" in docs.data.lower()


def test_docs_page_loads_only_local_assets_and_they_are_served(client):
    """Swagger UI comes from a pinned package, so the docs work without internet."""
    page = client.get("/api/docs").get_data(as_text=True)
    assets = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert {"swagger-ui.css", "swagger-ui-bundle.js", "swagger-ui-standalone-preset.js"} <= {
        a.rsplit("/", 1)[-1] for a in assets
    }
    assert "://" not in page  # nothing from another host
    for asset in assets:
        assert asset.startswith("/api/docs/assets/"), asset
        served = client.get(asset)
        assert served.status_code == 200 and len(served.data) > 1000, asset


def test_committed_openapi_matches_the_code(app):
    """openapi.json is committed; regenerate it with `flask openapi write` after an API change."""
    with app.app_context():
        generated = json.loads(render_openapi())
    committed = json.loads((ROOT / "openapi.json").read_text(encoding="utf-8"))
    assert committed == generated


def test_every_operation_declares_its_error_statuses(app):
    with app.app_context():
        spec = json.loads(render_openapi())
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            codes = set(operation["responses"])
            if operation.get("security"):
                assert "401" in codes, (method, path)
            if "{" in path and method != "post":
                assert "404" in codes, (method, path)
            if operation.get("requestBody") or operation.get("parameters"):
                assert "422" in codes, (method, path)


def test_unknown_url_is_404_in_the_error_shape(client):
    response = client.get("/api/v1/no-such-thing")
    assert response.status_code == 404
    assert response.json["error"]["code"] == "not_found"
    assert set(response.json["error"]) == {"code", "message", "details"}


def test_wrong_method_is_405_and_keeps_allow_header(client):
    response = client.delete("/api/v1/health")
    assert response.status_code == 405
    assert response.json["error"]["code"] == "method_not_allowed"
    assert "GET" in response.headers["Allow"]


def test_unexpected_error_is_500_in_the_error_shape(engine):
    app = create_app({**TEST_CONFIG, "ENGINE": engine, "TESTING": False})

    @app.get("/boom")
    def boom():
        raise RuntimeError("secret internals")

    response = app.test_client().get("/boom", headers={"Accept-Language": "en"})
    assert response.status_code == 500
    assert response.json == {
        "error": {"code": "internal_error", "message": "An unexpected error occurred.", "details": {}}
    }


def test_validation_errors_name_each_bad_field(client):
    response = client.post("/api/v1/auth/register", json={"login": "a", "extra": 1})
    assert response.status_code == 422
    fields = response.json["error"]["details"]["fields"]
    assert set(fields) == {"login", "password", "display_name", "extra"}


def test_malformed_json_body_is_a_clear_400(client):
    response = client.post("/api/v1/auth/token", data="{not json", content_type="application/json")
    assert response.status_code == 400
    assert "error" in response.json


def test_page_size_is_capped(client):
    response = client.get("/api/v1/districts?size=101")
    assert response.status_code == 422
    assert "size" in response.json["error"]["details"]["fields"]
    page = client.get("/api/v1/districts?size=5&page=2").json
    assert (page["page"], page["size"], page["total"], len(page["items"])) == (2, 5, 38, 5)


def test_ids_beyond_the_database_integer_are_unknown_or_bad_input_never_500(client):
    huge = 10**12
    for path in (f"/api/v1/products/{huge}", f"/api/v1/suppliers/{huge}", f"/api/v1/districts/{huge}"):
        assert client.get(path).status_code == 404, path
    for query in (f"category_id={huge}", f"district_id={huge}", f"brand_id={huge}", "supplier_id=0"):
        response = client.get(f"/api/v1/products?{query}")
        assert response.status_code == 422, query
