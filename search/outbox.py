"""Keeping the indexes true without touching the services that change the catalog.

A session listener notices, at every flush, the rows that shape a search document (products, SKUs,
labels, certifications; brands, suppliers, categories, districts and townships whose names or flags
show in documents) and, in the same transaction:

- writes one `search_outbox` row per product affected, for the engine's sync loop to apply;
- remembers the products, and just before the transaction commits rebuilds their rows of the
  embedded backend, so the database's own index is exactly as true as the database.

Changes made with plain SQL bypass this (bulk loads): run `flask search reindex` after them.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy import event, inspect
from sqlalchemy.orm import Session

from search.models import SearchOutbox
from shop import clock
from shop.catalog.models import Brand, Category, Product, ProductLabel, Sku
from shop.certification.models import Certification
from shop.reference.models import District, Township
from shop.suppliers.models import Supplier

PENDING = "search_pending"  # session.info key: product ids whose embedded rows need a rebuild
WRITTEN = "search_outbox_written"  # session.info key: the transaction wrote outbox rows

# Attributes of related rows that show in documents: a change to one touches all their products.
RELATED = {
    Brand: ({"name", "tier"}, lambda ids: sa.select(Product.id).where(Product.brand_id.in_(ids))),
    Supplier: ({"name"}, lambda ids: sa.select(Product.id).where(Product.supplier_id.in_(ids))),
    Category: (
        {"name", "path", "parent_id"},
        lambda ids: sa.select(Product.id).where(
            Product.category_id.in_(
                sa.select(Category.id).where(sa.or_(Category.id.in_(ids), Category.parent_id.in_(ids)))
            )
        ),
    ),
    District: (
        {"name", "name_en", "poverty_alleviated"},
        lambda ids: sa.select(Product.id).where(Product.origin_district_id.in_(ids)),
    ),
    Township: (
        {"name", "name_en", "deep_poverty"},
        lambda ids: sa.select(Product.id).where(Product.origin_township_id.in_(ids)),
    ),
}
CERTIFICATION_FIELDS = {"status", "valid_from", "valid_until", "product_id"}


def _changed(obj, fields: set[str] | None = None) -> bool:
    attrs = inspect(obj).attrs
    return any((fields is None or attr.key in fields) and attr.history.has_changes() for attr in attrs)


def affected_products(session: Session) -> set[int]:
    ids: set[int] = set()
    related: dict[type, set[int]] = {}
    for obj in [*session.new, *session.dirty, *session.deleted]:
        dirty = obj not in session.new and obj not in session.deleted
        if isinstance(obj, Product):
            if not dirty or _changed(obj):
                ids.add(obj.id)
        elif isinstance(obj, Sku | ProductLabel):
            if not dirty or _changed(obj):
                ids.add(obj.product_id)
                history = inspect(obj).attrs.product_id.history
                ids.update(pid for pid in history.deleted or () if pid is not None)
        elif isinstance(obj, Certification):
            if not dirty or _changed(obj, CERTIFICATION_FIELDS):
                ids.add(obj.product_id)
        elif type(obj) in RELATED and dirty and _changed(obj, RELATED[type(obj)][0]):
            related.setdefault(type(obj), set()).add(obj.id)
    for model, model_ids in related.items():
        ids.update(session.connection().scalars(RELATED[model][1](sorted(model_ids))))
    ids.discard(None)
    return ids


def _after_flush(session: Session, _flush_context) -> None:
    ids = affected_products(session)
    if not ids:
        return
    now = clock.now()
    session.connection().execute(
        sa.insert(SearchOutbox.__table__), [{"product_id": pid, "created_at": now} for pid in sorted(ids)]
    )
    session.info.setdefault(PENDING, set()).update(ids)
    session.info[WRITTEN] = True


def _before_commit(session: Session) -> None:
    refresh_embedded(session)


def refresh_embedded(session: Session) -> None:
    """Rebuild the embedded rows of the products changed so far in this transaction."""
    from search.documents import build_documents
    from search.embedded_backend import EmbeddedBackend

    for _ in range(5):  # building may autoflush more changes; settle them
        session.flush()
        ids = session.info.pop(PENDING, None)
        if not ids:
            return
        ordered = sorted(ids)
        # Serialise rebuilds of one product across transactions, so the last to commit has seen
        # the other's change (PostgreSQL; SQLite has one writer at a time anyway).
        session.execute(sa.select(Product.id).where(Product.id.in_(ordered)).order_by(Product.id).with_for_update())
        EmbeddedBackend(session).apply(build_documents(session, ordered))


def _after_commit(session: Session) -> None:
    if session.info.pop(WRITTEN, False) and after_commit_hook is not None:
        after_commit_hook()


# Called after a commit that wrote outbox rows (the web layer sets it to drain the outbox).
after_commit_hook = None


def _after_rollback(session: Session) -> None:
    session.info.pop(PENDING, None)
    session.info.pop(WRITTEN, None)


_installed = False


def install() -> None:
    """Listen on every Session (idempotent)."""
    global _installed
    if _installed:
        return
    event.listen(Session, "after_flush", _after_flush)
    event.listen(Session, "before_commit", _before_commit)
    event.listen(Session, "after_commit", _after_commit)
    event.listen(Session, "after_rollback", _after_rollback)
    _installed = True
