"""Who is looking at a page: a signed cookie session (the user's id), and the CSRF token every form
carries. The cookie is read here only: the JSON API under /api/v1 takes bearer tokens and never
looks at it (JWT_TOKEN_LOCATION stays "headers")."""

from __future__ import annotations

import functools
import hmac
import secrets
from urllib.parse import urlsplit

from flask import abort, redirect, request, session, url_for

from shop.auth import service as auth_service
from shop.auth.actor import Actor
from shop.errors import Unauthenticated
from shop.request_session import get_session

USER_KEY = "uid"
CSRF_KEY = "csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
ACTOR_KEY = "shop.page_actor"


def log_in(user_id: int) -> None:
    """A new session for the user: a fresh CSRF token, so a token seen before log-in is worth nothing."""
    session.clear()
    session.permanent = True
    session[USER_KEY] = user_id
    session[CSRF_KEY] = secrets.token_urlsafe(32)


def log_out() -> None:
    session.clear()


def page_actor() -> Actor | None:
    """The logged-in user of this page request (None when nobody is, or the account was disabled)."""
    # cached per request (not on `g`: an app context may outlive one request)
    if ACTOR_KEY not in request.environ:
        actor = None
        user_id = session.get(USER_KEY)
        if isinstance(user_id, int):
            try:
                actor = auth_service.load_actor(get_session(), user_id)
            except Unauthenticated:
                session.clear()
            else:
                if not actor.grants:  # a disabled account keeps no grants in load_actor's query
                    session.clear()
                    actor = None
        request.environ[ACTOR_KEY] = actor
    return request.environ[ACTOR_KEY]


def csrf_token() -> str:
    token = session.get(CSRF_KEY)
    if not token:
        token = session[CSRF_KEY] = secrets.token_urlsafe(32)
    return token


def check_csrf() -> None:
    """Every state-changing page request carries the session's token (form field or header)."""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    expected = session.get(CSRF_KEY)
    given = request.form.get(CSRF_FIELD) or request.headers.get(CSRF_HEADER) or ""
    if not expected or not hmac.compare_digest(str(expected), given):
        abort(400, description="csrf")


def safe_next(target: str | None, default: str) -> str:
    """Only a path of this site: never redirect a log-in to somewhere else."""
    if not target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target


def login_required(view):
    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        if page_actor() is None:
            return redirect(url_for("public_pages.login", next=request.full_path.rstrip("?")))
        return view(*args, **kwargs)

    return wrapper
