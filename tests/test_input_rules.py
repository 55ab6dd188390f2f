"""Rules every operation obeys whatever its schema: bounded integers, no control characters in
strings, credentials checked before input, declared-required bodies required."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta, timezone

import pytest

from shop.auth.models import Role
from shop.cli import render_openapi
from shop.web import Timestamp


@pytest.fixture(scope="module")
def spec(app):
    with app.app_context():
        return json.loads(render_openapi())


# flask-smorest registers its own pagination header schema, which no operation of ours uses.
LIBRARY_SCHEMAS = {"PaginationMetadata"}


def _integers(node, where):
    """Every integer schema in `node`, with where it is."""
    if isinstance(node, dict):
        if node.get("type") == "integer" or (isinstance(node.get("type"), list) and "integer" in node["type"]):
            yield where, node
        for key, value in node.items():
            yield from _integers(value, f"{where}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _integers(value, f"{where}/{index}")


def test_every_integer_in_the_spec_is_bounded(spec):
    """Components, parameters and inline bodies: an integer without minimum and maximum could reach
    a column it does not fit."""
    components = {k: v for k, v in spec["components"]["schemas"].items() if k not in LIBRARY_SCHEMAS}
    unbounded = [
        where
        for where, schema in _integers({"schemas": components, "paths": spec["paths"]}, "")
        if "minimum" not in schema or "maximum" not in schema
    ]
    assert unbounded == []


# --- walking every operation -----------------------------------------------------------------

METHODS = ("get", "post", "put", "patch", "delete")
WEBHOOK = "/api/v1/payments/stripe/webhook"  # reads its raw body; its signature is checked first


def operations(spec):
    for path, item in spec["paths"].items():
        shared = item.get("parameters", [])
        for method in METHODS:
            if method in item:
                yield path, method, item[method], shared + item[method].get("parameters", [])


def resolve(spec, schema: dict) -> dict:
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def body_schema(spec, operation) -> dict | None:
    content = operation.get("requestBody", {}).get("content", {})
    return resolve(spec, content["application/json"]["schema"]) if "application/json" in content else None


def url(path: str, values: dict | None = None) -> str:
    return re.sub(r"{(\w+)}", lambda m: str((values or {}).get(m.group(1), 1)), path)


def send(client, method, path, **kwargs):
    return getattr(client, method)(path, **kwargs)


def test_without_credentials_every_protected_operation_answers_401_first(client, spec):
    """Whatever the input (here: none, and a body of the wrong shape), credentials come first."""
    checked = 0
    for path, method, operation, _params in operations(spec):
        if not operation.get("security"):
            continue
        for kwargs in ({}, {"json": {"unexpected": "\u0000", "id": "x"}}, {"headers": {"Authorization": "Bearer x"}}):
            response = send(client, method, url(path), **kwargs)
            assert response.status_code == 401, (method, path, kwargs, response.json)
            assert "WWW-Authenticate" in response.headers
        checked += 1
    assert checked > 120


@pytest.fixture
def callers(make):
    admin = make.headers(make.user(Role.ADMIN))
    counter = make.counter()
    return admin, counter.id, {"X-Counter-Key": make.counter_key(counter)}


def _credentials(path, callers):
    admin, counter_id, counter_key = callers
    if path.startswith("/api/v1/counters/"):
        return counter_key, {"counter_id": counter_id}
    return admin, {}


def test_nul_in_any_string_input_of_every_operation_is_422(client, spec, callers):
    """A NUL in a query string, a path, a header or a JSON body: 422 in our error shape, never a 500."""
    checked = set()
    for path, method, operation, params in operations(spec):
        if path == WEBHOOK:
            continue
        headers, values = _credentials(path, callers)
        attempts = []
        for param in params:
            schema = resolve(spec, param.get("schema", {}))
            is_text = schema.get("type") == "string" or resolve(spec, schema.get("items", {})).get("type") == "string"
            if not is_text:
                continue
            if param["in"] == "query":
                attempts.append((param["name"], {"query_string": {param["name"]: "a\u0000b"}}))
            elif param["in"] == "path":
                attempts.append((param["name"], {"path": {param["name"]: "a%00b"}}))
            elif param["in"] == "header":
                attempts.append((param["name"], {"headers": {param["name"]: "a\u0000b"}}))
        body = body_schema(spec, operation)
        for name, prop in (body or {}).get("properties", {}).items():
            if resolve(spec, prop).get("type") == "string" and not prop.get("readOnly"):
                attempts.append((name, {"json": {name: "a\u0000b"}}))
                break
        for field, kwargs in attempts:
            target = url(path, {**values, **kwargs.pop("path", {})})
            kwargs["headers"] = {**headers, **kwargs.get("headers", {})}
            response = send(client, method, target, **kwargs)
            assert response.status_code in (422, 404), (method, path, field, response.json)
            if response.status_code == 404:  # a string path segment that matched no route
                assert "path" in str(kwargs) or field in (values or {}), (method, path, field)
                continue
            assert response.json["error"]["code"] == "invalid_input", (method, path, field)
            checked.add((method, path))
    assert len(checked) > 60


def test_integers_above_their_maximum_are_422_in_every_query_and_body(client, spec, callers):
    """Every declared integer bound holds at run time: max + 1 is refused by name, never a 500."""
    checked = 0
    for path, method, operation, params in operations(spec):
        if path == WEBHOOK:
            continue
        headers, values = _credentials(path, callers)
        attempts = []
        for param in params:
            schema = resolve(spec, param.get("schema", {}))
            if param["in"] == "query" and schema.get("type") == "integer":
                attempts.append((param["name"], {"query_string": {param["name"]: schema["maximum"] + 1}}))
        body = body_schema(spec, operation)
        for name, prop in (body or {}).get("properties", {}).items():
            prop = resolve(spec, prop)
            if prop.get("type") == "integer" and not prop.get("readOnly"):
                attempts.append((name, {"json": {name: prop["maximum"] + 1}}))
        for field, kwargs in attempts:
            response = send(client, method, url(path, values), headers=headers, **kwargs)
            assert response.status_code == 422, (method, path, field, response.json)
            assert field in response.json["error"]["details"]["fields"], (method, path, field, response.json)
            checked += 1
    assert checked > 100


@pytest.mark.parametrize(
    "query",
    [
        "/api/v1/products?price_min_fen=2147483648",
        "/api/v1/products?price_max_fen=2147483648",
        "/api/v1/search?district_id=2147483648",
        "/api/v1/search?category_id=2147483648",
        "/api/v1/search?price_min_fen=2147483648",
        "/api/v1/search?price_max_fen=2147483648",
        "/api/v1/products?size=101",
    ],
)
def test_out_of_range_public_queries_are_422_without_a_token(client, query):
    response = client.get(query)
    assert response.status_code == 422 and response.json["error"]["code"] == "invalid_input"


def test_a_required_body_that_is_missing_is_422_and_an_optional_one_is_declared_so(client, spec, callers):
    checked = 0
    for path, method, operation, _params in operations(spec):
        body = operation.get("requestBody")
        if not body or path == WEBHOOK or "application/json" not in body["content"]:
            continue
        schema = body_schema(spec, operation)
        assert body.get("required", False) == bool(schema.get("required")), (method, path)
        if not body.get("required"):
            continue
        headers, values = _credentials(path, callers)
        for kwargs in ({}, {"data": "not json", "content_type": "text/plain"}):
            response = send(client, method, url(path, values), headers=headers, **kwargs)
            assert response.status_code == 422, (method, path, response.json)
        checked += 1
    assert checked > 40


def test_checkout_cancel_and_receive_declare_their_bodies_optional(spec):
    """Their fields all have defaults: sending no body means the defaults (the whole cart, no note)."""
    assert spec["paths"]["/api/v1/orders"]["post"]["requestBody"].get("required") is False
    assert spec["paths"]["/api/v1/transfers/{transfer_id}/receive"]["post"]["requestBody"].get("required") is False


def test_declared_limits_of_paging_and_idempotency_keys(client, spec, callers):
    size = next(p for p in spec["paths"]["/api/v1/products"]["get"]["parameters"] if p["name"] == "size")
    assert size["schema"]["maximum"] == 100
    for path, method, _operation, params in operations(spec):
        for param in params:
            if param["name"] == "Idempotency-Key":
                assert param["schema"]["minLength"] == 1 and param["schema"]["maxLength"] == 100, (method, path)
                headers = {**callers[0], "Idempotency-Key": ""}
                response = send(client, method, url(path), headers=headers, json={})
                assert response.status_code == 422, (method, path)
                assert "Idempotency-Key" in response.json["error"]["details"]["fields"]


def test_promotion_tiers_items_are_typed(spec):
    tiers = spec["components"]["schemas"]["PromotionArgs"]["properties"]["tiers"]
    assert resolve(spec, tiers["items"]).get("type") in ("object", "array")
    assert resolve(spec, tiers["items"]).get("items") or resolve(spec, tiers["items"]).get("properties")


def test_every_timestamp_is_rfc3339_utc_to_the_second(client, make):
    field = Timestamp()
    moment = datetime(2026, 3, 1, 8, 0, 0, 123456, tzinfo=timezone(timedelta(hours=8)))
    assert field.serialize("t", {"t": moment}) == "2026-03-01T00:00:00Z"
    assert field.serialize("t", {"t": "2026-03-01T08:00:00.123+08:00"}) == "2026-03-01T00:00:00Z"
    assert field.serialize("t", {"t": datetime(2026, 3, 1, tzinfo=UTC)}) == "2026-03-01T00:00:00Z"
    make.sku()
    product = client.get("/api/v1/products").json["items"][0]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", product["created_at"])
