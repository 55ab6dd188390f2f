"""Server-rendered pages in Chinese: the operator console (/console), the certifier and regulator
pages under it, and the public pages (announcements, directory, product, trace, halls).

The pages call the same services as the JSON API. They use a signed cookie session and a CSRF
token on every form; the JSON API under /api/v1 keeps its bearer tokens and never reads the cookie."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta

from flask import Flask

from shop.inventory.models import CHINA
from shop.web_pages import messages, sessions


def init_app(app: Flask) -> None:
    from shop.web_pages import console, oversight, public

    if not app.secret_key:
        # The cookie's signing key, derived from the JWT secret (never a default) for its own purpose.
        app.secret_key = hmac.new(
            app.config["JWT_SECRET_KEY"].encode(), b"page-session-cookie", hashlib.sha256
        ).hexdigest()
    app.config.setdefault("SESSION_COOKIE_NAME", "shop_page_session")
    app.config.setdefault("SESSION_COOKIE_HTTPONLY", True)
    app.config.setdefault("SESSION_COOKIE_SAMESITE", "Lax")
    app.config.setdefault("SESSION_COOKIE_SECURE", app.config.get("SHOP_ENV") == "production")
    app.config.setdefault("PERMANENT_SESSION_LIFETIME", timedelta(hours=12))

    for blp in (public.blp, console.blp, oversight.blp):
        app.register_blueprint(blp)

    app.jinja_env.filters.update(yuan=_yuan, local_time=_local_time, state=messages.state, percent=_percent)
    app.jinja_env.globals.update(
        csrf_token=sessions.csrf_token,
        csrf_field=sessions.CSRF_FIELD,
        page_actor=sessions.page_actor,
        KINDS=messages.KINDS,
        NOTIFICATION_KINDS=messages.NOTIFICATION_KINDS,
        WEEKDAYS=messages.WEEKDAYS,
        LABELS=messages.LABELS,
        BRAND_TIERS=messages.BRAND_TIERS,
    )


def _yuan(fen) -> str:
    if fen is None:
        return "—"
    sign = "-" if fen < 0 else ""
    fen = abs(int(fen))
    return f"{sign}¥{fen // 100}.{fen % 100:02d}"


def _percent(bp) -> str:
    return "—" if bp is None else f"{bp / 100:.1f}%"


def _local_time(moment, fmt: str = "%Y-%m-%d %H:%M") -> str:
    if moment is None:
        return "—"
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(CHINA).strftime(fmt)
