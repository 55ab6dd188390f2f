"""Reading risk levels: the list (scoped as declarations are), one product's level with the history of
its changes, and the on-demand assessment."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from shop.auth.actor import Actor
from shop.auth.models import Role
from shop.catalog.models import Product
from shop.db import transaction
from shop.errors import NotFound
from shop.monitoring.declarations import can_see, visible_clause
from shop.monitoring.models import LEVEL_ORDER, RiskAssessment, RiskLevel, RiskLevelChange
from shop.monitoring.risk import Outcome, RiskRules, assess_batch, assess_products


def _row(assessment: RiskAssessment, product_name: str) -> dict:
    return {
        "product_id": assessment.product_id,
        "product_name": product_name,
        "supplier_id": assessment.supplier_id,
        "district_id": assessment.district_id,
        "level": assessment.level,
        "figures": assessment.figures,
        "declaration_version": assessment.declaration_version,
        "level_since": assessment.level_since,
        "assessed_at": assessment.assessed_at,
    }


def list_risks(session: Session, actor: Actor, *, filters: dict, page: int, size: int) -> tuple[list[dict], int]:
    """Assessments the actor may see, the most severe first."""
    stmt = sa.select(RiskAssessment, Product.name).join(Product, Product.id == RiskAssessment.product_id)
    clause = visible_clause(actor, RiskAssessment.supplier_id, RiskAssessment.district_id)
    if clause is not None:
        stmt = stmt.where(clause)
    if filters.get("min_level") is not None:
        levels = [lvl for lvl in RiskLevel if LEVEL_ORDER[lvl] >= LEVEL_ORDER[filters["min_level"]]]
        stmt = stmt.where(RiskAssessment.level.in_(levels))
    for key in ("level", "district_id", "supplier_id"):
        if filters.get(key) is not None:
            stmt = stmt.where(getattr(RiskAssessment, key) == filters[key])
    total = session.scalar(sa.select(sa.func.count()).select_from(stmt.order_by(None).subquery())) or 0
    severity = sa.case({lvl.value: -rank for lvl, rank in LEVEL_ORDER.items()}, value=RiskAssessment.level)
    rows = session.execute(
        stmt.order_by(severity, RiskAssessment.product_id).limit(size).offset((page - 1) * size)
    ).all()
    return [_row(assessment, name) for assessment, name in rows], total


def get_risk(session: Session, actor: Actor, product_id: int) -> dict:
    row = session.execute(
        sa.select(RiskAssessment, Product.name)
        .join(Product, Product.id == RiskAssessment.product_id)
        .where(RiskAssessment.product_id == product_id)
    ).first()
    if row is None or not can_see(actor, row[0].supplier_id, row[0].district_id):
        raise NotFound("No risk assessment of this product.")
    changes = session.scalars(
        sa.select(RiskLevelChange)
        .where(RiskLevelChange.product_id == product_id)
        .order_by(RiskLevelChange.at.desc(), RiskLevelChange.id.desc())
        .limit(100)
    ).all()
    return {**_row(*row), "changes": list(changes)}


def assess_now(
    session: Session, actor: Actor, *, product_ids: list[int] | None, rules: RiskRules, now: datetime
) -> Outcome:
    """The coordinator (or an admin) asks for an assessment now: of some products, or of all of them
    (in the request's one transaction; the scheduled job does the same in batches)."""
    actor.require(Role.COORDINATOR)
    if product_ids:
        return assess_products(session, rules, now, product_ids)
    total, after = Outcome(), 0
    while True:
        outcome = assess_batch(session, rules, now, after=after)
        total.add(outcome)
        if outcome.assessed == 0:
            return total
        after = outcome.last_product_id


def assess_all(factory, rules: RiskRules, now: datetime, *, batch: int = 2000) -> Outcome:
    """The scheduled job: every declared product, one transaction per batch."""
    total, after = Outcome(), 0
    while True:
        with transaction(factory, write=True) as session:
            outcome = assess_batch(session, rules, now, after=after, limit=batch)
        total.add(outcome)
        if outcome.assessed < batch:
            return total
        after = outcome.last_product_id
