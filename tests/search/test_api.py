"""Bad input gets our error shape, never a 500; both operations are documented."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"sort": "cheapest"}, "sort"),
        ({"price_min_fen": 500, "price_max_fen": 100}, "price_max_fen"),
        ({"price_min_fen": -1}, "price_min_fen"),
        ({"district_id": "fengjie"}, "district_id"),
        ({"label": "tasty"}, "label"),
        ({"size": 101}, "size"),
        ({"page": 200, "size": 100}, "page"),
        ({"category_id": 999999}, "category_id"),
        ({"q": "橙" * 201}, "q"),
        ({"poverty_alleviated": "maybe"}, "poverty_alleviated"),
    ],
)
def test_bad_search_input_is_422_in_the_error_shape(client, query, field):
    response = client.get("/api/v1/search", query_string=query)
    assert response.status_code == 422
    assert response.json["error"]["code"] == "invalid_input"
    assert field in response.json["error"]["details"]["fields"]


@pytest.mark.parametrize("query", [{}, {"q": ""}, {"q": "x" * 51}, {"q": "a", "size": 0}, {"q": "a", "size": 21}])
def test_bad_suggest_input_is_422(client, query):
    response = client.get("/api/v1/search/suggest", query_string=query)
    assert response.status_code == 422
    assert set(response.json["error"]) == {"code", "message", "details"}


@pytest.mark.parametrize("q", ["\"'*:()&|!", "AND OR NOT", "NEAR(a b)", "\\", "％", "橙 *", "' OR 1=1 --"])
def test_query_syntax_of_the_index_is_never_exposed(client, q):
    for path in ("/api/v1/search", "/api/v1/search/suggest"):
        response = client.get(path, query_string={"q": q})
        assert response.status_code == 200, (path, q, response.json)


def test_both_operations_are_in_the_openapi_document(client):
    spec = client.get("/api/openapi.json").json
    search = spec["paths"]["/api/v1/search"]["get"]
    assert {"200", "422"} <= set(search["responses"])
    names = {p["name"] for p in search["parameters"]}
    assert {"q", "district_id", "label", "sort", "page", "size", "price_min_fen", "category_id"} <= names
    assert {"200", "422"} <= set(spec["paths"]["/api/v1/search/suggest"]["get"]["responses"])
