"""Organisations: registration, verification by an admin, members and their roles, invoice profile."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from shop.auth import service as auth_service
from shop.auth.actor import Actor
from shop.auth.models import Role, RoleGrant, User
from shop.errors import InvalidInput, NotFound
from shop.paging import paginate
from shop.procurement import access
from shop.procurement.access import APPROVER, FINANCE, ORG_ROLES
from shop.procurement.errors import OrganisationExists, OrganisationNotVerified, SelfRemoval, SetByAdmin
from shop.procurement.models import Organisation
from shop.reference.models import District
from shop.suppliers import uscc

EDITABLE = (
    "name",
    "return_unredeemed_vouchers",
    "contact_name",
    "contact_phone",
)
# They bound a union's budget (headcount × per-capita cap): declared at registration, checked when an
# admin verifies the organisation, changed by an admin only. So is the separation of duties.
ADMIN_FIELDS = ("headcount", "per_capita_cap_fen", "separation_of_duties")
INVOICE_FIELDS = (
    "invoice_title",
    "invoice_tax_number",
    "invoice_address",
    "invoice_phone",
    "invoice_bank",
    "invoice_bank_account",
)


def _check_tax_number(value: str | None, field: str) -> None:
    if value is not None and not uscc.is_valid(value):
        raise InvalidInput(
            "Not a valid unified social credit code.", fields={field: ["18 characters with a valid check character."]}
        )


def register_organisation(session: Session, actor: Actor, *, data: dict, now: datetime) -> Organisation:
    """Anyone logged in registers an organisation; it waits for an admin's verification. The person
    who registers it becomes its approver, who then adds the other members."""
    _check_tax_number(data["uscc"], "uscc")
    for field in INVOICE_FIELDS:
        data.setdefault(field, None)
    _check_tax_number(data["invoice_tax_number"], "invoice_tax_number")
    if session.get(District, data["district_id"]) is None:
        raise InvalidInput("Unknown district.", fields={"district_id": ["Unknown."]})
    if session.scalar(sa.select(Organisation.id).where(Organisation.uscc == data["uscc"])) is not None:
        raise OrganisationExists("An organisation with this credit code is registered already.")
    organisation = Organisation(**data, created_by_id=actor.user_id, created_at=now)
    session.add(organisation)
    session.flush()
    auth_service.add_grant(session, session.get(User, actor.user_id), APPROVER, organisation.id, granted_by_id=None)
    return organisation


def verify_organisation(session: Session, actor: Actor, organisation_id: int, *, now: datetime) -> Organisation:
    actor.require(Role.ADMIN)
    organisation = session.get(Organisation, organisation_id)
    if organisation is None:
        raise NotFound("No such organisation.")
    if organisation.verified_at is None:
        organisation.verified_at, organisation.verified_by_id = now, actor.user_id
        session.flush()
    return organisation


def update_admin_settings(session: Session, actor: Actor, organisation_id: int, *, data: dict) -> Organisation:
    """Admins (the union federation's role): the headcount and per-capita cap that bound the union's
    budget, and whether duties are separated (cleared only for an organisation too small for it)."""
    actor.require(Role.ADMIN)
    organisation = session.get(Organisation, organisation_id)
    if organisation is None:
        raise NotFound("No such organisation.")
    for key in ADMIN_FIELDS:
        if key in data:
            setattr(organisation, key, data[key])
    session.flush()
    return organisation


def require_verified(organisation: Organisation) -> None:
    if not organisation.is_verified:
        raise OrganisationNotVerified(organisation_id=organisation.id)


def update_organisation(session: Session, actor: Actor, organisation_id: int, *, data: dict) -> Organisation:
    """The approver edits the organisation; the invoice profile is the approver's or finance's; the
    headcount and per-capita cap are an admin's (update_admin_settings)."""
    invoice = {k: v for k, v in data.items() if k in INVOICE_FIELDS}
    general = {k: v for k, v in data.items() if k in EDITABLE}
    admin_only = sorted(k for k in data if k in ADMIN_FIELDS)
    organisation = access.get_organisation(
        session, actor, organisation_id, *((APPROVER,) if general or admin_only else (APPROVER, FINANCE))
    )
    if admin_only:
        if not actor.is_admin:
            raise SetByAdmin(fields=admin_only)
        general.update({k: data[k] for k in admin_only})
    if "invoice_tax_number" in invoice:
        _check_tax_number(invoice["invoice_tax_number"], "invoice_tax_number")
    for key, value in {**general, **invoice}.items():
        setattr(organisation, key, value)
    session.flush()
    return organisation


def list_organisations(session: Session, actor: Actor, *, page: int, size: int, verified: bool | None = None):
    """Admins see every organisation; others the ones they are members of."""
    stmt = sa.select(Organisation)
    clause = access.visible_clause(actor, Organisation.id)
    if clause is not None:
        stmt = stmt.where(clause)
    if verified is not None:
        stmt = stmt.where(Organisation.verified_at.is_not(None) if verified else Organisation.verified_at.is_(None))
    return paginate(session, stmt, order_by=Organisation.id, page=page, size=size)


# --- members -----------------------------------------------------------------------------------


def list_members(session: Session, actor: Actor, organisation_id: int) -> list[dict]:
    access.get_organisation(session, actor, organisation_id)
    rows = session.execute(
        sa.select(User, RoleGrant.role)
        .join(RoleGrant, RoleGrant.user_id == User.id)
        .where(RoleGrant.scope_id == organisation_id, RoleGrant.role.in_(ORG_ROLES))
        .order_by(User.id, RoleGrant.role)
    ).all()
    members: dict[int, dict] = {}
    for user, role in rows:
        entry = members.setdefault(
            user.id,
            {"user_id": user.id, "display_name": user.display_name, "login": user.email or user.phone, "roles": []},
        )
        entry["roles"].append(access.ROLE_NAMES[role])
    return list(members.values())


def add_member(session: Session, actor: Actor, organisation_id: int, *, login: str, roles: list[str]) -> dict:
    access.get_organisation(session, actor, organisation_id, APPROVER)
    user = auth_service.find_user_by_login(session, login)
    access.require_not_self(session, actor, organisation_id, user.id)
    by_name = {name: role for role, name in access.ROLE_NAMES.items()}
    for name in roles:
        auth_service.add_grant(session, user, by_name[name], organisation_id, granted_by_id=actor.user_id)
    return next(m for m in list_members(session, actor, organisation_id) if m["user_id"] == user.id)


def remove_member(session: Session, actor: Actor, organisation_id: int, user_id: int) -> None:
    access.get_organisation(session, actor, organisation_id, APPROVER)
    if user_id == actor.user_id:
        raise SelfRemoval("Approvers cannot remove themselves.")
    grants = session.scalars(
        sa.select(RoleGrant).where(
            RoleGrant.user_id == user_id, RoleGrant.scope_id == organisation_id, RoleGrant.role.in_(ORG_ROLES)
        )
    ).all()
    if not grants:
        raise NotFound("No such member.")
    for grant in grants:
        session.delete(grant)
    session.flush()
