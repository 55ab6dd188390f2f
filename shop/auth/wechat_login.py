"""Log-in from the WeChat mini-program: a wx.login code becomes our account (a buyer is made on the
first log-in), optionally with the mobile number WeChat vouches for (getPhoneNumber's code).

The account is found by the openid of this mini-program, else by the unionid (the same person in
another of the developer's apps), else, when a phone code is given, by the verified mobile number (so
a buyer who registered on the web keeps their account); otherwise a new buyer is made."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shop.auth.actor import Actor
from shop.auth.errors import (
    BadCredentials,
    PhoneTaken,
    WeChatCodeInvalid,
    WeChatFailed,
    WeChatNotConfigured,
    WeChatPhoneCodeInvalid,
    WeChatUnavailable,
)
from shop.auth.models import Role, RoleGrant, User, WeChatIdentity
from shop.auth.service import PHONE_RE
from shop.wechat import WeChatClient, WeChatError

DEFAULT_DISPLAY_NAME = "微信用户"


def _ask(call, *args, retry_after: int, phone: bool = False):
    """Run a WeChat call; its failures become our errors (the secret and the session key stay out)."""
    try:
        return call(*args)
    except WeChatError as error:
        if error.kind == "invalid_code" and phone:
            raise WeChatPhoneCodeInvalid(wechat_errcode=error.errcode) from None
        if error.kind == "invalid_code":
            raise WeChatCodeInvalid(wechat_errcode=error.errcode) from None
        if error.retryable:
            raise WeChatUnavailable(reason=error.kind, retry_after=retry_after) from None
        raise WeChatFailed(wechat_errcode=error.errcode) from None


def _client(client: WeChatClient | None) -> WeChatClient:
    if client is None:
        raise WeChatNotConfigured()
    return client


def _verified_phone(client: WeChatClient, phone_code: str, retry_after: int) -> str:
    phone = _ask(client.phone_number, phone_code, retry_after=retry_after, phone=True)
    if phone.country_code not in ("86", "+86") or not PHONE_RE.match(phone.pure_number):
        raise WeChatPhoneCodeInvalid("Only mainland mobile numbers can be bound.", country_code=phone.country_code)
    return phone.pure_number


def _set_phone(session: Session, user: User, phone: str) -> None:
    if user.phone == phone:
        return
    owner = session.scalar(sa.select(User.id).where(User.phone == phone))
    if owner is not None:
        raise PhoneTaken()
    user.phone = phone


def log_in(
    session: Session,
    client: WeChatClient | None,
    *,
    code: str,
    phone_code: str | None,
    now: datetime,
    retry_after: int,
) -> User:
    client = _client(client)
    found = _ask(client.code_to_session, code, retry_after=retry_after)
    identity = _identity(session, client.app_id, found.openid, found.unionid)
    phone = _verified_phone(client, phone_code, retry_after) if phone_code else None
    if identity is None:
        user = session.scalar(sa.select(User).where(User.phone == phone)) if phone else None
        made = user is None
        if made:
            user = User(display_name=DEFAULT_DISPLAY_NAME, phone=phone, password_hash=None)
            user.grants.append(RoleGrant(role=Role.BUYER, scope_id=0))
            session.add(user)
            session.flush()
        identity = _bind(session, user, client.app_id, found.openid, found.unionid, now)
        if made and identity.user_id != user.id:  # a parallel first log-in made the account
            session.delete(user)
    user = session.get(User, identity.user_id)
    if user is None or not user.is_active:
        raise BadCredentials("This account is closed.")
    if phone:
        _set_phone(session, user, phone)
    if found.unionid and identity.unionid is None:
        identity.unionid = found.unionid
    identity.last_login_at = now
    session.flush()
    return user


def _identity(session: Session, app_id: str, openid: str, unionid: str | None) -> WeChatIdentity | None:
    identity = session.scalar(
        sa.select(WeChatIdentity).where(WeChatIdentity.app_id == app_id, WeChatIdentity.openid == openid)
    )
    if identity is not None or unionid is None:
        return identity
    other = session.scalar(
        sa.select(WeChatIdentity).where(WeChatIdentity.unionid == unionid).order_by(WeChatIdentity.id).limit(1)
    )
    return None if other is None else _bind(session, session.get(User, other.user_id), app_id, openid, unionid, None)


def _bind(
    session: Session, user: User, app_id: str, openid: str, unionid: str | None, now: datetime | None
) -> WeChatIdentity:
    """Bind the openid to the account; if a parallel first log-in bound it first, use theirs."""
    row = WeChatIdentity(user_id=user.id, app_id=app_id, openid=openid, unionid=unionid, last_login_at=now)
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        existing = session.scalar(
            sa.select(WeChatIdentity).where(WeChatIdentity.app_id == app_id, WeChatIdentity.openid == openid)
        )
        if existing is None:  # the account has another openid of this app already
            raise PhoneTaken("This mobile number's account is bound to another WeChat user.") from None
        return existing
    return row


def bind_phone(
    session: Session, client: WeChatClient | None, actor: Actor, *, phone_code: str, retry_after: int
) -> User:
    """A logged-in user binds the mobile number WeChat vouches for."""
    client = _client(client)
    phone = _verified_phone(client, phone_code, retry_after)
    user = session.get(User, actor.user_id)
    if user is None:
        raise BadCredentials("The account no longer exists.")
    _set_phone(session, user, phone)
    session.flush()
    return user
