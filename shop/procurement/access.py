"""Who may see and do what in an organisation.

Members hold role grants scoped to their organisation: purchaser (the role `org_member`), approver
(`org_approver`) and finance (`org_finance`). Admins act everywhere. Anything of an organisation is
invisible to everyone else: they are told it does not exist (404). A member without the role an
action needs is refused (403).

Separation of duties, unless an admin relaxed it for the organisation (`separation_of_duties`):
the one who submitted a bulk order may not approve it (409 `submitter_cannot_approve`), the one who
approved it may not pay it or confirm its payment (409 `approver_cannot_pay`), and nobody grants
roles to themselves (403 `self_grant`). Holding several roles is allowed; doing two of these steps of
one order is not. The figures that bound a union's budget, headcount and per-capita cap, are set by
an admin (403 `set_by_admin` for anyone else)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from shop.auth.actor import Actor
from shop.auth.errors import SelfGrant
from shop.auth.models import Role
from shop.errors import Forbidden, NotFound
from shop.procurement.errors import ApproverCannotPay, SubmitterCannotApprove
from shop.procurement.models import BulkOrder, BulkOrderEvent, BulkOrderStatus, Organisation

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


def _duties_separated(session: Session, organisation_id: int) -> bool:
    organisation = session.get(Organisation, organisation_id)
    return organisation is None or organisation.separation_of_duties


def _actor_of(session: Session, order: BulkOrder, status: BulkOrderStatus) -> int | None:
    """Who last moved the order into `status` (its event log)."""
    return session.scalar(
        sa.select(BulkOrderEvent.actor_id)
        .where(BulkOrderEvent.bulk_order_id == order.id, BulkOrderEvent.to_status == status)
        .order_by(BulkOrderEvent.id.desc())
        .limit(1)
    )


def require_not_submitter(session: Session, actor: Actor, order: BulkOrder) -> None:
    """Before approving: the approver is not who submitted the order."""
    if _duties_separated(session, order.organisation_id) and (
        _actor_of(session, order, BulkOrderStatus.SUBMITTED) == actor.user_id
    ):
        raise SubmitterCannotApprove(bulk_order_id=order.id)


def require_not_approver(session: Session, actor: Actor, order: BulkOrder) -> None:
    """Before paying or confirming a payment: the payer is not who approved the order."""
    if _duties_separated(session, order.organisation_id) and (
        _actor_of(session, order, BulkOrderStatus.APPROVED) == actor.user_id
    ):
        raise ApproverCannotPay(bulk_order_id=order.id)


def require_not_self(session: Session, actor: Actor, organisation_id: int, user_id: int) -> None:
    """Before granting roles: not to oneself."""
    if user_id == actor.user_id and _duties_separated(session, organisation_id):
        raise SelfGrant(organisation_id=organisation_id)
