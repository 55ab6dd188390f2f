"""Cross-origin requests from browser front ends (flask-cors), allowed only from the origins in
CORS_ORIGINS: none unless set (production), local development origins under `make run`.

CORS_ORIGINS is comma-separated; an entry is an exact origin (`https://shop.example.cn`), `*` (any
origin: the API authenticates with bearer tokens, never cookies, so no credentials are shared), or a
regular expression starting with `^`. Preflights are cached by the browser for CORS_MAX_AGE seconds."""

from __future__ import annotations

import re

from flask import Flask
from flask_cors import CORS

# What a browser script may read of an answer besides the simple headers.
EXPOSED_HEADERS = (
    "ETag",
    "X-Request-ID",
    "Retry-After",
    "RateLimit-Limit",
    "RateLimit-Remaining",
    "RateLimit-Reset",
    "Content-Language",
    "Content-Disposition",  # exports (XLSX, CSV) name their file
    "Location",
)
# What it may send: credentials, JSON, its language, retries, conditional GETs, its own request id.
ALLOWED_HEADERS = (
    "Authorization",
    "Content-Type",
    "Accept-Language",
    "Idempotency-Key",
    "If-None-Match",
    "X-Request-ID",
)
METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def allowed_origins(setting: str) -> list[str | re.Pattern]:
    origins: list[str | re.Pattern] = []
    for entry in (part.strip() for part in setting.split(",")):
        if not entry:
            continue
        origins.append(re.compile(entry, re.IGNORECASE) if entry.startswith("^") else entry.rstrip("/"))
    return origins


def init_app(app: Flask) -> None:
    origins = allowed_origins(app.config["CORS_ORIGINS"])
    if not origins:
        return  # no origin is allowed: answers carry no CORS header and browsers refuse them
    CORS(
        app,
        resources={r"/api/*": {"origins": origins}},
        methods=list(METHODS),
        allow_headers=list(ALLOWED_HEADERS),
        expose_headers=list(EXPOSED_HEADERS),
        max_age=app.config["CORS_MAX_AGE"],
        supports_credentials=False,
        always_send=False,
        vary_header=True,
    )
