"""The risk that a product's produce goes unsold before it rots (滞销风险), per declared product.

The rule, in whole units and days (all integer arithmetic, so a boundary is exact):

- velocity: units sold in every channel (the sales facts: shop orders, hall and counter sales, bulk
  orders received, vouchers, 832) over the last `velocity_days` days, per day;
- horizon: days until the declared produce must be sold: the harvest's last day plus how long it
  keeps, from today (0 once past);
- ageing stock: units available at halls, counters and zones in batches whose best-before is within
  `ageing_days`; they are on the shelves, so the first `ageing_days` of sales go to them;
- expected sales over the horizon = sold × horizon ÷ velocity_days (rounded down);
  ageing left = ageing stock − min(ageing stock, sold × ageing_days ÷ velocity_days);
  origin left = unsold at origin − (expected sales − what the ageing stock took), not below 0;
- exposed = unsold at origin + ageing stock; unsold share = (ageing left + origin left) ÷ exposed,
  in basis points, rounded down;
- level: critical from `critical_bp`, warning from `warning_bp`, watch from `watch_bp`, else none.

A product that sells its exposed quantity within the horizon has share 0 and never warns. The job
stores the figures with the level; an assessment whose figures are those stored changes nothing, so a
level changes only with new figures, and each change is a row of `risk_level_changes`."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from search import outbox
from shop.catalog.models import Sku
from shop.inventory.ledger import BATCH_LEVELS
from shop.inventory.models import Location, LocationKind, china_today, sellable_level
from shop.monitoring.models import (
    LEVEL_ORDER,
    RiskAssessment,
    RiskLevel,
    RiskLevelChange,
    SupplyDeclaration,
)
from shop.notifications import events
from shop.statistics.models import SalesFact

BOOSTED_LEVELS = (RiskLevel.WARNING, RiskLevel.CRITICAL)


@dataclass(frozen=True)
class RiskRules:
    velocity_days: int = 28
    ageing_days: int = 7
    watch_bp: int = 1000
    warning_bp: int = 3000
    critical_bp: int = 6000

    @classmethod
    def from_config(cls, cfg) -> RiskRules:
        return cls(
            velocity_days=max(1, cfg["MONITORING_VELOCITY_DAYS"]),
            ageing_days=cfg["MONITORING_AGEING_DAYS"],
            watch_bp=cfg["MONITORING_WATCH_BP"],
            warning_bp=cfg["MONITORING_WARNING_BP"],
            critical_bp=cfg["MONITORING_CRITICAL_BP"],
        )

    def level(self, share_bp: int) -> RiskLevel:
        if share_bp >= self.critical_bp:
            return RiskLevel.CRITICAL
        if share_bp >= self.warning_bp:
            return RiskLevel.WARNING
        if share_bp >= self.watch_bp:
            return RiskLevel.WATCH
        return RiskLevel.NONE


def evaluate(
    rules: RiskRules,
    *,
    today: date,
    unsold: int,
    harvest_until: date,
    keeps_days: int,
    sold_in_window: int,
    ageing_units: int,
) -> tuple[RiskLevel, dict]:
    """The level and the figures that led to it (the pure rule of the module doc)."""
    sold = max(0, sold_in_window)
    sell_by = harvest_until + timedelta(days=keeps_days)
    horizon = max(0, (sell_by - today).days)
    expected = sold * horizon // rules.velocity_days
    ageing_sold = min(ageing_units, sold * rules.ageing_days // rules.velocity_days)
    ageing_left = ageing_units - ageing_sold
    origin_left = max(0, unsold - max(0, expected - ageing_sold))
    exposed = unsold + ageing_units
    share_bp = (ageing_left + origin_left) * 10_000 // exposed if exposed else 0
    level = rules.level(share_bp)
    figures = {
        "velocity_days": rules.velocity_days,
        "sold_in_window": sold,
        "velocity_per_day": f"{sold / rules.velocity_days:.2f}",
        "sell_by": sell_by.isoformat(),
        "horizon_days": horizon,
        "expected_sales": expected,
        "unsold_at_origin": unsold,
        "ageing_days": rules.ageing_days,
        "ageing_units": ageing_units,
        "ageing_left": ageing_left,
        "origin_left": origin_left,
        "exposed": exposed,
        "unsold_share_bp": share_bp,
        "thresholds_bp": {"watch": rules.watch_bp, "warning": rules.warning_bp, "critical": rules.critical_bp},
    }
    return level, figures


# --- the assessment of many products at once --------------------------------------------------------


def _sold(session: Session, lo: int, hi: int, since: date) -> dict[int, int]:
    f = SalesFact
    rows = session.execute(
        sa.select(f.product_id, sa.func.sum(f.quantity))
        .where(f.product_id.between(lo, hi), f.day > since)
        .group_by(f.product_id)
    )
    return {product_id: int(units or 0) for product_id, units in rows}


def _ageing(session: Session, lo: int, hi: int, today: date, until: date) -> dict[int, int]:
    b = BATCH_LEVELS
    rows = session.execute(
        sa.select(Sku.product_id, sa.func.sum(b.c.on_hand - b.c.reserved))
        .join(Sku, Sku.id == b.c.sku_id)
        .join(Location, Location.id == b.c.location_id)
        .where(
            Sku.product_id.between(lo, hi),
            b.c.best_before.between(today, until),
            b.c.on_hand > b.c.reserved,
            sellable_level(b),
            Location.kind != LocationKind.CENTRE,
            Location.is_active,
        )
        .group_by(Sku.product_id)
    )
    return {product_id: int(units or 0) for product_id, units in rows}


@dataclass
class Outcome:
    assessed: int = 0
    changed_figures: int = 0
    changed_levels: int = 0
    last_product_id: int = 0

    def add(self, other: Outcome) -> None:
        self.assessed += other.assessed
        self.changed_figures += other.changed_figures
        self.changed_levels += other.changed_levels
        self.last_product_id = max(self.last_product_id, other.last_product_id)


def _digest(figures: dict, version: int) -> str:
    canonical = json.dumps([figures, version], sort_keys=True, separators=(",", ":"))
    return hashlib.sha1(canonical.encode(), usedforsecurity=False).hexdigest()


# What the rule reads of a declaration (plain rows: thousands per batch, no ORM objects).
DECLARED = sa.select(
    SupplyDeclaration.product_id,
    SupplyDeclaration.supplier_id,
    SupplyDeclaration.district_id,
    SupplyDeclaration.version,
    SupplyDeclaration.unsold_quantity,
    SupplyDeclaration.harvest_until,
    SupplyDeclaration.keeps_days,
)


def _assess(session: Session, declarations: list, rules: RiskRules, now: datetime) -> Outcome:
    outcome = Outcome()
    if not declarations:
        return outcome
    today = china_today(now)
    lo, hi = declarations[0].product_id, declarations[-1].product_id
    sold = _sold(session, lo, hi, today - timedelta(days=rules.velocity_days))
    ageing = _ageing(session, lo, hi, today, today + timedelta(days=rules.ageing_days))
    ids = [d.product_id for d in declarations]
    stored = {
        a.product_id: a
        for a in session.execute(
            sa.select(RiskAssessment.product_id, RiskAssessment.level, RiskAssessment.figures_sha1).where(
                RiskAssessment.product_id.between(lo, hi)
            )
        )
    }
    inserts, updates, changes, boosted, warnings = [], [], [], [], []
    for d in declarations:
        level, figures = evaluate(
            rules,
            today=today,
            unsold=d.unsold_quantity,
            harvest_until=d.harvest_until,
            keeps_days=d.keeps_days,
            sold_in_window=sold.get(d.product_id, 0),
            ageing_units=ageing.get(d.product_id, 0),
        )
        outcome.assessed += 1
        digest = _digest(figures, d.version)
        before = stored.get(d.product_id)
        if before is not None and before.figures_sha1 == digest:
            continue
        outcome.changed_figures += 1
        old_level = before.level if before is not None else RiskLevel.NONE
        row = {
            "product_id": d.product_id,
            "supplier_id": d.supplier_id,
            "district_id": d.district_id,
            "level": level,
            "figures": figures,
            "figures_sha1": digest,
            "declaration_version": d.version,
            "assessed_at": now,
        }
        if level != old_level or before is None:
            row["level_since"] = now
        if before is None:
            row.setdefault("level_since", now)
            inserts.append(row)
        else:
            updates.append(row)
        if level != old_level:
            outcome.changed_levels += 1
            changes.append(
                {
                    "product_id": d.product_id,
                    "district_id": d.district_id,
                    "from_level": old_level,
                    "to_level": level,
                    "figures": figures,
                    "at": now,
                }
            )
            if (level in BOOSTED_LEVELS) != (old_level in BOOSTED_LEVELS):
                boosted.append(d.product_id)
            if level in BOOSTED_LEVELS and LEVEL_ORDER[level] > LEVEL_ORDER[old_level]:
                warnings.append((d, old_level, level, figures))
    if inserts:
        session.execute(sa.insert(RiskAssessment), inserts)
    # rows without a new level keep their level_since: update them apart from those with one
    for keys in ({"level_since"}, set()):
        batch = [u for u in updates if ("level_since" in u) == bool(keys)]
        if batch:
            session.execute(sa.update(RiskAssessment), batch)
    if changes:
        session.execute(sa.insert(RiskLevelChange), changes)
    for d, old_level, level, figures in warnings:
        events.early_warning(
            session,
            product_id=d.product_id,
            supplier_id=d.supplier_id,
            district_id=d.district_id,
            from_level=old_level,
            to_level=level,
            figures=figures,
            now=now,
        )
    outbox.enqueue_products(session, boosted, rebuild_before_commit=False)
    outcome.last_product_id = ids[-1]
    return outcome


def assess_batch(session: Session, rules: RiskRules, now: datetime, *, after: int = 0, limit: int = 2000) -> Outcome:
    """Assess the next `limit` declared products with ids above `after`, locking their declarations
    (so a new declaration and the job never write one product's assessment at once)."""
    declarations = session.execute(
        DECLARED.where(SupplyDeclaration.product_id > after)
        .order_by(SupplyDeclaration.product_id)
        .limit(limit)
        .with_for_update()
    ).all()
    return _assess(session, declarations, rules, now)


def assess_products(session: Session, rules: RiskRules, now: datetime, product_ids: Iterable[int]) -> Outcome:
    """Assess some declared products now (a new declaration, the on-demand call)."""
    total = Outcome()
    ids = sorted(set(product_ids))
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        declarations = session.execute(
            DECLARED.where(SupplyDeclaration.product_id.in_(chunk))
            .order_by(SupplyDeclaration.product_id)
            .with_for_update()
        ).all()
        # _assess reads figures of the id range; products in the range but not asked for are left out
        total.add(_assess(session, declarations, rules, now))
    return total
