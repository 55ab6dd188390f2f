"""The checks certification calls: which origins may be certified (the poverty-alleviated districts,
and the places an act made eligible for a period; one SQL condition serves the approval check and
the report), and whether a supplier is blacklisted."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from shop.reference.models import District
from shop.supervision.errors import CertifiedFactLocked, OriginNotEligible, SupplierBlacklisted
from shop.supervision.models import EligiblePlace, Sanction, SanctionKind, SanctionStatus


def eligible_clause(district_col, township_col, base_col, now: datetime) -> sa.ColumnElement[bool]:
    """True where the origin (district, township, production base) is eligible at `now`."""
    P = EligiblePlace
    place = sa.exists().where(
        P.district_id == district_col,
        P.eligible_from <= now,
        sa.or_(P.eligible_until.is_(None), P.eligible_until > now),
        sa.or_(
            P.township_id.is_(None),
            sa.and_(
                P.township_id == township_col,
                sa.or_(P.village.is_(None), base_col.contains(P.village)),
            ),
        ),
    )
    alleviated = sa.exists().where(District.id == district_col, District.poverty_alleviated.is_(True))
    return sa.or_(alleviated, place)


def is_eligible(
    session: Session, district_id: int, township_id: int | None, production_base: str, now: datetime
) -> bool:
    values = sa.select(
        sa.literal(district_id).label("d"),
        sa.literal(township_id, sa.Integer).label("t"),
        sa.literal(production_base).label("b"),
    ).subquery()
    return bool(session.scalar(sa.select(eligible_clause(values.c.d, values.c.t, values.c.b, now))))


def require_eligible(
    session: Session, district_id: int, township_id: int | None, production_base: str, now: datetime
) -> None:
    if not is_eligible(session, district_id, township_id, production_base, now):
        raise OriginNotEligible(
            "The product's origin is not a poverty-alleviated district nor a place made eligible.",
            district_id=district_id,
            township_id=township_id,
        )


def require_not_blacklisted(session: Session, supplier_id: int, now: datetime) -> None:
    until = session.scalar(
        sa.select(sa.func.max(Sanction.until)).where(
            Sanction.supplier_id == supplier_id,
            Sanction.kind == SanctionKind.BLACKLIST,
            Sanction.status == SanctionStatus.IN_EFFECT,
            Sanction.until > now,
        )
    )
    if until is not None:
        raise SupplierBlacklisted(
            "The supplier is on the blacklist and cannot apply for certification yet.",
            until=until.isoformat(),
        )


# Facts a certification vouches for: once certified they change only through an amendment.
LOCKED_FIELDS = ("origin_district_id", "origin_township_id", "kind")


def certified_now(session: Session, product_id: int, now: datetime) -> bool:
    """The product has a certification approved and not ended (published, objected, suspended)."""
    from shop.certification.models import Certification, CertStatus

    standing = (CertStatus.APPROVED, CertStatus.PUBLISHED, CertStatus.OBJECTED, CertStatus.SUSPENDED)
    return (
        session.scalar(
            sa.select(Certification.id)
            .where(
                Certification.product_id == product_id,
                Certification.status.in_(standing),
                sa.or_(Certification.valid_until.is_(None), Certification.valid_until > now),
            )
            .limit(1)
        )
        is not None
    )


def _label_facts(labels) -> set[tuple]:
    def get(label, key):
        return label[key] if isinstance(label, dict) else getattr(label, key)

    return {(str(get(lb, "kind")), get(lb, "certificate_no")) for lb in labels}


def refuse_locked_changes(session: Session, product, data: dict, now: datetime) -> None:
    """Refuse (409 certified_fact_locked) an update that changes a certified fact of `product`."""
    changed = [f for f in LOCKED_FIELDS if f in data and data[f] != getattr(product, f)]
    if "labels" in data and _label_facts(data["labels"]) != _label_facts(product.labels):
        changed.append("labels")
    if changed and certified_now(session, product.id, now):
        raise CertifiedFactLocked(
            "These facts are certified: change them through an amendment the district certifier reviews.",
            fields=changed,
        )
