from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shop.db import Base, enum_column, utcnow_column_default


class Role(enum.StrEnum):
    BUYER = "buyer"
    SUPPLIER_MEMBER = "supplier_member"
    CERTIFIER = "certifier"
    REGULATOR = "regulator"
    ADMIN = "admin"
    HALL_OPERATOR = "hall_operator"
    ORG_MEMBER = "org_member"
    ORG_APPROVER = "org_approver"
    ORG_FINANCE = "org_finance"
    COORDINATOR = "coordinator"  # the municipal assistance office: plans, bulletins, all figures


class ScopeKind(enum.StrEnum):
    SUPPLIER = "supplier"
    DISTRICT = "district"
    LOCATION = "location"
    ORGANISATION = "organisation"


# What a role's scope id points at; None means the role is not scoped.
ROLE_SCOPE: dict[Role, ScopeKind | None] = {
    Role.BUYER: None,
    Role.SUPPLIER_MEMBER: ScopeKind.SUPPLIER,
    Role.CERTIFIER: ScopeKind.DISTRICT,
    Role.REGULATOR: None,
    Role.ADMIN: None,
    Role.HALL_OPERATOR: ScopeKind.LOCATION,
    Role.ORG_MEMBER: ScopeKind.ORGANISATION,
    Role.ORG_APPROVER: ScopeKind.ORGANISATION,
    Role.ORG_FINANCE: ScopeKind.ORGANISATION,
    Role.COORDINATOR: None,
}


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str | None] = mapped_column(sa.String(254), unique=True)
    phone: Mapped[str | None] = mapped_column(sa.String(20), unique=True)
    # None: the account logs in another way only (the WeChat mini-program, see WeChatIdentity)
    password_hash: Mapped[str | None] = mapped_column(sa.String(255))
    display_name: Mapped[str] = mapped_column(sa.String(100))
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow_column_default)

    grants: Mapped[list[RoleGrant]] = relationship(
        back_populates="user",
        cascade="all, delete-orphan",
        order_by="RoleGrant.id",
        foreign_keys="RoleGrant.user_id",
    )


class RoleGrant(Base):
    __tablename__ = "role_grants"
    __table_args__ = (
        # NULL scopes are distinct in a UNIQUE constraint, so unscoped roles store scope 0.
        sa.UniqueConstraint("user_id", "role", "scope_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[Role] = mapped_column(enum_column(Role, "role"))
    scope_id: Mapped[int] = mapped_column(default=0)
    granted_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow_column_default)

    user: Mapped[User] = relationship(back_populates="grants", foreign_keys=[user_id])

    @property
    def scope_kind(self) -> ScopeKind | None:
        return ROLE_SCOPE[self.role]


class RevokedToken(Base):
    __tablename__ = "revoked_tokens"

    jti: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(index=True)


class RevokedTokenFamily(Base):
    """A log-in session ended by logout: every token issued from that log-in carries its family id."""

    __tablename__ = "revoked_token_families"

    family: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(index=True)


class WeChatIdentity(Base):
    """A WeChat user (openid of one mini-program, unionid across the developer's apps) bound to an
    account: the mini-program's log-in finds the account by it."""

    __tablename__ = "wechat_identities"
    __table_args__ = (sa.UniqueConstraint("app_id", "openid"), sa.UniqueConstraint("user_id", "app_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    app_id: Mapped[str] = mapped_column(sa.String(64))
    openid: Mapped[str] = mapped_column(sa.String(128))
    unionid: Mapped[str | None] = mapped_column(sa.String(128), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow_column_default)
    last_login_at: Mapped[datetime | None]
