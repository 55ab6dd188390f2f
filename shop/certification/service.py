"""The certification workflow: apply, review, announce, object, come into force, expire, revoke, renew."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session, joinedload, selectinload

from shop.auth.actor import Actor
from shop.auth.models import Role
from shop.catalog.models import Product
from shop.certification.errors import (
    AlreadyExpired,
    CertificationExists,
    NotObjectable,
    NotRenewable,
    ObjectionDecided,
    ObjectionWindowClosed,
    RenewalExists,
)
from shop.certification.models import (
    Announcement,
    Certification,
    CertificationDocument,
    CertificationEvent,
    CertStatus,
    Objection,
    ObjectionStatus,
)
from shop.errors import Forbidden, NotFound
from shop.inventory.models import china_today
from shop.paging import paginate
from shop.supervision.gates import require_eligible, require_not_blacklisted

# Stored states in which a product's certification is still being decided or may be in force.
LIVE = (CertStatus.PENDING, CertStatus.APPROVED, CertStatus.PUBLISHED, CertStatus.OBJECTED, CertStatus.SUSPENDED)


def _can_view(actor: Actor, cert: Certification) -> bool:
    return (
        actor.is_admin
        or actor.has(Role.REGULATOR)
        or actor.has(Role.CERTIFIER, cert.district_id)
        or actor.has(Role.SUPPLIER_MEMBER, cert.supplier_id)
    )


def _require_certifier(actor: Actor, cert: Certification) -> None:
    if not actor.has(Role.CERTIFIER, cert.district_id):
        raise Forbidden(
            "Only a certifier of the product's origin district may decide this.", district_id=cert.district_id
        )


def get_certification(session: Session, actor: Actor, cert_id: int, *, for_update: bool = False) -> Certification:
    stmt = (
        sa.select(Certification)
        .where(Certification.id == cert_id)
        .options(joinedload(Certification.product), selectinload(Certification.documents))
    )
    if for_update:
        stmt = stmt.with_for_update(of=Certification)
    cert = session.scalar(stmt)
    # Someone outside the certification's scope learns nothing, not even that it exists.
    if cert is None or not _can_view(actor, cert):
        raise NotFound("No such certification.")
    return cert


def list_certifications(session: Session, actor: Actor, *, filters: dict, page: int, size: int):
    stmt = sa.select(Certification).options(joinedload(Certification.product), selectinload(Certification.documents))
    if not (actor.is_admin or actor.has(Role.REGULATOR)):
        districts = actor.scopes(Role.CERTIFIER)
        suppliers = actor.scopes(Role.SUPPLIER_MEMBER)
        stmt = stmt.where(sa.or_(Certification.district_id.in_(districts), Certification.supplier_id.in_(suppliers)))
    for key in ("status", "district_id", "product_id", "supplier_id"):
        if filters.get(key) is not None:
            stmt = stmt.where(getattr(Certification, key) == filters[key])
    return paginate(session, stmt, order_by=Certification.id.desc(), page=page, size=size)


def _add_documents(cert: Certification, documents: list[dict]) -> None:
    for doc in documents:
        cert.documents.append(CertificationDocument(title=doc["title"], url=doc["url"], sha256=doc["sha256"].lower()))


def apply_for_certification(session: Session, actor: Actor, *, data: dict, now: datetime) -> Certification:
    product = session.get(Product, data["product_id"])
    if product is None or not (actor.is_admin or actor.has(Role.SUPPLIER_MEMBER, product.supplier_id)):
        raise NotFound("No such product among yours.")
    require_not_blacklisted(session, product.supplier_id, now)
    # Serialise applications for one product so two parallel ones cannot both pass the check below.
    session.execute(sa.select(Product.id).where(Product.id == product.id).with_for_update())
    live = session.scalars(
        sa.select(Certification).where(Certification.product_id == product.id, Certification.status.in_(LIVE))
    ).all()
    if any(c.status != CertStatus.PUBLISHED or c.valid_until > now for c in live):
        raise CertificationExists(
            "This product has a certification under way or in force; apply for a renewal instead.",
        )
    return _new_application(session, actor, product, data, now, renews=None)


def _new_application(
    session: Session, actor: Actor, product: Product, data: dict, now: datetime, renews: Certification | None
) -> Certification:
    cert = Certification(
        product_id=product.id,
        supplier_id=product.supplier_id,
        district_id=product.origin_district_id,
        township_id=product.origin_township_id,
        production_base=data["production_base"],
        expected_yearly_output=data["expected_yearly_output"],
        output_unit=data["output_unit"],
        households_benefiting=data["households_benefiting"],
        renews_id=renews.id if renews else None,
        applied_by_id=actor.user_id,
        status=CertStatus.PENDING,
        created_at=now,
    )
    _add_documents(cert, data.get("documents", []))
    session.add(cert)
    cert.events.append(
        CertificationEvent(from_status=None, to_status=CertStatus.PENDING, actor_id=actor.user_id, at=now)
    )
    session.flush()
    return cert


def renew_certification(session: Session, actor: Actor, cert_id: int, *, data: dict, now: datetime) -> Certification:
    old = get_certification(session, actor, cert_id)
    if not actor.has(Role.SUPPLIER_MEMBER, old.supplier_id) and not actor.is_admin:
        raise Forbidden("Only members of the supplier may renew its certification.")
    if old.effective_status(now) not in ("in_force", "in_objection_window"):
        raise NotRenewable(
            "Only a certification that has not expired can be renewed.",
            status=old.effective_status(now),
        )
    require_not_blacklisted(session, old.supplier_id, now)
    session.execute(sa.select(Product.id).where(Product.id == old.product_id).with_for_update())
    open_renewal = session.scalar(
        sa.select(Certification.id).where(
            Certification.renews_id == old.id,
            Certification.status.in_((CertStatus.PENDING, CertStatus.APPROVED, CertStatus.OBJECTED)),
        )
    )
    if open_renewal is not None:
        raise RenewalExists("A renewal of this certification is under way already.", renewal_id=open_renewal)
    return _new_application(session, actor, old.product, data, now, renews=old)


def approve_certification(
    session: Session, actor: Actor, cert_id: int, *, now: datetime, reason: str | None = None
) -> Certification:
    cert = get_certification(session, actor, cert_id, for_update=True)
    _require_certifier(actor, cert)
    require_eligible(session, cert.district_id, cert.township_id, cert.production_base, now)
    cert.transition(CertStatus.APPROVED, actor_id=actor.user_id, at=now, reason=reason)
    cert.decision_reason = reason
    cert.certificate_no = f"CQXF-{cert.district_id}-{china_today(now).year}-{cert.id:06d}"
    session.flush()
    return cert


def reject_certification(session: Session, actor: Actor, cert_id: int, *, now: datetime, reason: str) -> Certification:
    cert = get_certification(session, actor, cert_id, for_update=True)
    _require_certifier(actor, cert)
    cert.transition(CertStatus.REJECTED, actor_id=actor.user_id, at=now, reason=reason)
    cert.decision_reason = reason
    session.flush()
    return cert


def publish_announcement(
    session: Session,
    actor: Actor,
    *,
    title: str,
    certification_ids: list[int],
    objection_days: int,
    validity_days: int,
    now: datetime,
) -> Announcement:
    """Publish approved certifications as one batch. Each comes into force when the objection
    window closes and stays in force for `validity_days` (a renewal extends from the old expiry)."""
    if not actor.has(Role.CERTIFIER) and not actor.is_admin:
        raise Forbidden("Only certifiers publish announcements.")
    ids = sorted(set(certification_ids))
    certs = session.scalars(
        sa.select(Certification).where(Certification.id.in_(ids)).order_by(Certification.id).with_for_update()
    ).all()
    found = {c.id for c in certs}
    visible = {c.id for c in certs if actor.is_admin or actor.has(Role.CERTIFIER, c.district_id)}
    if found != set(ids) or visible != found:
        missing = sorted(set(ids) - visible)
        raise NotFound("Some certifications are unknown or outside your districts.", certification_ids=missing)
    objection_until = now + timedelta(days=objection_days)
    announcement = Announcement(
        title=title, published_at=now, objection_until=objection_until, published_by_id=actor.user_id
    )
    session.add(announcement)
    session.flush()
    renewed = {c.renews_id for c in certs if c.renews_id}
    old_expiry = (
        dict(
            session.execute(
                sa.select(Certification.id, Certification.valid_until).where(Certification.id.in_(renewed))
            ).all()
        )
        if renewed
        else {}
    )
    for cert in certs:
        cert.transition(CertStatus.PUBLISHED, actor_id=actor.user_id, at=now)
        cert.announcement_id = announcement.id
        cert.objection_until = objection_until
        cert.valid_from = objection_until
        start = max(objection_until, old_expiry.get(cert.renews_id) or objection_until)
        cert.valid_until = start + timedelta(days=validity_days)
    session.flush()
    return announcement


def list_announcements(session: Session, *, page: int, size: int):
    stmt = sa.select(Announcement)
    return paginate(session, stmt, order_by=Announcement.id.desc(), page=page, size=size)


def get_announcement(session: Session, announcement_id: int) -> Announcement:
    announcement = session.scalar(
        sa.select(Announcement)
        .where(Announcement.id == announcement_id)
        .options(
            selectinload(Announcement.certifications).options(
                joinedload(Certification.product),
                joinedload(Certification.supplier),
                joinedload(Certification.district),
            )
        )
    )
    if announcement is None:
        raise NotFound("No such announcement.")
    return announcement


def file_objection(session: Session, actor: Actor, cert_id: int, *, reason: str, now: datetime) -> Objection:
    cert = session.scalar(sa.select(Certification).where(Certification.id == cert_id).with_for_update())
    if cert is None or cert.announcement_id is None:
        raise NotFound("No such announced certification.")
    if cert.objection_until is None or now >= cert.objection_until:
        raise ObjectionWindowClosed(
            "The objection window has closed.",
            objection_until=cert.objection_until.isoformat() if cert.objection_until else None,
        )
    if cert.status == CertStatus.PUBLISHED:
        cert.transition(CertStatus.OBJECTED, actor_id=actor.user_id, at=now, reason=reason)
    elif cert.status != CertStatus.OBJECTED:
        raise NotObjectable("This certification no longer takes objections.", status=cert.status.value)
    objection = Objection(certification_id=cert.id, user_id=actor.user_id, reason=reason, created_at=now)
    session.add(objection)
    session.flush()
    return objection


def list_objections(session: Session, actor: Actor, cert_id: int, *, page: int, size: int):
    get_certification(session, actor, cert_id)
    stmt = sa.select(Objection).where(Objection.certification_id == cert_id)
    return paginate(session, stmt, order_by=Objection.id, page=page, size=size)


def decide_objection(
    session: Session, actor: Actor, objection_id: int, *, uphold: bool, note: str, now: datetime
) -> Objection:
    """Uphold (the certification is withdrawn) or dismiss (once none is open, it stands again)."""
    objection = session.get(Objection, objection_id)
    if objection is None:
        raise NotFound("No such objection.")
    cert = get_certification(session, actor, objection.certification_id, for_update=True)
    _require_certifier(actor, cert)
    if objection.status != ObjectionStatus.OPEN:
        raise ObjectionDecided("This objection has been decided already.", status=objection.status.value)
    objection.status = ObjectionStatus.UPHELD if uphold else ObjectionStatus.DISMISSED
    objection.decided_by_id, objection.decided_at, objection.decision_note = actor.user_id, now, note
    session.flush()
    if uphold:
        cert.transition(CertStatus.WITHDRAWN, actor_id=actor.user_id, at=now, reason=note)
    else:
        still_open = session.scalar(
            sa.select(sa.func.count()).where(
                Objection.certification_id == cert.id, Objection.status == ObjectionStatus.OPEN
            )
        )
        if not still_open and cert.status == CertStatus.OBJECTED:
            cert.transition(CertStatus.PUBLISHED, actor_id=actor.user_id, at=now, reason=note)
    session.flush()
    return objection


def revoke_certification(session: Session, actor: Actor, cert_id: int, *, reason: str, now: datetime) -> Certification:
    """Certifier of the district or a regulator; takes effect at once."""
    cert = get_certification(session, actor, cert_id, for_update=True)
    if not (actor.has(Role.REGULATOR) or actor.has(Role.CERTIFIER, cert.district_id)):
        raise Forbidden("Only the district's certifier or a regulator may revoke.")
    if cert.effective_status(now) == "expired":
        raise AlreadyExpired("This certification has expired already.")
    cert.transition(CertStatus.REVOKED, actor_id=actor.user_id, at=now, reason=reason)
    cert.decision_reason = reason
    session.flush()
    return cert


def list_events(session: Session, actor: Actor, cert_id: int, *, page: int, size: int):
    get_certification(session, actor, cert_id)
    stmt = sa.select(CertificationEvent).where(CertificationEvent.certification_id == cert_id)
    return paginate(session, stmt, order_by=CertificationEvent.id, page=page, size=size)
