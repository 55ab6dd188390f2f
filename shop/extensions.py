"""Flask extensions created once and bound to the app in create_app()."""

from __future__ import annotations

from collections.abc import Callable

from flask import current_app
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

from shop.web import documented_errors

# Counts live in RATELIMIT_STORAGE_URI: memory:// counts per process; redis://... is shared by every
# worker and instance that points at the same Redis.
limiter = Limiter(key_func=get_remote_address, headers_enabled=True)


def rate_limited(setting: str, *, methods: list[str] | None = None) -> Callable:
    """Limit an operation per client address to the rate in the setting `setting` (e.g. "10 per
    minute"); beyond it 429 `rate_limited` with Retry-After, declared in OpenAPI."""

    def decorate(view):
        limited = limiter.limit(lambda: current_app.config[setting], methods=methods)(view)
        return documented_errors(429)(limited)

    return decorate
