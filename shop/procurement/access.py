"""Who may see and do what in an organisation.

Members hold role grants scoped to their organisation: purchaser (the role `org_member`), approver
(`org_approver`) and finance (`org_finance`). Admins act everywhere. Anything of an organisation is
invisible to everyone else: they are told it does not exist (404). A member without the role an
action needs is refused (403)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from shop.auth.actor import Actor
from shop.auth.models import Role
from shop.errors import Forbidden, NotFound
from shop.procurement.models import Organisation

PURCHASER, APPROVER, FINANCE = Role.ORG_MEMBER, Role.ORG_APPROVER, Role.ORG_FINANCE
ORG_ROLES = (PURCHASER, APPROVER, FINANCE)
ROLE_NAMES = {PURCHASER: "purchaser", APPROVER: "approver", FINANCE: "finance"}


def member_of(actor: Actor) -> set[int]:
    """The organisations the actor is a member of, in any role."""
    return set().union(*(actor.scopes(role) for role in ORG_ROLES))


def is_member(actor: Actor, organisation_id: int) -> bool:
    return any(actor.has(role, organisation_id) for role in ORG_ROLES)


def visible_clause(actor: Actor, column) -> sa.ColumnElement[bool] | None:
    """SQL condition "the organisation in `column` is one the actor sees"; None for admins."""
    if actor.is_admin:
        return None
    ids = sorted(member_of(actor))
    return column.in_(ids) if ids else sa.false()


def require(actor: Actor, organisation_id: int, *roles: Role) -> None:
    """Refuse with 404 whoever is not a member (nor admin), and with 403 a member lacking `roles`
    (no roles given: any member will do)."""
    if actor.is_admin:
        return
    if not is_member(actor, organisation_id):
        raise NotFound("No such organisation.")
    if roles and not any(actor.has(role, organisation_id) for role in roles):
        raise Forbidden(required_roles=[ROLE_NAMES.get(r, r.value) for r in roles])


def get_organisation(session: Session, actor: Actor, organisation_id: int, *roles: Role) -> Organisation:
    require(actor, organisation_id, *roles)
    organisation = session.get(Organisation, organisation_id)
    if organisation is None:
        raise NotFound("No such organisation.")
    return organisation
