"""Supply declarations: what a supplier expects to harvest of a certified product, what is still
unsold at origin and how long it keeps. Each declaration is a new version (history kept) and
re-assesses the product's risk at once.

Who sees what (also the risk levels): the supplier its own products, the district certifier the
products of its districts, the coordinator (the municipal office), regulators and admins all."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shop.auth.actor import Actor
from shop.auth.models import Role
from shop.catalog.models import Product, ProductKind, Sku
from shop.certification.query import product_in_force
from shop.errors import InvalidInput, NotFound
from shop.monitoring.errors import NotDeclarable
from shop.monitoring.models import SupplyDeclaration, SupplyDeclarationVersion
from shop.monitoring.risk import RiskRules, assess_products
from shop.paging import paginate
from shop.suppliers.service import require_member

FIELDS = (
    "expected_quantity",
    "expected_kg",
    "unsold_quantity",
    "unsold_kg",
    "harvest_from",
    "harvest_until",
    "keeps_days",
    "note",
)


def sees_everything(actor: Actor) -> bool:
    return actor.is_admin or actor.has(Role.COORDINATOR) or actor.has(Role.REGULATOR)


def visible_clause(actor: Actor, supplier_column, district_column) -> sa.ColumnElement[bool] | None:
    """Rows of the actor's own suppliers and certified districts; None: every row."""
    if sees_everything(actor):
        return None
    suppliers, districts = actor.scopes(Role.SUPPLIER_MEMBER), actor.scopes(Role.CERTIFIER)
    if not (suppliers or districts):
        return sa.false()
    return sa.or_(supplier_column.in_(sorted(suppliers)), district_column.in_(sorted(districts)))


def can_see(actor: Actor, supplier_id: int, district_id: int) -> bool:
    return (
        sees_everything(actor) or actor.has(Role.SUPPLIER_MEMBER, supplier_id) or actor.has(Role.CERTIFIER, district_id)
    )


def _check(data: dict) -> None:
    problems = {}
    if data["unsold_quantity"] > data["expected_quantity"]:
        problems["unsold_quantity"] = ["At most the expected quantity."]
    if data["unsold_kg"] > data["expected_kg"]:
        problems["unsold_kg"] = ["At most the expected weight."]
    if data["harvest_from"] > data["harvest_until"]:
        problems["harvest_until"] = ["Not before the harvest starts."]
    if problems:
        raise InvalidInput("The declaration does not add up.", fields=problems)


def _locked(session: Session, product_id: int) -> SupplyDeclaration | None:
    return session.scalar(
        sa.select(SupplyDeclaration)
        .where(SupplyDeclaration.product_id == product_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


def declare_supply(
    session: Session, actor: Actor, product_id: int, *, data: dict, rules: RiskRules, now: datetime
) -> SupplyDeclaration:
    """The supplier's member (or an admin) declares the product's supply now: a new version."""
    product = session.get(Product, product_id)
    if product is None:
        raise NotFound("No such product.")
    require_member(actor, product.supplier_id)
    _check(data)
    in_force = session.scalar(sa.select(product_in_force(sa.literal(product_id), now)))
    if product.kind != ProductKind.GOODS or not in_force:
        raise NotDeclarable(product_id=product_id)
    unit = session.scalar(sa.select(Sku.unit).where(Sku.product_id == product_id).order_by(Sku.id).limit(1)) or ""
    declaration = _locked(session, product_id)
    if declaration is None:
        declaration = SupplyDeclaration(
            product_id=product_id,
            supplier_id=product.supplier_id,
            district_id=product.origin_district_id,
            version=0,
            declared_at=now,
            **{key: data.get(key, "") if key == "note" else data[key] for key in FIELDS},
            unit=unit,
        )
        try:
            with session.begin_nested():
                session.add(declaration)
                session.flush()
        except IntegrityError:  # a first declaration of the same product committed meanwhile
            declaration = _locked(session, product_id)
    for key in FIELDS:
        setattr(declaration, key, data.get(key) or "" if key == "note" else data[key])
    declaration.unit = unit
    declaration.version += 1
    declaration.declared_by_id = actor.user_id
    declaration.declared_at = now
    session.add(
        SupplyDeclarationVersion(
            product_id=product_id,
            version=declaration.version,
            declared_by_id=actor.user_id,
            declared_at=now,
            **{key: getattr(declaration, key) for key in FIELDS},
        )
    )
    session.flush()
    assess_products(session, rules, now, [product_id])
    return declaration


def get_declaration(session: Session, actor: Actor, product_id: int) -> dict:
    declaration = session.get(SupplyDeclaration, product_id)
    if declaration is None or not can_see(actor, declaration.supplier_id, declaration.district_id):
        raise NotFound("No declaration of this product.")
    history = session.scalars(
        sa.select(SupplyDeclarationVersion)
        .where(SupplyDeclarationVersion.product_id == product_id)
        .order_by(SupplyDeclarationVersion.version.desc())
    ).all()
    return {"declaration": declaration, "history": list(history)}


def list_declarations(session: Session, actor: Actor, *, filters: dict, page: int, size: int):
    stmt = sa.select(SupplyDeclaration)
    clause = visible_clause(actor, SupplyDeclaration.supplier_id, SupplyDeclaration.district_id)
    if clause is not None:
        stmt = stmt.where(clause)
    for key in ("district_id", "supplier_id"):
        if filters.get(key) is not None:
            stmt = stmt.where(getattr(SupplyDeclaration, key) == filters[key])
    return paginate(session, stmt, order_by=SupplyDeclaration.product_id, page=page, size=size)
