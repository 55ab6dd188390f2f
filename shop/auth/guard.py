"""Bearer JWT for people: token set-up and the decorator that loads the acting user."""

from __future__ import annotations

import functools
from datetime import timedelta

from flask import Flask, g
from flask_jwt_extended import JWTManager, get_jwt, get_jwt_identity, verify_jwt_in_request
from flask_smorest import Blueprint

from shop.auth import service
from shop.auth.actor import Actor
from shop.auth.errors import AuthCode, InvalidToken
from shop.errors import ErrorCode, Unauthenticated
from shop.request_session import get_session
from shop.web import authenticated_already, authenticates, documented_errors, error_response

jwt = JWTManager()

# Every token issued from one log-in (its refresh token and the access tokens refreshed from it) names
# the log-in's family, so logout can end them all at once.
FAMILY_CLAIM = "fam"


def init_app(app: Flask) -> None:
    app.config.setdefault("JWT_ACCESS_TOKEN_EXPIRES", timedelta(minutes=app.config["JWT_ACCESS_TOKEN_EXPIRES_MINUTES"]))
    app.config.setdefault("JWT_REFRESH_TOKEN_EXPIRES", timedelta(days=app.config["JWT_REFRESH_TOKEN_EXPIRES_DAYS"]))
    app.config.setdefault("JWT_ERROR_MESSAGE_KEY", "message")
    jwt.init_app(app)
    app.config.setdefault("API_SPEC_OPTIONS", {}).setdefault("components", {})["securitySchemes"] = {
        "bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
    }

    def unauthorized(message: str, code: str = ErrorCode.UNAUTHENTICATED):
        return error_response(401, code, message, headers={"WWW-Authenticate": "Bearer"})

    jwt.unauthorized_loader(lambda reason: unauthorized("A bearer token is required."))
    jwt.invalid_token_loader(lambda reason: unauthorized("The token is not valid.", AuthCode.INVALID_TOKEN))
    jwt.expired_token_loader(lambda _h, _p: unauthorized("The token has expired.", AuthCode.TOKEN_EXPIRED))
    jwt.revoked_token_loader(lambda _h, _p: unauthorized("The token has been revoked.", AuthCode.TOKEN_REVOKED))
    jwt.needs_fresh_token_loader(lambda _h, _p: unauthorized("A fresh token is required."))
    jwt.user_lookup_error_loader(lambda _h, _p: unauthorized("The account no longer exists."))
    jwt.token_in_blocklist_loader(lambda _h, payload: _check_token(payload))


def _check_token(payload: dict) -> bool:
    """Whether the token is revoked; the same statement loads the actor, kept for _load_actor."""
    try:
        user_id = int(payload["sub"])
    except (KeyError, TypeError, ValueError):
        return service.is_token_revoked(get_session(), payload["jti"], payload.get(FAMILY_CLAIM))
    revoked, actor = service.check_token(get_session(), user_id, payload["jti"], payload.get(FAMILY_CLAIM))
    g.token_actor = (user_id, actor)
    return revoked


def _load_actor() -> Actor:
    user_id = int(get_jwt_identity())
    checked = g.pop("token_actor", None)
    if checked is not None and checked[0] == user_id:
        if checked[1] is None:
            raise Unauthenticated("The account no longer exists.")
        actor = checked[1]
    else:
        actor = service.load_actor(get_session(), user_id)
    g.actor = actor
    return actor


def current_actor() -> Actor:
    actor = g.get("actor")
    if actor is None:
        raise Unauthenticated()
    return actor


def login_required(func=None, *, refresh: bool = False):
    """Require a valid access token (or refresh token) and load the actor into `g.actor`."""

    def authenticate():
        verify_jwt_in_request(refresh=refresh)
        if get_jwt().get("type") != ("refresh" if refresh else "access"):
            raise InvalidToken("Wrong kind of token.")
        _load_actor()

    def decorate(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            if not authenticated_already():
                authenticate()
            return view(*args, **kwargs)

        wrapper = authenticates(authenticate)(wrapper)
        return documented_errors(401)(Blueprint.doc(security=[{"bearerAuth": []}])(wrapper))

    return decorate(func) if func is not None else decorate
