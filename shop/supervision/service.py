"""Supervision use cases: eligible places, sanctions and the supplier's credit record."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from shop.auth.actor import Actor
from shop.auth.models import Role
from shop.certification.errors import AlreadyExpired
from shop.certification.models import Certification, CertStatus
from shop.errors import Forbidden, InvalidInput, NotFound
from shop.paging import paginate
from shop.reference.service import check_origin
from shop.supervision.errors import NotLiftable
from shop.supervision.gates import eligible_clause
from shop.supervision.models import Complaint, EligiblePlace, Outcome, Sanction, SanctionKind, SanctionStatus
from shop.suppliers.models import Supplier


def is_supervisor(actor: Actor) -> bool:
    return actor.is_admin or actor.has(Role.REGULATOR)


def district_scope(actor: Actor) -> set[int] | None:
    """None: every district (regulators, admins); else the districts the actor certifies."""
    return None if is_supervisor(actor) else actor.scopes(Role.CERTIFIER)


# --- 1. eligibility ----------------------------------------------------------------------------


def add_eligible_place(session: Session, actor: Actor, *, data: dict, now: datetime) -> EligiblePlace:
    actor.require(Role.ADMIN)
    check_origin(session, data["district_id"], data.get("township_id"))
    if data.get("village") and data.get("township_id") is None:
        raise InvalidInput(
            "A village is named within its township.", fields={"township_id": ["Required with a village."]}
        )
    until = data.get("eligible_until")
    if until is not None and until <= data["eligible_from"]:
        raise InvalidInput("The period ends before it starts.", fields={"eligible_until": ["Before eligible_from."]})
    place = EligiblePlace(**data, created_by_id=actor.user_id, created_at=now)
    session.add(place)
    session.flush()
    return place


def end_eligible_place(session: Session, actor: Actor, place_id: int, *, eligible_until: datetime) -> EligiblePlace:
    actor.require(Role.ADMIN)
    place = session.get(EligiblePlace, place_id, with_for_update=True)
    if place is None:
        raise NotFound("No such eligible place.")
    if eligible_until <= place.eligible_from:
        raise InvalidInput("The period ends before it starts.", fields={"eligible_until": ["Before eligible_from."]})
    place.eligible_until = eligible_until
    session.flush()
    return place


def list_eligible_places(session: Session, *, district_id: int | None, at: datetime | None, page: int, size: int):
    stmt = sa.select(EligiblePlace)
    if district_id is not None:
        stmt = stmt.where(EligiblePlace.district_id == district_id)
    if at is not None:
        stmt = stmt.where(
            EligiblePlace.eligible_from <= at,
            sa.or_(EligiblePlace.eligible_until.is_(None), EligiblePlace.eligible_until > at),
        )
    return paginate(session, stmt, order_by=EligiblePlace.id, page=page, size=size)


# Certifications that are, or may become, in force: the ones an ineligible origin matters for.
_STANDING = (CertStatus.PENDING, CertStatus.APPROVED, CertStatus.PUBLISHED, CertStatus.OBJECTED, CertStatus.SUSPENDED)


def ineligible_certifications(session: Session, actor: Actor, *, now: datetime, page: int, size: int):
    """Standing certifications (not expired) whose origin is not eligible at `now`."""
    if not (is_supervisor(actor) or actor.has(Role.CERTIFIER)):
        raise Forbidden("Only certifiers and regulators see this report.")
    C = Certification
    stmt = sa.select(C).where(
        C.status.in_(_STANDING),
        sa.or_(C.valid_until.is_(None), C.valid_until > now),
        ~eligible_clause(C.district_id, C.township_id, C.production_base, now),
    )
    districts = district_scope(actor)
    if districts is not None:
        stmt = stmt.where(C.district_id.in_(districts))
    return paginate(session, stmt, order_by=C.id, page=page, size=size)


# --- 5. sanctions and credit -------------------------------------------------------------------


def _can_sanction(actor: Actor, district_id: int, kind: SanctionKind) -> bool:
    if is_supervisor(actor):
        return True
    return kind != SanctionKind.BLACKLIST and actor.has(Role.CERTIFIER, district_id)


def impose_sanction(
    session: Session,
    actor: Actor,
    *,
    supplier_id: int,
    kind: SanctionKind,
    reason: str,
    now: datetime,
    certification_id: int | None = None,
    until: datetime | None = None,
    **links,
) -> Sanction:
    """Warn, suspend or revoke a certification, or blacklist a supplier until a date. Regulators any;
    the certifier of the certification's district (of the supplier's without one) all but a blacklist."""
    supplier = session.get(Supplier, supplier_id)
    if supplier is None:
        raise NotFound("No such supplier.")
    cert = None
    if kind in (SanctionKind.SUSPENSION, SanctionKind.REVOCATION) and certification_id is None:
        raise InvalidInput("Name the certification.", fields={"certification_id": ["Required for this kind."]})
    if certification_id is not None:
        cert = session.scalar(sa.select(Certification).where(Certification.id == certification_id).with_for_update())
        if cert is None or cert.supplier_id != supplier_id:
            raise NotFound("No such certification of this supplier.")
    district_id = cert.district_id if cert else supplier.district_id
    if not _can_sanction(actor, district_id, kind):
        raise Forbidden("Not yours to sanction.", district_id=district_id)
    if kind == SanctionKind.BLACKLIST:
        if until is None or until <= now:
            raise InvalidInput("A blacklist lasts until a later date.", fields={"until": ["Required, in the future."]})
    else:
        until = None
    if kind == SanctionKind.SUSPENSION:
        cert.transition(CertStatus.SUSPENDED, actor_id=actor.user_id, at=now, reason=reason)
    elif kind == SanctionKind.REVOCATION:
        if cert.effective_status(now) == "expired":
            raise AlreadyExpired("This certification has expired already.")
        cert.transition(CertStatus.REVOKED, actor_id=actor.user_id, at=now, reason=reason)
        cert.decision_reason = reason
    sanction = Sanction(
        supplier_id=supplier_id,
        kind=kind,
        certification_id=certification_id,
        district_id=district_id,
        reason=reason,
        until=until,
        imposed_by_id=actor.user_id,
        imposed_at=now,
        **links,
    )
    session.add(sanction)
    sanction.events.append(
        Sanction.event_class()(to_status=SanctionStatus.IN_EFFECT.value, actor_id=actor.user_id, at=now, reason=reason)
    )
    session.flush()
    return sanction


def _visible_sanctions(actor: Actor) -> sa.ColumnElement[bool] | None:
    if is_supervisor(actor):
        return None
    return sa.or_(
        Sanction.district_id.in_(actor.scopes(Role.CERTIFIER)),
        Sanction.supplier_id.in_(actor.scopes(Role.SUPPLIER_MEMBER)),
    )


def get_sanction(session: Session, actor: Actor, sanction_id: int, *, for_update: bool = False) -> Sanction:
    stmt = sa.select(Sanction).where(Sanction.id == sanction_id)
    scope = _visible_sanctions(actor)
    if scope is not None:
        stmt = stmt.where(scope)
    if for_update:
        stmt = stmt.with_for_update()
    sanction = session.scalar(stmt)
    if sanction is None:
        raise NotFound("No such sanction.")
    return sanction


def lift_sanction(session: Session, actor: Actor, sanction_id: int, *, reason: str, now: datetime) -> Sanction:
    """End a suspension (the certification is in force again at once) or a blacklist early."""
    sanction = get_sanction(session, actor, sanction_id, for_update=True)
    if not _can_sanction(actor, sanction.district_id, sanction.kind):
        raise Forbidden("Not yours to lift.")
    if sanction.kind not in (SanctionKind.SUSPENSION, SanctionKind.BLACKLIST):
        raise NotLiftable("Only a suspension or a blacklist can be lifted.", kind=sanction.kind.value)
    sanction.transition(SanctionStatus.LIFTED, actor_id=actor.user_id, at=now, reason=reason)
    if sanction.kind == SanctionKind.SUSPENSION:
        cert = session.scalar(
            sa.select(Certification).where(Certification.id == sanction.certification_id).with_for_update()
        )
        if cert.status == CertStatus.SUSPENDED:
            cert.transition(CertStatus.PUBLISHED, actor_id=actor.user_id, at=now, reason=reason)
    session.flush()
    return sanction


def list_sanctions(session: Session, actor: Actor, *, filters: dict, page: int, size: int):
    stmt = sa.select(Sanction)
    scope = _visible_sanctions(actor)
    if scope is not None:
        stmt = stmt.where(scope)
    for key in ("supplier_id", "kind", "status", "district_id"):
        if filters.get(key) is not None:
            stmt = stmt.where(getattr(Sanction, key) == filters[key])
    return paginate(session, stmt, order_by=Sanction.id.desc(), page=page, size=size)


def supplier_credit(session: Session, actor: Actor, supplier_id: int, *, now: datetime) -> dict:
    """The supplier's record: sanctions by kind, upheld complaints, and a blacklist in effect."""
    supplier = session.get(Supplier, supplier_id)
    if supplier is None:
        raise NotFound("No such supplier.")
    if not (is_supervisor(actor) or actor.has(Role.CERTIFIER) or actor.has(Role.SUPPLIER_MEMBER, supplier_id)):
        raise Forbidden("Only supervisors and the supplier's members see its credit record.")
    counts = dict(
        session.execute(
            sa.select(Sanction.kind, sa.func.count()).where(Sanction.supplier_id == supplier_id).group_by(Sanction.kind)
        ).all()
    )
    blacklisted_until = session.scalar(
        sa.select(sa.func.max(Sanction.until)).where(
            Sanction.supplier_id == supplier_id,
            Sanction.kind == SanctionKind.BLACKLIST,
            Sanction.status == SanctionStatus.IN_EFFECT,
            Sanction.until > now,
        )
    )
    sanctions = session.scalars(
        sa.select(Sanction).where(Sanction.supplier_id == supplier_id).order_by(Sanction.id.desc()).limit(50)
    ).all()
    return {
        "supplier_id": supplier_id,
        "warnings": counts.get(SanctionKind.WARNING, 0),
        "suspensions": counts.get(SanctionKind.SUSPENSION, 0),
        "revocations": counts.get(SanctionKind.REVOCATION, 0),
        "blacklistings": counts.get(SanctionKind.BLACKLIST, 0),
        "upheld_complaints": _upheld_complaints(session, supplier_id),
        "blacklisted_until": blacklisted_until,
        "recent_sanctions": list(sanctions),
    }


def _upheld_complaints(session: Session, supplier_id: int) -> int:
    return session.scalar(
        sa.select(sa.func.count()).where(Complaint.supplier_id == supplier_id, Complaint.outcome == Outcome.UPHELD)
    )
