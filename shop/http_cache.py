"""HTTP caching: public answers carry a strong ETag and `Cache-Control: public`, and a conditional GET
whose `If-None-Match` names the current ETag gets `304 Not Modified` without a body; every other
answer is `Cache-Control: no-store` (private data, errors, writes).

Mark a route with `@public_cache()` right under the route decorator. The ETag is a hash of the body
unless the view names its own with `use_etag(...)` (e.g. from a catalog version). A body that shows
what is in force *now* (the catalog drops a product at its certification's `valid_until`) changes at
that instant, so its ETag does too; the default `max-age` is 0 so clients revalidate every time
(a 304 costs no body), and HTTP_CACHE_MAX_AGE or a route's own `max_age` may allow more.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from apispec import BasePlugin
from flask import Flask, Response, current_app, g, request

PUBLIC = "_shop_public_cache"
NOT_MODIFIED_DOC = (
    "Not Modified: the request's If-None-Match names the answer's current ETag (every 200 of this "
    "operation carries one); no body. Cache-Control: public."
)


def public_cache(max_age: int | None = None) -> Callable:
    """Mark a GET operation whose answer is the same for every caller (no credentials read, no
    per-user data): ETag, `Cache-Control: public`, 304 on a matching If-None-Match, all documented."""

    def decorate(view):
        setattr(view, PUBLIC, {"max_age": max_age})
        return view

    return decorate


class PublicCachePlugin(BasePlugin):
    """An apispec plugin: a public operation declares its 304 answer to If-None-Match. (The header is
    described there, not listed as a parameter: a request header is not input the operation validates.)"""

    def __init__(self, app: Flask):
        self.app = app

    def operation_helper(self, path=None, operations=None, **kwargs):
        rule = kwargs.get("rule")
        if rule is None or not operations or not hasattr(self.app.view_functions[rule.endpoint], PUBLIC):
            return
        operation = operations.get("get")
        if isinstance(operation, dict):
            operation.setdefault("responses", {})["304"] = {"description": NOT_MODIFIED_DOC}


def document(api, app: Flask) -> None:
    """Call before the blueprints are registered."""
    api.spec.plugins = [*api.spec.plugins, PublicCachePlugin(app)]


def use_etag(tag: str) -> None:
    """The view knows its answer's version: this strong ETag instead of a hash of the body."""
    g.shop_etag = tag


def body_etag(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()[:32]


def cache_control(max_age: int) -> str:
    return "public, no-cache" if max_age <= 0 else f"public, max-age={max_age}, must-revalidate"


def init_app(app: Flask) -> None:
    @app.after_request
    def _cache_headers(response: Response) -> Response:
        view = current_app.view_functions.get(request.endpoint) if request.endpoint else None
        mark = getattr(view, PUBLIC, None)
        if mark is None or request.method not in ("GET", "HEAD") or response.status_code != 200:
            if "Cache-Control" not in response.headers:
                response.headers["Cache-Control"] = "no-store"
            return response
        if response.is_streamed:
            response.headers["Cache-Control"] = "no-store"
            return response
        if response.get_etag()[0] is None:
            response.set_etag(g.get("shop_etag") or body_etag(response.get_data()))
        max_age = mark["max_age"] if mark["max_age"] is not None else current_app.config["HTTP_CACHE_MAX_AGE"]
        response.headers["Cache-Control"] = cache_control(max_age)
        return response.make_conditional(request)
