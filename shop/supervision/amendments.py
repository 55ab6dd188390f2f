"""Certified facts change only by amendment: the supplier asks, a certifier of the certification's
district approves (the change applies, its labels verified) or rejects. Labels are verified at review."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from shop.auth.actor import Actor
from shop.auth.models import Role
from shop.catalog.models import LabelKind, Product, ProductKind, ProductLabel
from shop.certification.models import Certification, CertStatus
from shop.errors import Forbidden, InvalidInput, NotFound
from shop.inventory.errors import NotInForce
from shop.paging import paginate
from shop.reference.service import check_origin
from shop.supervision.errors import AmendmentPending, LabelWithoutEvidence
from shop.supervision.gates import require_eligible
from shop.supervision.models import Amendment, AmendmentStatus
from shop.supervision.service import is_supervisor

AMENDABLE = ("origin_district_id", "origin_township_id", "kind", "production_base", "labels")
STANDING = (CertStatus.APPROVED, CertStatus.PUBLISHED, CertStatus.OBJECTED, CertStatus.SUSPENDED)


def _standing_certification(session: Session, product_id: int, now: datetime) -> Certification | None:
    return session.scalar(
        sa.select(Certification)
        .where(
            Certification.product_id == product_id,
            Certification.status.in_(STANDING),
            sa.or_(Certification.valid_until.is_(None), Certification.valid_until > now),
        )
        .order_by(Certification.id.desc())
        .limit(1)
        .with_for_update()
    )


def _labels_json(labels) -> list[dict]:
    return [
        {
            "kind": str(label["kind"] if isinstance(label, dict) else label.kind),
            "certificate_no": label["certificate_no"] if isinstance(label, dict) else label.certificate_no,
            "evidence_url": label.get("evidence_url") if isinstance(label, dict) else label.evidence_url,
            "evidence_sha256": (
                (label.get("evidence_sha256") or "").lower() or None
                if isinstance(label, dict)
                else label.evidence_sha256
            ),
        }
        for label in labels
    ]


def _facts(product: Product, cert: Certification) -> dict:
    return {
        "origin_district_id": product.origin_district_id,
        "origin_township_id": product.origin_township_id,
        "kind": product.kind.value,
        "production_base": cert.production_base,
        "labels": _labels_json(product.labels),
    }


def request_amendment(session: Session, actor: Actor, product_id: int, *, data: dict, now: datetime) -> Amendment:
    product = session.scalar(sa.select(Product).where(Product.id == product_id).with_for_update())
    if product is None or not (actor.is_admin or actor.has(Role.SUPPLIER_MEMBER, product.supplier_id)):
        raise NotFound("No such product among yours.")
    cert = _standing_certification(session, product.id, now)
    if cert is None:
        raise NotInForce("The product has no standing certification: edit it directly.")
    pending = session.scalar(
        sa.select(Amendment.id).where(Amendment.product_id == product.id, Amendment.status == AmendmentStatus.PENDING)
    )
    if pending is not None:
        raise AmendmentPending("An amendment of this product awaits its decision.", amendment_id=pending)
    previous = _facts(product, cert)
    changes = {key: data[key] for key in AMENDABLE if key in data}
    if "kind" in changes:
        changes["kind"] = ProductKind(changes["kind"]).value
    if "labels" in changes:
        kinds = [label["kind"] for label in changes["labels"]]
        if len(kinds) != len(set(kinds)):
            raise InvalidInput("Each label kind at most once.", fields={"labels": ["Duplicate label kind."]})
        if any(not (label.get("evidence_url") and label.get("evidence_sha256")) for label in changes["labels"]):
            raise InvalidInput(
                "Each label needs its evidence.", fields={"labels": ["evidence_url and evidence_sha256."]}
            )
        changes["labels"] = _labels_json(changes["labels"])
    changes = {key: value for key, value in changes.items() if value != previous[key]}
    if not changes:
        raise InvalidInput("Nothing would change.", fields={"_schema": ["Give at least one new certified fact."]})
    merged = {**previous, **changes}
    if "origin_district_id" in changes and "origin_township_id" not in changes:
        merged["origin_township_id"] = None
        changes["origin_township_id"] = None
    check_origin(session, merged["origin_district_id"], merged["origin_township_id"])
    amendment = Amendment(
        product_id=product.id,
        certification_id=cert.id,
        supplier_id=product.supplier_id,
        district_id=cert.district_id,
        changes=changes,
        previous=previous,
        reason=data["reason"],
        requested_by_id=actor.user_id,
        requested_at=now,
    )
    session.add(amendment)
    amendment.events.append(
        Amendment.event_class()(
            to_status=AmendmentStatus.PENDING.value, actor_id=actor.user_id, at=now, reason=data["reason"]
        )
    )
    session.flush()
    return amendment


def _scope(actor: Actor):
    if is_supervisor(actor):
        return None
    return sa.or_(
        Amendment.district_id.in_(actor.scopes(Role.CERTIFIER)),
        Amendment.supplier_id.in_(actor.scopes(Role.SUPPLIER_MEMBER)),
    )


def get_amendment(session: Session, actor: Actor, amendment_id: int, *, for_update: bool = False) -> Amendment:
    stmt = sa.select(Amendment).where(Amendment.id == amendment_id)
    scope = _scope(actor)
    if scope is not None:
        stmt = stmt.where(scope)
    if for_update:
        stmt = stmt.with_for_update()
    amendment = session.scalar(stmt)
    if amendment is None:
        raise NotFound("No such amendment.")
    return amendment


def list_amendments(session: Session, actor: Actor, *, filters: dict, page: int, size: int):
    stmt = sa.select(Amendment)
    scope = _scope(actor)
    if scope is not None:
        stmt = stmt.where(scope)
    for key in ("status", "product_id", "district_id", "supplier_id"):
        if filters.get(key) is not None:
            stmt = stmt.where(getattr(Amendment, key) == filters[key])
    return paginate(session, stmt, order_by=Amendment.id.desc(), page=page, size=size)


def _require_district_certifier(actor: Actor, amendment: Amendment) -> None:
    if not actor.has(Role.CERTIFIER, amendment.district_id):
        raise Forbidden("Only a certifier of the certification's district decides.", district_id=amendment.district_id)


def approve_amendment(
    session: Session, actor: Actor, amendment_id: int, *, reason: str | None, now: datetime
) -> Amendment:
    """Apply the change. A new origin must be eligible; the certification follows it (and so its
    certifier); the labels are verified by this decision."""
    amendment = get_amendment(session, actor, amendment_id, for_update=True)
    _require_district_certifier(actor, amendment)
    amendment.transition(AmendmentStatus.APPROVED, actor_id=actor.user_id, at=now, reason=reason)
    product = session.scalar(sa.select(Product).where(Product.id == amendment.product_id).with_for_update())
    cert = session.scalar(
        sa.select(Certification).where(Certification.id == amendment.certification_id).with_for_update()
    )
    changes = amendment.changes
    district = changes.get("origin_district_id", product.origin_district_id)
    township = changes.get("origin_township_id", product.origin_township_id)
    base = changes.get("production_base", cert.production_base)
    require_eligible(session, district, township, base, now)
    product.origin_district_id, product.origin_township_id = district, township
    cert.district_id, cert.township_id, cert.production_base = district, township, base
    if "kind" in changes:
        product.kind = ProductKind(changes["kind"])
    if "labels" in changes:
        product.labels = [
            ProductLabel(
                kind=LabelKind(label["kind"]),
                certificate_no=label["certificate_no"],
                evidence_url=label["evidence_url"],
                evidence_sha256=label["evidence_sha256"],
                verified_at=now,
                verified_by_id=actor.user_id,
            )
            for label in changes["labels"]
        ]
    amendment.decided_by_id, amendment.decided_at, amendment.decision_reason = actor.user_id, now, reason
    session.flush()
    return amendment


def reject_amendment(session: Session, actor: Actor, amendment_id: int, *, reason: str, now: datetime) -> Amendment:
    amendment = get_amendment(session, actor, amendment_id, for_update=True)
    _require_district_certifier(actor, amendment)
    amendment.transition(AmendmentStatus.REJECTED, actor_id=actor.user_id, at=now, reason=reason)
    amendment.decided_by_id, amendment.decided_at, amendment.decision_reason = actor.user_id, now, reason
    session.flush()
    return amendment


def withdraw_amendment(session: Session, actor: Actor, amendment_id: int, *, now: datetime) -> Amendment:
    amendment = get_amendment(session, actor, amendment_id, for_update=True)
    if not (actor.is_admin or actor.has(Role.SUPPLIER_MEMBER, amendment.supplier_id)):
        raise Forbidden("Only the supplier withdraws its amendment.")
    amendment.transition(AmendmentStatus.WITHDRAWN, actor_id=actor.user_id, at=now)
    session.flush()
    return amendment


def verify_label(session: Session, actor: Actor, product_id: int, kind: LabelKind, *, now: datetime) -> ProductLabel:
    """A certifier of the product's origin district checks a label's evidence at review."""
    product = session.get(Product, product_id)
    if product is None:
        raise NotFound("No such product.")
    if not actor.has(Role.CERTIFIER, product.origin_district_id):
        raise Forbidden("Only a certifier of the product's origin district verifies its labels.")
    label = session.scalar(
        sa.select(ProductLabel)
        .where(ProductLabel.product_id == product_id, ProductLabel.kind == kind)
        .with_for_update()
    )
    if label is None:
        raise NotFound("The product has no such label.")
    if not (label.evidence_url and label.evidence_sha256):
        raise LabelWithoutEvidence("The label has no evidence to verify.")
    label.verified_at, label.verified_by_id = now, actor.user_id
    session.flush()
    return label
