from __future__ import annotations

from flask import current_app
from flask_jwt_extended import create_access_token, create_refresh_token, decode_token, get_jwt
from flask_smorest import Blueprint

from shop import clock
from shop.auth import service
from shop.auth.guard import current_actor, login_required
from shop.auth.models import Role
from shop.auth.schemas import (
    GrantArgs,
    GrantSchema,
    LogoutArgs,
    RegisterArgs,
    TokenArgs,
    TokenSchema,
    UserPageSchema,
    UserQueryArgs,
    UserSchema,
)
from shop.errors import Forbidden, InvalidInput
from shop.extensions import limiter
from shop.request_session import get_session
from shop.web import PageArgs, documented_errors, page_body

blp = Blueprint("auth", __name__, url_prefix="/api/v1", description="Accounts, tokens and roles")


def _tokens(user_id: int, *, with_refresh: bool) -> dict:
    identity = str(user_id)
    body = {
        "access_token": create_access_token(identity=identity),
        "token_type": "Bearer",
        "expires_in": int(current_app.config["JWT_ACCESS_TOKEN_EXPIRES"].total_seconds()),
    }
    if with_refresh:
        body["refresh_token"] = create_refresh_token(identity=identity)
    return body


@blp.route("/auth/register", methods=["POST"])
@blp.arguments(RegisterArgs)
@blp.response(201, UserSchema)
@documented_errors(409)
def register(args):
    """Create a buyer account (log in with the e-mail address or mobile number)."""
    return service.register_user(get_session(), **args)


@blp.route("/auth/token", methods=["POST"])
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], methods=["POST"])
@blp.arguments(TokenArgs)
@blp.response(200, TokenSchema)
@documented_errors(401, 429)
def token(args):
    """Log in: exchange a login and password for an access and a refresh token."""
    user = service.authenticate(get_session(), **args)
    return _tokens(user.id, with_refresh=True)


@blp.route("/auth/refresh", methods=["POST"])
@blp.response(200, TokenSchema)
@login_required(refresh=True)
def refresh():
    """Get a new access token with a refresh token (sent as the bearer token)."""
    return _tokens(current_actor().user_id, with_refresh=False)


@blp.route("/auth/logout", methods=["POST"])
@blp.arguments(LogoutArgs)
@blp.response(204)
@documented_errors(403, 422)
@login_required
def logout(args):
    """Revoke the access token of this request, and the refresh token if given."""
    session = get_session()
    claims = get_jwt()
    service.revoke_token(session, jti=claims["jti"], expires_at=clock.datetime_from_timestamp(claims["exp"]))
    if args["refresh_token"]:
        try:
            refresh_claims = decode_token(args["refresh_token"])
        except Exception as exc:  # any decoding failure means the token is not ours
            raise InvalidInput("The refresh token is not valid.", fields={"refresh_token": ["Not valid."]}) from exc
        if refresh_claims.get("sub") != claims["sub"]:
            raise Forbidden("That refresh token belongs to someone else.")
        service.revoke_token(
            session, jti=refresh_claims["jti"], expires_at=clock.datetime_from_timestamp(refresh_claims["exp"])
        )


@blp.route("/auth/me", methods=["GET"])
@blp.response(200, UserSchema)
@login_required
def me():
    """The logged-in user with their roles."""
    return service.get_user(get_session(), current_actor().user_id)


@blp.route("/admin/users", methods=["GET"])
@blp.arguments(UserQueryArgs, location="query")
@blp.arguments(PageArgs, location="query")
@blp.response(200, UserPageSchema)
@documented_errors(403)
@login_required
def list_users(query, paging):
    """Admins: find users by e-mail, phone or name."""
    current_actor().require(Role.ADMIN)
    return page_body(service.list_users(get_session(), query=query["q"], **paging), paging)


@blp.route("/admin/users/<int:user_id>/roles", methods=["POST"])
@blp.arguments(GrantArgs)
@blp.response(201, GrantSchema)
@documented_errors(403, 404)
@login_required
def grant_role(args, user_id):
    """Admins: grant a role, with its scope (supplier, district, location or organisation id)."""
    return service.grant_role(get_session(), current_actor(), user_id=user_id, **args)


@blp.route("/admin/users/<int:user_id>/roles/<int:grant_id>", methods=["DELETE"])
@blp.response(204)
@documented_errors(403, 404, 409)
@login_required
def revoke_role(user_id, grant_id):
    """Admins: revoke a role grant."""
    service.revoke_grant(get_session(), current_actor(), user_id=user_id, grant_id=grant_id)
