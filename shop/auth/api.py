from __future__ import annotations

import uuid

from flask import current_app
from flask_jwt_extended import create_access_token, create_refresh_token, decode_token, get_jwt
from flask_smorest import Blueprint

from shop import clock
from shop.auth import service, wechat_login
from shop.auth.guard import FAMILY_CLAIM, current_actor, login_required
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
    WeChatLoginArgs,
    WeChatPhoneArgs,
)
from shop.errors import InvalidInput
from shop.extensions import rate_limited
from shop.request_session import get_session
from shop.settings import current as current_settings
from shop.web import PageArgs, documented_errors, page_body

blp = Blueprint("auth", __name__, url_prefix="/api/v1", description="Accounts, tokens and roles")


def _tokens(user_id: int, *, family: str, with_refresh: bool) -> dict:
    """An access token, and at log-in a refresh token, all of the log-in's token family."""
    identity, claims = str(user_id), {FAMILY_CLAIM: family}
    body = {
        "access_token": create_access_token(identity=identity, additional_claims=claims),
        "token_type": "Bearer",
        "expires_in": int(current_app.config["JWT_ACCESS_TOKEN_EXPIRES"].total_seconds()),
    }
    if with_refresh:
        body["refresh_token"] = create_refresh_token(identity=identity, additional_claims=claims)
    return body


@blp.route("/auth/register", methods=["POST"])
@rate_limited("REGISTER_RATE_LIMIT")
@blp.arguments(RegisterArgs)
@blp.response(201, UserSchema)
@documented_errors(409)
def register(args):
    """Create a buyer account (log in with the e-mail address or mobile number)."""
    return service.register_user(get_session(), **args)


@blp.route("/auth/token", methods=["POST"])
@rate_limited("LOGIN_RATE_LIMIT")
@blp.arguments(TokenArgs)
@blp.response(200, TokenSchema)
@documented_errors(401, 429)
def token(args):
    """Log in: exchange a login and password for an access and a refresh token."""
    user = service.authenticate(get_session(), **args)
    return _tokens(user.id, family=uuid.uuid4().hex, with_refresh=True)


@blp.route("/auth/wechat/mini-program", methods=["POST"])
@rate_limited("LOGIN_RATE_LIMIT")
@blp.arguments(WeChatLoginArgs)
@blp.response(200, TokenSchema)
@documented_errors(401, 409, 422, 429, 502, 503)
def wechat_mini_program(args):
    """Log in from the WeChat mini-program with wx.login's code (a buyer account is made on the first
    log-in); with getPhoneNumber's code the verified mobile number is bound too. WeChat busy, rate
    limiting or timing out answers 503 with Retry-After."""
    settings = current_settings()
    user = wechat_login.log_in(
        get_session(),
        settings.wechat,
        code=args["code"],
        phone_code=args["phone_code"],
        now=clock.now(),
        retry_after=settings.wechat_retry_after,
    )
    return _tokens(user.id, family=uuid.uuid4().hex, with_refresh=True)


@blp.route("/auth/wechat/phone", methods=["POST"])
@blp.arguments(WeChatPhoneArgs)
@blp.response(200, UserSchema)
@documented_errors(409, 422, 502, 503)
@login_required
def wechat_phone(args):
    """Bind the mobile number WeChat vouches for (getPhoneNumber's code) to the logged-in account."""
    settings = current_settings()
    return wechat_login.bind_phone(
        get_session(),
        settings.wechat,
        current_actor(),
        phone_code=args["phone_code"],
        retry_after=settings.wechat_retry_after,
    )


@blp.route("/auth/refresh", methods=["POST"])
@blp.response(200, TokenSchema)
@login_required(refresh=True)
def refresh():
    """Get a new access token with a refresh token (sent as the bearer token)."""
    # A refresh token issued before token families existed starts a family of its own (its jti).
    claims = get_jwt()
    return _tokens(current_actor().user_id, family=claims.get(FAMILY_CLAIM) or claims["jti"], with_refresh=False)


@blp.route("/auth/logout", methods=["POST"])
@blp.arguments(LogoutArgs)
@blp.response(204)
@documented_errors(403, 422)
@login_required
def logout(args):
    """End the log-in session: this access token, its refresh token and every access token refreshed
    from it answer 401 from now on; the user's other sessions stay. A refresh token given here is
    revoked too, with its session."""
    refresh_claims = None
    if args["refresh_token"]:
        try:
            refresh_claims = decode_token(args["refresh_token"])
        except Exception as exc:  # any decoding failure means the token is not ours
            raise InvalidInput("The refresh token is not valid.", fields={"refresh_token": ["Not valid."]}) from exc
    service.log_out(
        get_session(),
        access=get_jwt(),
        refresh=refresh_claims,
        family_claim=FAMILY_CLAIM,
        # Nothing of a family outlives its refresh token, issued before now.
        family_expires_at=clock.now() + current_app.config["JWT_REFRESH_TOKEN_EXPIRES"],
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
    """Admins: grant a role, with its scope (supplier, district, location or organisation id), to
    somebody else (never to themselves: 403 `self_grant`)."""
    return service.grant_role(get_session(), current_actor(), user_id=user_id, **args)


@blp.route("/admin/users/<int:user_id>/roles/<int:grant_id>", methods=["DELETE"])
@blp.response(204)
@documented_errors(403, 404, 409)
@login_required
def revoke_role(user_id, grant_id):
    """Admins: revoke a role grant."""
    service.revoke_grant(get_session(), current_actor(), user_id=user_id, grant_id=grant_id)
