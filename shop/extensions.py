"""Rate limits on what can be guessed or flooded, counted by the `limits` library.

Counts live in RATELIMIT_STORAGE_URI: memory:// counts per process; redis://... is shared by every
worker and instance that points at the same Redis. One request hook (after the credentials check,
before any input is read) counts every request to a limited operation, valid or not, so a guess costs
the same whatever it looks like."""

from __future__ import annotations

import time
from collections.abc import Callable

from flask import Flask, Response, current_app, g, request
from limits import parse, storage, strategies

from shop.web import documented_errors, error_response


def init_app(app: Flask) -> None:
    counts = storage.storage_from_string(app.config["RATELIMIT_STORAGE_URI"])
    app.extensions["rate_limits"] = strategies.FixedWindowRateLimiter(counts)

    @app.after_request
    def _rate_limit_headers(response: Response) -> Response:
        # a limited operation says its limit, what is left and in how many seconds the window resets
        for name, value in g.get("rate_limit_headers", {}).items():
            response.headers.setdefault(name, value)
        return response


def rate_limited(setting: str) -> Callable:
    """Limit an operation per client address to the rate in the setting `setting` (e.g. "10 per
    minute"); beyond it 429 `rate_limited` with Retry-After, declared in OpenAPI. Put it right under
    the route, so the routed view carries the mark that `check_rate_limit` reads."""

    def decorate(view):
        view.rate_limit_setting = setting
        return documented_errors(429)(view)

    return decorate


def check_rate_limit():
    view = current_app.view_functions.get(request.endpoint) if request.endpoint else None
    setting = getattr(view, "rate_limit_setting", None)
    if setting is None or request.method == "OPTIONS":  # a CORS preflight is not a try
        return None
    limiter: strategies.RateLimiter = current_app.extensions["rate_limits"]
    limit = parse(current_app.config[setting])
    keys = (current_app.config["RATELIMIT_KEY_PREFIX"], request.endpoint, request.remote_addr or "-")
    allowed = limiter.hit(limit, *keys)
    reset_at, remaining = limiter.get_window_stats(limit, *keys)
    retry_after = max(1, int(reset_at - time.time() + 0.999))
    g.rate_limit_headers = {
        "RateLimit-Limit": str(limit.amount),
        "RateLimit-Remaining": str(max(0, remaining)),
        "RateLimit-Reset": str(retry_after),
    }
    if allowed:
        return None
    return error_response(
        429, "rate_limited", "Too many requests; try again later.", headers={"Retry-After": str(retry_after)}
    )
