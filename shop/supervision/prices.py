"""Price monitoring (价格监测): every SKU price kept in an append-only history; reference prices per
category and unit; a SKU above its reference by more than a share, or raised by more than a share
within some days, is flagged; the supplier justifies or corrects; the regulator closes the flag."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from shop.auth.actor import Actor
from shop.auth.models import Role
from shop.catalog.models import Category, Product, Sku
from shop.errors import Forbidden, IllegalTransition, InvalidInput, NotFound
from shop.paging import paginate
from shop.supervision.models import (
    FlagKind,
    FlagStatus,
    PriceFlag,
    PriceUnit,
    ReferencePrice,
    SkuPriceChange,
)

F = FlagStatus
OPEN_STATES = (F.OPEN, F.JUSTIFIED)


@dataclass(frozen=True)
class PriceRules:
    above_reference_bp: int = 3000  # more than 30% above the reference
    rise_bp: int = 2000  # raised more than 20% ...
    rise_days: int = 7  # ... within a week


# --- history and checks (called by the catalog on every price it sets) -------------------------


def record_price(
    session: Session, sku: Sku, old: int | None, *, actor_id: int | None, now: datetime, rules: PriceRules | None = None
) -> None:
    if old == sku.price_fen:
        return
    session.add(
        SkuPriceChange(
            sku_id=sku.id, old_price_fen=old, new_price_fen=sku.price_fen, changed_by_id=actor_id, changed_at=now
        )
    )
    session.flush()
    check_sku(session, sku, actor_id=actor_id, now=now, rules=rules or PriceRules())


def _unit_price(sku: Sku, unit: PriceUnit) -> float | None:
    if unit == PriceUnit.PIECE:
        return sku.price_fen
    if not sku.net_weight_g:
        return None
    return sku.price_fen * 1000 / sku.net_weight_g


def _reference(session: Session, product: Product, now: datetime) -> list[ReferencePrice]:
    """References in force for the product's category or its nearest ancestor that has one."""
    path = session.scalar(sa.select(Category.path).where(Category.id == product.category_id)) or ""
    ancestors = [int(part) for part in path.strip("/").split("/") if part]
    refs = session.scalars(
        sa.select(ReferencePrice).where(
            ReferencePrice.category_id.in_(ancestors),
            ReferencePrice.valid_from <= now,
            ReferencePrice.valid_until > now,
        )
    ).all()
    best: dict[PriceUnit, ReferencePrice] = {}
    for ref in refs:
        depth = ancestors.index(ref.category_id)
        if ref.unit not in best or depth > ancestors.index(best[ref.unit].category_id):
            best[ref.unit] = ref
    return list(best.values())


def _findings(session: Session, sku: Sku, now: datetime, rules: PriceRules) -> dict[FlagKind, dict]:
    product = session.get(Product, sku.product_id)
    found: dict[FlagKind, dict] = {}
    for ref in _reference(session, product, now):
        unit_price = _unit_price(sku, ref.unit)
        if unit_price is not None and unit_price * 10_000 > ref.price_fen * (10_000 + rules.above_reference_bp):
            found[FlagKind.ABOVE_REFERENCE] = {
                "reference_price_id": ref.id,
                "reference_price_fen": ref.price_fen,
                "unit": ref.unit.value,
                "unit_price_fen": round(unit_price),
                "allowed_share_bp": rules.above_reference_bp,
            }
    since = now - timedelta(days=rules.rise_days)
    lowest = session.scalar(
        sa.select(sa.func.min(sa.func.coalesce(SkuPriceChange.old_price_fen, SkuPriceChange.new_price_fen))).where(
            SkuPriceChange.sku_id == sku.id, SkuPriceChange.changed_at > since
        )
    )
    if lowest and sku.price_fen * 10_000 > lowest * (10_000 + rules.rise_bp):
        found[FlagKind.SHARP_RISE] = {
            "lowest_price_fen": lowest,
            "since": since.isoformat(),
            "days": rules.rise_days,
            "allowed_share_bp": rules.rise_bp,
        }
    return found


def check_sku(session: Session, sku: Sku, *, actor_id: int | None, now: datetime, rules: PriceRules) -> list[PriceFlag]:
    """Flag what the SKU's price breaks now; flags whose rule it no longer breaks count as corrected."""
    findings = _findings(session, sku, now, rules)
    open_flags = session.scalars(
        sa.select(PriceFlag).where(PriceFlag.sku_id == sku.id, PriceFlag.status.in_(OPEN_STATES)).with_for_update()
    ).all()
    for flag in open_flags:
        if flag.kind not in findings:
            flag.transition(F.CORRECTED, actor_id=actor_id, at=now, reason=f"price now {sku.price_fen}")
    made = []
    open_kinds = {flag.kind for flag in open_flags if flag.status in OPEN_STATES}
    product = session.get(Product, sku.product_id)
    for kind, details in findings.items():
        if kind in open_kinds:
            continue
        flag = PriceFlag(
            sku_id=sku.id,
            product_id=product.id,
            supplier_id=product.supplier_id,
            district_id=product.origin_district_id,
            kind=kind,
            price_fen=sku.price_fen,
            details=details,
            flagged_at=now,
        )
        session.add(flag)
        flag.events.append(PriceFlag.event_class()(to_status=F.OPEN.value, actor_id=actor_id, at=now))
        made.append(flag)
    session.flush()
    return made


def price_history(session: Session, sku_id: int, *, page: int, size: int):
    if session.get(Sku, sku_id) is None:
        raise NotFound("No such SKU.")
    stmt = sa.select(SkuPriceChange).where(SkuPriceChange.sku_id == sku_id)
    return paginate(
        session, stmt, order_by=[SkuPriceChange.changed_at.desc(), SkuPriceChange.id.desc()], page=page, size=size
    )


# --- reference prices --------------------------------------------------------------------------


def set_reference_price(
    session: Session, actor: Actor, *, data: dict, rules: PriceRules, now: datetime
) -> ReferencePrice:
    """Regulators: set a reference; SKUs of the category it applies to are checked at once."""
    actor.require(Role.REGULATOR)
    category = session.get(Category, data["category_id"])
    if category is None:
        raise InvalidInput("Unknown category.", fields={"category_id": ["Unknown."]})
    if data["valid_until"] <= data["valid_from"]:
        raise InvalidInput("The period ends before it starts.", fields={"valid_until": ["Before valid_from."]})
    ref = ReferencePrice(**{**data, "unit": PriceUnit(data["unit"])}, set_by_id=actor.user_id, created_at=now)
    session.add(ref)
    session.flush()
    if ref.valid_from <= now < ref.valid_until:
        subtree = sa.select(Category.id).where(Category.path.startswith(category.path))
        skus = session.scalars(
            sa.select(Sku).join(Product).where(Product.category_id.in_(subtree), Sku.is_active).order_by(Sku.id)
        ).all()
        for sku in skus:
            check_sku(session, sku, actor_id=actor.user_id, now=now, rules=rules)
    return ref


def list_reference_prices(session: Session, *, category_id: int | None, at: datetime | None, page: int, size: int):
    stmt = sa.select(ReferencePrice)
    if category_id is not None:
        stmt = stmt.where(ReferencePrice.category_id == category_id)
    if at is not None:
        stmt = stmt.where(ReferencePrice.valid_from <= at, ReferencePrice.valid_until > at)
    return paginate(session, stmt, order_by=ReferencePrice.id.desc(), page=page, size=size)


# --- flags -------------------------------------------------------------------------------------


def _scope(actor: Actor):
    if actor.is_admin or actor.has(Role.REGULATOR):
        return None
    return sa.or_(
        PriceFlag.district_id.in_(actor.scopes(Role.CERTIFIER)),
        PriceFlag.supplier_id.in_(actor.scopes(Role.SUPPLIER_MEMBER)),
    )


def get_flag(session: Session, actor: Actor, flag_id: int, *, for_update: bool = False) -> PriceFlag:
    stmt = sa.select(PriceFlag).where(PriceFlag.id == flag_id)
    scope = _scope(actor)
    if scope is not None:
        stmt = stmt.where(scope)
    if for_update:
        stmt = stmt.with_for_update()
    flag = session.scalar(stmt)
    if flag is None:
        raise NotFound("No such price flag.")
    return flag


def list_flags(session: Session, actor: Actor, *, filters: dict, page: int, size: int):
    stmt = sa.select(PriceFlag)
    scope = _scope(actor)
    if scope is not None:
        stmt = stmt.where(scope)
    if filters.get("open") is not None:
        stmt = stmt.where(
            PriceFlag.status.in_(OPEN_STATES) if filters["open"] else PriceFlag.status.not_in(OPEN_STATES)
        )
    for key in ("status", "kind", "supplier_id", "district_id", "sku_id"):
        if filters.get(key) is not None:
            stmt = stmt.where(getattr(PriceFlag, key) == filters[key])
    return paginate(session, stmt, order_by=PriceFlag.id.desc(), page=page, size=size)


def justify_flag(session: Session, actor: Actor, flag_id: int, *, justification: str, now: datetime) -> PriceFlag:
    flag = get_flag(session, actor, flag_id, for_update=True)
    if not actor.has(Role.SUPPLIER_MEMBER, flag.supplier_id):
        raise Forbidden("Only the supplier justifies its price.")
    flag.transition(F.JUSTIFIED, actor_id=actor.user_id, at=now, reason=justification)
    flag.justification = justification
    session.flush()
    return flag


def close_flag(session: Session, actor: Actor, flag_id: int, *, note: str | None, now: datetime) -> PriceFlag:
    flag = get_flag(session, actor, flag_id, for_update=True)
    if not actor.has(Role.REGULATOR):
        raise Forbidden("Only the regulator closes a price flag.")
    if flag.status == F.CLOSED:
        raise IllegalTransition("price flag", flag.status.value, F.CLOSED.value)
    flag.transition(F.CLOSED, actor_id=actor.user_id, at=now, reason=note)
    flag.closed_by_id, flag.closed_at = actor.user_id, now
    session.flush()
    return flag
