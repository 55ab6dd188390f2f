"""Accounts, log-in and role grants."""

from __future__ import annotations

import importlib
import re
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from shop import clock
from shop.auth import passwords
from shop.auth.actor import Actor
from shop.auth.errors import BadCredentials, LoginTaken, SelfGrant, SelfRevoke
from shop.auth.models import ROLE_SCOPE, RevokedToken, RevokedTokenFamily, Role, RoleGrant, ScopeKind, User
from shop.errors import Forbidden, InvalidInput, NotFound, Unauthenticated
from shop.paging import paginate

PHONE_RE = re.compile(r"^1[3-9]\d{9}$")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

# Where each scope kind's ids live; a slice that adds a scoped kind adds its model here.
SCOPE_MODELS = {
    ScopeKind.SUPPLIER: "shop.suppliers.models:Supplier",
    ScopeKind.DISTRICT: "shop.reference.models:District",
    ScopeKind.LOCATION: "shop.inventory.models:Location",
    ScopeKind.ORGANISATION: "shop.procurement.models:Organisation",
}


def normalise_login(login: str) -> tuple[str, str]:
    """Return ("email" | "phone", normalised value) or raise InvalidInput."""
    login = login.strip()
    if EMAIL_RE.match(login):
        return "email", login.lower()
    digits = re.sub(r"[\s-]", "", login)
    if digits.startswith("+86"):
        digits = digits[3:]
    if PHONE_RE.match(digits):
        return "phone", digits
    raise InvalidInput(
        "Log in with an e-mail address or a mainland mobile number.",
        fields={"login": ["Not an e-mail address or mobile number."]},
    )


def register_user(session: Session, *, login: str, password: str, display_name: str) -> User:
    kind, value = normalise_login(login)
    if session.scalar(sa.select(User.id).where(getattr(User, kind) == value)) is not None:
        raise LoginTaken("An account with this login exists already.")
    user = User(display_name=display_name, password_hash=passwords.hash_password(password), **{kind: value})
    user.grants.append(RoleGrant(role=Role.BUYER, scope_id=0))
    session.add(user)
    session.flush()
    return user


def authenticate(session: Session, *, login: str, password: str) -> User:
    try:
        kind, value = normalise_login(login)
    except InvalidInput:
        kind, value = "email", login
    user = session.scalar(sa.select(User).where(getattr(User, kind) == value))
    ok = passwords.verify_password(user.password_hash if user else None, password)
    if not ok or user is None or not user.is_active:
        raise BadCredentials("Login or password is wrong.")
    return user


def load_actor(session: Session, user_id: int) -> Actor:
    rows = session.execute(
        sa.select(RoleGrant.role, RoleGrant.scope_id)
        .join(User, User.id == RoleGrant.user_id)
        .where(RoleGrant.user_id == user_id, User.is_active)
    ).all()
    if not rows and session.get(User, user_id) is None:
        raise Unauthenticated("The account no longer exists.")
    return Actor(user_id=user_id, grants=frozenset((role, scope) for role, scope in rows))


def _token_check(with_family: bool) -> sa.Select:
    users, grants = User.__table__, RoleGrant.__table__
    revoked = sa.exists().where(RevokedToken.__table__.c.jti == sa.bindparam("jti"))
    if with_family:
        family = RevokedTokenFamily.__table__.c.family == sa.bindparam("family")
        revoked = sa.or_(revoked, sa.exists().where(family))
    return (
        sa.select(revoked.label("revoked"), grants.c.role, grants.c.scope_id)
        .select_from(users)
        .outerjoin(grants, sa.and_(grants.c.user_id == users.c.id, users.c.is_active))
        .where(users.c.id == sa.bindparam("user_id"))
    )


# Built once: every request runs one (building the statement cost more than running it); of the
# tables' columns, so SQLAlchemy runs it as a Core statement, with less Python than an ORM one.
_TOKEN_CHECK = {with_family: _token_check(with_family) for with_family in (False, True)}


def check_token(session: Session, user_id: int, jti: str, family: str | None) -> tuple[bool, Actor | None]:
    """A request's whole authentication in one statement: is the token (or its log-in family) revoked,
    and who acts (None: the account no longer exists). Read at every request, so a revocation, a grant
    taken away or a deactivated account counts from the very next one."""
    params = {"jti": jti, "user_id": user_id}
    if family is not None:
        params["family"] = family
    rows = session.execute(_TOKEN_CHECK[family is not None], params).all()
    if not rows:
        return is_token_revoked(session, jti, family), None
    grants = frozenset((role, scope) for _, role, scope in rows if role is not None)
    return bool(rows[0].revoked), Actor(user_id=user_id, grants=grants)


def get_user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("No such user.")
    return user


def find_user_by_login(session: Session, login: str) -> User:
    kind, value = normalise_login(login)
    user = session.scalar(sa.select(User).where(getattr(User, kind) == value))
    if user is None:
        raise NotFound("No account with this login.", login=login)
    return user


def list_users(session: Session, *, query: str | None, page: int, size: int) -> tuple[list[User], int]:
    stmt = sa.select(User)
    if query:
        like = f"%{query.lower()}%"
        stmt = stmt.where(
            sa.or_(
                sa.func.lower(User.email).like(like), User.phone.like(like), sa.func.lower(User.display_name).like(like)
            )
        )
    return paginate(session, stmt, order_by=User.id, page=page, size=size)


def _scope_exists(session: Session, kind: ScopeKind, scope_id: int) -> bool:
    target = SCOPE_MODELS.get(kind)
    if target is None:
        raise InvalidInput(
            f"Roles scoped to a {kind.value} cannot be granted yet.", fields={"role": ["Not available."]}
        )
    module, _, name = target.partition(":")
    model = getattr(importlib.import_module(module), name)
    return session.get(model, scope_id) is not None


def grant_role(session: Session, actor: Actor, *, user_id: int, role: Role, scope_id: int | None) -> RoleGrant:
    actor.require(Role.ADMIN)
    if user_id == actor.user_id:
        raise SelfGrant()
    user = get_user(session, user_id)
    kind = ROLE_SCOPE[role]
    if kind is None:
        if scope_id:
            raise InvalidInput(f"The role {role.value} has no scope.", fields={"scope_id": ["Must be empty."]})
        scope_id = 0
    elif scope_id is None:
        raise InvalidInput(f"The role {role.value} needs a {kind.value} scope.", fields={"scope_id": ["Required."]})
    elif not _scope_exists(session, kind, scope_id):
        raise InvalidInput(f"No {kind.value} with id {scope_id}.", fields={"scope_id": ["Unknown."]})
    return add_grant(session, user, role, scope_id, granted_by_id=actor.user_id)


def add_grant(session: Session, user: User, role: Role, scope_id: int, *, granted_by_id: int | None) -> RoleGrant:
    """Give `user` a role; granting one they hold already returns the existing grant."""
    existing = session.scalar(
        sa.select(RoleGrant).where(RoleGrant.user_id == user.id, RoleGrant.role == role, RoleGrant.scope_id == scope_id)
    )
    if existing is not None:
        return existing
    grant = RoleGrant(role=role, scope_id=scope_id, granted_by_id=granted_by_id)
    user.grants.append(grant)
    session.flush()
    return grant


def revoke_grant(session: Session, actor: Actor, *, user_id: int, grant_id: int) -> None:
    actor.require(Role.ADMIN)
    grant = session.get(RoleGrant, grant_id)
    if grant is None or grant.user_id != user_id:
        raise NotFound("No such role grant.")
    if grant.role == Role.ADMIN and grant.user_id == actor.user_id:
        raise SelfRevoke("Admins cannot revoke their own admin role.")
    session.delete(grant)
    session.flush()


def log_out(
    session: Session, *, access: dict, refresh: dict | None, family_claim: str, family_expires_at: datetime
) -> None:
    """End the log-in session of the access token (`access`: its verified claims): it, its family
    (`family_claim` names the family in the claims) and, if given, a refresh token, which must be the
    same user's, with its family."""
    if refresh is not None and refresh.get("sub") != access["sub"]:
        raise Forbidden("That refresh token belongs to someone else.")
    revoke_token(session, jti=access["jti"], expires_at=clock.datetime_from_timestamp(access["exp"]))
    if access.get(family_claim):
        revoke_token_family(session, family=access[family_claim], expires_at=family_expires_at)
    if refresh is not None:
        revoke_token(session, jti=refresh["jti"], expires_at=clock.datetime_from_timestamp(refresh["exp"]))
        revoke_token_family(session, family=refresh.get(family_claim) or refresh["jti"], expires_at=family_expires_at)


def revoke_token(session: Session, *, jti: str, expires_at: datetime) -> None:
    if session.get(RevokedToken, jti) is None:
        session.add(RevokedToken(jti=jti, expires_at=expires_at))
        session.flush()


def revoke_token_family(session: Session, *, family: str, expires_at: datetime) -> None:
    """End a log-in session: the refresh token and every access token issued from it."""
    if session.get(RevokedTokenFamily, family) is None:
        session.add(RevokedTokenFamily(family=family, expires_at=expires_at))
        session.flush()


def is_token_revoked(session: Session, jti: str, family: str | None = None) -> bool:
    if session.get(RevokedToken, jti) is not None:
        return True
    return family is not None and session.get(RevokedTokenFamily, family) is not None
