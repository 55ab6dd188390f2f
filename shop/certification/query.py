"""The one meaning of "certified and in force now", used by the catalog, search, pricing and checkout."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from shop.certification.models import Certification, CertStatus

# The table's columns, not the mapped attributes: a statement of plain columns (checkout's pricing,
# the catalog's pages) stays a Core statement, which SQLAlchemy runs with less Python than an ORM one.
CERTIFICATIONS = Certification.__table__


def in_force(now: datetime) -> sa.ColumnElement[bool]:
    """Condition on Certification rows: published, past its objection window, not yet expired.
    `now` is a bound parameter: an expiry takes effect at its instant with no job running."""
    c = CERTIFICATIONS.c
    return sa.and_(c.status == CertStatus.PUBLISHED, c.valid_from <= now, c.valid_until > now)


def product_in_force(product_id_column, now: datetime) -> sa.ColumnElement[bool]:
    """EXISTS condition: the product in `product_id_column` has a certification in force at `now`."""
    return sa.exists().where(CERTIFICATIONS.c.product_id == product_id_column, in_force(now))


def current_certifications(session, product_ids: list[int], now: datetime) -> dict[int, Certification]:
    """The certification in force for each product (the one lasting longest when a renewal overlaps)."""
    if not product_ids:
        return {}
    rows = session.scalars(
        sa.select(Certification)
        .where(Certification.product_id.in_(product_ids), in_force(now))
        .order_by(Certification.valid_until, Certification.id)
    )
    return {cert.product_id: cert for cert in rows}


def current_certification_id(product_id_column, now: datetime) -> sa.ScalarSelect:
    """Scalar subquery: the id of the certification in force at `now` for the product in
    `product_id_column` (the one lasting longest when a renewal overlaps, as `current_certifications`),
    NULL if none. Joining on it keeps only products in force, with their certification's columns."""
    return (
        sa.select(Certification.id)
        .where(Certification.product_id == product_id_column, in_force(now))
        .order_by(Certification.valid_until.desc(), Certification.id.desc())
        .limit(1)
        .correlate_except(Certification)
        .scalar_subquery()
    )
