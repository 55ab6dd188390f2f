from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session, joinedload

from shop.auth import service as auth_service
from shop.auth.actor import Actor
from shop.auth.models import Role, RoleGrant, User
from shop.errors import Forbidden, InvalidInput, NotFound
from shop.paging import paginate
from shop.reference.models import District
from shop.suppliers import uscc
from shop.suppliers.errors import UsccTaken
from shop.suppliers.models import Supplier

EDITABLE = ("name", "address", "contact_name", "contact_phone", "contact_email")


def create_supplier(session: Session, actor: Actor, *, data: dict) -> Supplier:
    code = data["uscc"].upper()
    if not uscc.is_valid(code):
        raise InvalidInput(
            "The unified social credit code is not valid.",
            fields={"uscc": ["Not a valid 18-character code (check character)."]},
        )
    if session.get(District, data["district_id"]) is None:
        raise InvalidInput("Unknown district.", fields={"district_id": ["Unknown district."]})
    if session.scalar(sa.select(Supplier.id).where(Supplier.uscc == code)) is not None:
        raise UsccTaken("A supplier with this credit code is registered already.")
    supplier = Supplier(uscc=code, district_id=data["district_id"], **{k: data[k] for k in EDITABLE if k in data})
    session.add(supplier)
    session.flush()
    if not actor.is_admin:
        auth_service.add_grant(
            session, session.get(User, actor.user_id), Role.SUPPLIER_MEMBER, supplier.id, granted_by_id=actor.user_id
        )
    return supplier


def get_supplier(session: Session, supplier_id: int) -> Supplier:
    supplier = session.scalar(
        sa.select(Supplier).options(joinedload(Supplier.district)).where(Supplier.id == supplier_id)
    )
    if supplier is None:
        raise NotFound("No such supplier.")
    return supplier


def list_suppliers(session: Session, *, district_id: int | None, q: str | None, page: int, size: int):
    stmt = sa.select(Supplier).options(joinedload(Supplier.district))
    if district_id is not None:
        stmt = stmt.where(Supplier.district_id == district_id)
    if q:
        stmt = stmt.where(Supplier.name.contains(q))
    return paginate(session, stmt, order_by=Supplier.id, page=page, size=size)


def require_member(actor: Actor, supplier_id: int) -> None:
    """A supplier's own members (and admins) manage it; anyone else is refused."""
    if not (actor.is_admin or actor.has(Role.SUPPLIER_MEMBER, supplier_id)):
        raise Forbidden("Only members of this supplier may do this.")


def update_supplier(session: Session, actor: Actor, supplier_id: int, *, data: dict) -> Supplier:
    supplier = get_supplier(session, supplier_id)
    require_member(actor, supplier_id)
    for key in EDITABLE:
        if key in data:
            setattr(supplier, key, data[key])
    session.flush()
    return supplier


def list_members(session: Session, actor: Actor, supplier_id: int, *, page: int, size: int):
    get_supplier(session, supplier_id)
    require_member(actor, supplier_id)
    stmt = (
        sa.select(User)
        .join(RoleGrant, RoleGrant.user_id == User.id)
        .where(RoleGrant.role == Role.SUPPLIER_MEMBER, RoleGrant.scope_id == supplier_id)
    )
    return paginate(session, stmt, order_by=User.id, page=page, size=size)


def add_member(session: Session, actor: Actor, supplier_id: int, *, login: str) -> User:
    get_supplier(session, supplier_id)
    require_member(actor, supplier_id)
    user = auth_service.find_user_by_login(session, login)
    auth_service.add_grant(session, user, Role.SUPPLIER_MEMBER, supplier_id, granted_by_id=actor.user_id)
    return user


def remove_member(session: Session, actor: Actor, supplier_id: int, user_id: int) -> None:
    get_supplier(session, supplier_id)
    require_member(actor, supplier_id)
    grant = session.scalar(
        sa.select(RoleGrant).where(
            RoleGrant.user_id == user_id, RoleGrant.role == Role.SUPPLIER_MEMBER, RoleGrant.scope_id == supplier_id
        )
    )
    if grant is None:
        raise NotFound("That user is not a member of this supplier.")
    session.delete(grant)
    session.flush()
