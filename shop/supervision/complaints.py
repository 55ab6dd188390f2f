"""Complaints (投诉) and anonymous reports (举报): filed, routed by subject, handled through their
states with a deadline each, answered by the supplier in a thread, decided, closed."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from shop.auth.actor import Actor
from shop.auth.models import Role
from shop.catalog.models import Product
from shop.certification.models import Certification, CertStatus
from shop.errors import Forbidden, InvalidInput, NotFound
from shop.inventory.errors import NotInForce
from shop.inventory.models import Location
from shop.orders.models import Order
from shop.paging import paginate
from shop.supervision.errors import ComplaintClosed, NoOrder, NoSupplier
from shop.supervision.models import (
    Author,
    Complaint,
    ComplaintCategory,
    ComplaintMessage,
    ComplaintStatus,
    Handler,
    Outcome,
    SanctionKind,
)
from shop.supervision.service import impose_sanction
from shop.suppliers.models import Supplier

S = ComplaintStatus
# Price and safety go to the market regulator; the rest to the certifier of the subject's district.
REGULATOR_CATEGORIES = {ComplaintCategory.PRICE, ComplaintCategory.QUALITY}


@dataclass(frozen=True)
class ComplaintSettings:
    """How long each state may last before the complaint is overdue."""

    accept_hours: int = 72
    supplier_hours: int = 120
    decide_hours: int = 15 * 24
    close_hours: int = 7 * 24

    def deadline(self, status: ComplaintStatus, now: datetime) -> datetime | None:
        hours = {
            S.FILED: self.accept_hours,
            S.ACCEPTED: self.decide_hours,
            S.AWAITING_SUPPLIER: self.supplier_hours,
            S.DECIDED: self.close_hours,
        }.get(status)
        return None if hours is None else now + timedelta(hours=hours)


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# --- filing ------------------------------------------------------------------------------------


def _subject(session: Session, actor: Actor | None, data: dict) -> dict:
    """Resolve the subject to (order, product, supplier, location, district)."""
    named = [k for k in ("order_id", "product_id", "supplier_id", "location_id") if data.get(k) is not None]
    if not named:
        raise InvalidInput("Name what the complaint is about.", fields={"order_id": ["One subject is required."]})
    out = {"order_id": None, "product_id": None, "supplier_id": None, "location_id": None}
    if data.get("order_id") is not None:
        order = session.scalar(sa.select(Order).options(selectinload(Order.lines)).where(Order.id == data["order_id"]))
        if order is None or actor is None or order.buyer_id != actor.user_id:
            raise NotFound("No such order among yours.")
        product_ids = [line.product_id for line in order.lines]
        product_id = data.get("product_id") or product_ids[0]
        if product_id not in product_ids:
            raise InvalidInput("That product is not in the order.", fields={"product_id": ["Not in the order."]})
        out.update(order_id=order.id, product_id=product_id, location_id=order.location_id)
    elif data.get("product_id") is not None:
        out["product_id"] = data["product_id"]
    if out["product_id"] is not None:
        product = session.get(Product, out["product_id"])
        if product is None:
            raise NotFound("No such product.")
        out.update(supplier_id=product.supplier_id, district_id=product.origin_district_id)
        return out
    if data.get("supplier_id") is not None:
        supplier = session.get(Supplier, data["supplier_id"])
        if supplier is None:
            raise NotFound("No such supplier.")
        out.update(supplier_id=supplier.id, district_id=supplier.district_id)
        return out
    location = session.get(Location, data["location_id"])
    if location is None:
        raise NotFound("No such location.")
    out.update(location_id=location.id, district_id=location.district_id)
    return out


def file_complaint(
    session: Session,
    actor: Actor | None,
    *,
    data: dict,
    settings: ComplaintSettings,
    now: datetime,
    after_sales_id: int | None = None,
) -> tuple[Complaint, str | None]:
    """File a complaint (a logged-in actor) or an anonymous report (actor None, which may not name an
    order). Returns the complaint and, for a report, the token to follow it with."""
    subject = _subject(session, actor, data)
    category = ComplaintCategory(data["category"])
    token = None if actor is not None else secrets.token_urlsafe(24)
    complaint = Complaint(
        complainant_id=actor.user_id if actor else None,
        anonymous=actor is None,
        tracking_digest=digest(token) if token else None,
        contact=data.get("contact"),
        category=category,
        handler=Handler.REGULATOR if category in REGULATOR_CATEGORIES else Handler.CERTIFIER,
        description=data["description"],
        evidence=data.get("evidence", []),
        status=S.FILED,
        deadline_at=settings.deadline(S.FILED, now),
        filed_at=now,
        after_sales_id=after_sales_id,
        **subject,
    )
    session.add(complaint)
    complaint.events.append(
        Complaint.event_class()(to_status=S.FILED.value, actor_id=actor.user_id if actor else None, at=now)
    )
    session.flush()
    return complaint, token


# --- who sees and who handles ------------------------------------------------------------------


def is_handler(actor: Actor, complaint: Complaint) -> bool:
    if complaint.handler == Handler.REGULATOR:
        return actor.has(Role.REGULATOR)
    return actor.has(Role.CERTIFIER, complaint.district_id)


def _scope(actor: Actor) -> sa.ColumnElement[bool] | None:
    if actor.is_admin:
        return None
    return sa.or_(
        Complaint.complainant_id == actor.user_id,
        Complaint.supplier_id.in_(actor.scopes(Role.SUPPLIER_MEMBER)),
        sa.and_(Complaint.handler == Handler.REGULATOR, sa.true() if actor.has(Role.REGULATOR) else sa.false()),
        sa.and_(Complaint.handler == Handler.CERTIFIER, Complaint.district_id.in_(actor.scopes(Role.CERTIFIER))),
    )


def _view(actor: Actor | None, complaint: Complaint) -> Complaint:
    """What this viewer may read: handlers (and admins) everything; the complainant and the supplier
    the status, the decision and the thread without internal notes."""
    full = actor is not None and (actor.is_admin or is_handler(actor, complaint))
    complaint.viewer_is_handler = full
    complaint.visible_messages = [m for m in complaint.messages if full or not m.internal]
    complaint.visible_events = list(complaint.events) if full else []
    complaint.visible_complainant_id = complaint.complainant_id if full else None
    return complaint


def get_complaint(session: Session, actor: Actor, complaint_id: int, *, for_update: bool = False) -> Complaint:
    stmt = sa.select(Complaint).where(Complaint.id == complaint_id)
    scope = _scope(actor)
    if scope is not None:
        stmt = stmt.where(scope)
    if for_update:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    complaint = session.scalar(stmt)
    if complaint is None:
        raise NotFound("No such complaint.")
    return _view(actor, complaint)


def track_report(session: Session, token: str) -> Complaint:
    complaint = session.scalar(sa.select(Complaint).where(Complaint.tracking_digest == digest(token)))
    if complaint is None:
        raise NotFound("No such report.")
    return _view(None, complaint)


def overdue_clause(now: datetime) -> sa.ColumnElement[bool]:
    return sa.and_(Complaint.status != S.CLOSED, Complaint.deadline_at <= now)


def list_complaints(session: Session, actor: Actor, *, filters: dict, now: datetime, page: int, size: int):
    stmt = sa.select(Complaint).options(selectinload(Complaint.messages), selectinload(Complaint.events))
    scope = _scope(actor)
    if scope is not None:
        stmt = stmt.where(scope)
    for key in ("status", "category", "district_id", "supplier_id", "handler"):
        if filters.get(key) is not None:
            stmt = stmt.where(getattr(Complaint, key) == filters[key])
    if filters.get("overdue") is not None:
        stmt = stmt.where(overdue_clause(now) if filters["overdue"] else ~overdue_clause(now))
    order = [Complaint.deadline_at, Complaint.id] if filters.get("overdue") else [Complaint.id.desc()]
    items, total = paginate(session, stmt, order_by=order, page=page, size=size)
    return [_view(actor, c) for c in items], total


# --- handling ----------------------------------------------------------------------------------


def _handled(session: Session, actor: Actor, complaint_id: int) -> Complaint:
    """The complaint, locked, for one of its handlers: two deciding at once queue on the row lock,
    and the second finds the state moved on (409)."""
    complaint = get_complaint(session, actor, complaint_id, for_update=True)
    if not is_handler(actor, complaint):
        raise Forbidden("Only the complaint's handler may do this.", handler=complaint.handler.value)
    return complaint


def _move(complaint: Complaint, target: ComplaintStatus, actor: Actor, now: datetime, settings, reason=None) -> None:
    complaint.transition(target, actor_id=actor.user_id, at=now, reason=reason)
    complaint.deadline_at = settings.deadline(target, now)


def accept_complaint(session, actor, complaint_id, *, note: str | None, settings: ComplaintSettings, now: datetime):
    complaint = _handled(session, actor, complaint_id)
    _move(complaint, S.ACCEPTED, actor, now, settings, note)
    complaint.handled_by_id = actor.user_id
    session.flush()
    return _view(actor, complaint)


def refuse_complaint(session, actor, complaint_id, *, reason: str, settings: ComplaintSettings, now: datetime):
    """Close a filed complaint unheard (not admissible); the reason is the decision the complainant reads."""
    complaint = _handled(session, actor, complaint_id)
    _move(complaint, S.CLOSED, actor, now, settings, reason)
    complaint.decision, complaint.closed_at, complaint.handled_by_id = reason, now, actor.user_id
    session.flush()
    return _view(actor, complaint)


def ask_supplier(session, actor, complaint_id, *, question: str, settings: ComplaintSettings, now: datetime):
    complaint = _handled(session, actor, complaint_id)
    if complaint.supplier_id is None:
        raise NoSupplier("This complaint concerns no supplier.")
    _move(complaint, S.AWAITING_SUPPLIER, actor, now, settings)
    complaint.messages.append(
        ComplaintMessage(author_id=actor.user_id, author=Author.HANDLER, body=question, created_at=now)
    )
    session.flush()
    return _view(actor, complaint)


def post_message(
    session, actor, complaint_id, *, body: str, internal: bool, evidence: list, settings: ComplaintSettings, now
):
    """Write in the thread. The supplier's answer while it is awaited hands the complaint back to
    the handler; internal notes are the handler's alone."""
    complaint = get_complaint(session, actor, complaint_id, for_update=True)
    if complaint.status == S.CLOSED:
        raise ComplaintClosed("The complaint is closed.")
    if is_handler(actor, complaint):
        author = Author.HANDLER
    elif complaint.supplier_id is not None and actor.has(Role.SUPPLIER_MEMBER, complaint.supplier_id):
        author = Author.SUPPLIER
    elif complaint.complainant_id == actor.user_id:
        author = Author.COMPLAINANT
    else:
        raise Forbidden("You take no part in this complaint.")
    if internal and author != Author.HANDLER:
        raise Forbidden("Only the handler writes internal notes.")
    complaint.messages.append(
        ComplaintMessage(
            author_id=actor.user_id, author=author, internal=internal, body=body, evidence=evidence, created_at=now
        )
    )
    if author == Author.SUPPLIER and complaint.status == S.AWAITING_SUPPLIER:
        complaint.transition(S.ACCEPTED, actor_id=actor.user_id, at=now, reason="supplier answered")
        complaint.deadline_at = settings.deadline(S.ACCEPTED, now)
    session.flush()
    return _view(actor, complaint)


def _standing_certification(session: Session, product_id: int | None) -> Certification | None:
    if product_id is None:
        return None
    return session.scalar(
        sa.select(Certification)
        .where(Certification.product_id == product_id, Certification.status == CertStatus.PUBLISHED)
        .order_by(Certification.id.desc())
        .limit(1)
    )


def decide_complaint(
    session: Session,
    actor: Actor,
    complaint_id: int,
    *,
    outcome: Outcome,
    decision: str,
    sanction: SanctionKind | None,
    refund: dict | None,
    settings: ComplaintSettings,
    now: datetime,
    refund_runner=None,
) -> Complaint:
    """Uphold or dismiss. An upheld complaint may order a sanction (warning, suspension or revocation
    of the product's certification) and, for an order, a refund of some of its lines."""
    complaint = _handled(session, actor, complaint_id)
    _move(complaint, S.DECIDED, actor, now, settings, decision)
    complaint.outcome, complaint.decision, complaint.decided_at = outcome, decision, now
    complaint.handled_by_id = complaint.handled_by_id or actor.user_id
    if outcome == Outcome.DISMISSED and (sanction or refund):
        raise InvalidInput("A dismissed complaint orders nothing.", fields={"sanction": ["Only when upheld."]})
    if sanction is not None:
        if complaint.supplier_id is None:
            raise NoSupplier("This complaint concerns no supplier to sanction.")
        cert = None
        if sanction in (SanctionKind.SUSPENSION, SanctionKind.REVOCATION):
            cert = _standing_certification(session, complaint.product_id)
            if cert is None:
                raise NotInForce("The product has no certification in force to act on.")
        impose_sanction(
            session,
            actor,
            supplier_id=complaint.supplier_id,
            kind=sanction,
            reason=decision,
            certification_id=cert.id if cert else None,
            complaint_id=complaint.id,
            now=now,
        )
    if refund is not None:
        if complaint.order_id is None or refund_runner is None:
            raise NoOrder("Only a complaint about an order orders a refund.")
        made = refund_runner(
            session, complaint.order_id, refund["lines"], f"complaint {complaint.id}: {decision}"[:500], actor.user_id
        )
        complaint.refund_fen = made.amount_fen
    session.flush()
    return _view(actor, complaint)


def close_complaint(session, actor, complaint_id, *, note: str | None, settings: ComplaintSettings, now: datetime):
    complaint = _handled(session, actor, complaint_id)
    _move(complaint, S.CLOSED, actor, now, settings, note)
    complaint.closed_at = now
    session.flush()
    return _view(actor, complaint)
