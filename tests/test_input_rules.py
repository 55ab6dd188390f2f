"""Rules every operation obeys whatever its schema: bounded integers, no control characters in
strings, credentials checked before input, declared-required bodies required."""

from __future__ import annotations

import json

import pytest

from shop.cli import render_openapi


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
