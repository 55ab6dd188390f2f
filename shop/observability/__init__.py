"""Request ids, one JSON log line per request, request metrics and the /metrics endpoint."""

from __future__ import annotations

import contextlib
import hmac
import ipaddress
import logging
import re
import time
import uuid

from flask import Flask, Response, g, request

from shop.observability import context, logs, metrics

log = logging.getLogger("shop.requests")

REQUEST_ID_HEADER = "X-Request-ID"
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
WEBHOOK_ENDPOINTS = {"payments.stripe_webhook": "stripe"}


def new_request_id() -> str:
    return uuid.uuid4().hex


def init_app(app: Flask) -> None:
    logs.capture_context()
    if not app.testing:
        logs.configure(app.config["LOG_FORMAT"], app.config["LOG_LEVEL"])
    networks = [
        ipaddress.ip_network(n.strip(), strict=False)
        for n in app.config["METRICS_ALLOWED_NETWORKS"].split(",")
        if n.strip()
    ]

    @app.before_request
    def _start():
        given = request.headers.get(REQUEST_ID_HEADER, "")
        g.request_id = given if _VALID_REQUEST_ID.match(given) else new_request_id()
        g.request_started = time.perf_counter()
        g.request_context_tokens = (context.request_id.set(g.request_id), context.user_id.set(None))

    @app.after_request
    def _finish(response: Response):
        rid = g.get("request_id")
        if rid is None:  # a response made before our before_request (an earlier hook failed)
            return response
        response.headers[REQUEST_ID_HEADER] = rid
        duration = time.perf_counter() - g.get("request_started", time.perf_counter())
        route = request.url_rule.rule if request.url_rule is not None else "<unmatched>"
        metrics.HTTP_LATENCY.labels(request.method, route, str(response.status_code)).observe(duration)
        actor = g.get("actor")
        user = getattr(actor, "user_id", None)
        gateway = WEBHOOK_ENDPOINTS.get(request.endpoint or "")
        if gateway:
            metrics.WEBHOOK_EVENTS.labels(gateway, _webhook_outcome(response)).inc()
        log.info(
            "request",
            extra={
                "user_id": user,
                "method": request.method,
                "route": route,
                "status": response.status_code,
                "duration_ms": round(duration * 1000, 2),
            },
        )
        return response

    @app.teardown_request
    def _reset(_exc):
        for var, token in zip((context.request_id, context.user_id), g.pop("request_context_tokens", ()), strict=False):
            # set in another context (a streamed response): nothing to undo here
            with contextlib.suppress(ValueError):
                var.reset(token)

    def metrics_view():
        token = app.config["METRICS_TOKEN"]
        bearer = request.headers.get("Authorization", "")
        allowed = bool(token) and hmac.compare_digest(bearer.encode(), f"Bearer {token}".encode())
        if not allowed:
            try:
                remote = ipaddress.ip_address(request.remote_addr or "")
                allowed = any(remote in network for network in networks)
            except ValueError:
                allowed = False
        if not allowed:
            from shop.web import error_response

            return error_response(403, "forbidden", "Metrics are not public.")
        body, content_type = metrics.render(app)
        return Response(body, content_type=content_type)

    app.add_url_rule("/metrics", "metrics", metrics_view, methods=["GET"])


def _webhook_outcome(response: Response) -> str:
    body = response.get_json(silent=True) or {}
    if response.status_code >= 400:
        return (body.get("error") or {}).get("code") or f"http_{response.status_code}"
    if body.get("duplicate"):
        return "duplicate"
    return str(body.get("outcome") or "processed")


def current_request_id() -> str | None:
    return context.request_id.get()
