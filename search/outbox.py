"""Keeping the indexes true without touching the services that change the catalog.

A session listener notices, at every flush, the rows that shape a search document (products, SKUs,
labels, certifications; brands, suppliers, categories, districts and townships whose names or flags
show in documents; orders completed and order lines refunded, which change sales) and, in the same
transaction:

- writes one `search_outbox` row per product affected, for the engine's sync loop to apply;
- remembers the products, and just before the transaction commits rebuilds their rows of the
  embedded backend, so the database's own index is exactly as true as the database.

Stock movements (sales over the counter, receipts, reservations, returns...) are appended to the
ledger with Core statements, which no flush sees: the listener notes their SKUs as they are sent
and, just before commit, writes the outbox rows of their products (one statement, certified
products only). Those documents (sales, availability) reach both backends through the drain,
right after the commit, so a sale stays a handful of statements.

Changes made with plain SQL bypass this (bulk loads): run `flask search reindex` after them.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy import event, inspect
from sqlalchemy.orm import Session

from search.models import SearchOutbox
from shop import clock
from shop.catalog.models import Brand, Category, Product, ProductLabel, Sku
from shop.certification.models import Certification, CertStatus
from shop.inventory.models import Location, Movement, StockLevel
from shop.orders.models import Order, OrderLine
from shop.reference.models import District, Township
from shop.suppliers.models import Supplier

PENDING = "search_pending"  # session.info key: product ids whose embedded rows need a rebuild
WRITTEN = "search_outbox_written"  # session.info key: the transaction wrote outbox rows
MOVED = "search_moved_skus"  # session.info key: SKUs whose stock moved in this transaction

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
    # sales: an order completes, a line is refunded
    Order: ({"completed_at"}, lambda ids: sa.select(OrderLine.product_id).where(OrderLine.order_id.in_(ids))),
    OrderLine: ({"refunded_quantity"}, lambda ids: sa.select(OrderLine.product_id).where(OrderLine.id.in_(ids))),
    # availability: a location closes or reopens
    Location: (
        {"is_active", "kind"},
        lambda ids: (
            sa.select(Sku.product_id)
            .join(StockLevel, StockLevel.sku_id == Sku.id)
            .where(StockLevel.location_id.in_(ids))
        ),
    ),
}
MOVEMENTS = Movement.__table__
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


def _on_execute(state) -> None:
    """Note the SKUs of stock movements appended with a Core INSERT (see the module doc)."""
    if not (state.is_insert and state.statement.table is MOVEMENTS):
        return
    params = state.parameters
    rows = params if isinstance(params, list) else [params or {}]
    state.session.info.setdefault(MOVED, set()).update(row["sku_id"] for row in rows if row.get("sku_id"))


def enqueue_products(session: Session, product_ids, *, rebuild_before_commit: bool = True) -> None:
    """Write outbox rows for products whose documents changed by rows the listener does not watch
    (a campaign opening or closing, a risk level, a quarantine). With `rebuild_before_commit` their
    embedded rows are rebuilt before the commit too (which locks the products' rows then); without,
    both backends get them from the drain right after the commit, as stock movements do: for a
    transaction that holds stock levels, or one of thousands of products."""
    ids = sorted(set(product_ids))
    if not ids:
        return
    now = clock.now()
    session.execute(sa.insert(SearchOutbox.__table__), [{"product_id": pid, "created_at": now} for pid in ids])
    if rebuild_before_commit:
        session.info.setdefault(PENDING, set()).update(ids)
    session.info[WRITTEN] = True


def _enqueue_moved() -> sa.Insert:
    # the tables' columns: a Core statement, with less Python per run than an ORM one
    skus, certifications = Sku.__table__.c, Certification.__table__.c
    certified = sa.exists().where(
        certifications.product_id == skus.product_id, certifications.status == CertStatus.PUBLISHED
    )
    products = (
        sa.select(skus.product_id, sa.bindparam("now", type_=SearchOutbox.created_at.type))
        .where(skus.id.in_(sa.bindparam("sku_ids", expanding=True)), certified)
        .distinct()
    )
    table = SearchOutbox.__table__
    return table.insert().from_select([table.c.product_id, table.c.created_at], products)


_ENQUEUE_MOVED = _enqueue_moved()  # built once: every stock movement runs it


def with_moved_rows(statement: sa.Insert) -> sa.Insert:
    """`statement`, writing besides the outbox rows of the products of the SKUs of bind parameter
    `sku_ids` whose stock is about to move (with bind parameter `now`; certified products only), as
    `enqueue_moved` does: for a use case that moves stock by statements no flush sees, and has a
    statement to send first anyway. Its RETURNING gains `outbox_rows`, the rows written, for
    `note_written`."""
    moved = _ENQUEUE_MOVED.returning(SearchOutbox.__table__.c.product_id).cte("moved_products")
    written = sa.select(sa.func.count()).select_from(moved).scalar_subquery()
    return statement.add_cte(moved).returning(written.label("outbox_rows"))


def note_written(session: Session, rows: int) -> None:
    """The transaction wrote `rows` outbox rows by a statement of `with_moved_rows`."""
    if rows:
        session.info[WRITTEN] = True


def enqueue_moved(session: Session) -> None:
    """Write the outbox rows of the products whose stock moved in this transaction."""
    skus = session.info.pop(MOVED, None)
    if not skus:
        return
    result = session.execute(_ENQUEUE_MOVED, {"sku_ids": sorted(skus), "now": clock.now()})
    if result.rowcount:
        session.info[WRITTEN] = True


def enqueue_selected(session: Session, product_ids: sa.Select) -> None:
    """Write outbox rows for the products a query selects, whose documents changed through plain
    statements no flush sees (a slot's booked count, say); certified products only."""
    certified = sa.exists().where(Certification.product_id == Product.id, Certification.status == CertStatus.PUBLISHED)
    products = (
        sa.select(Product.id, sa.literal(clock.now(), SearchOutbox.created_at.type))
        .where(Product.id.in_(product_ids), certified)
        .distinct()
    )
    table = SearchOutbox.__table__
    result = session.execute(
        table.insert().from_select([table.c.product_id, table.c.created_at], products),
        execution_options={"synchronize_session": False},
    )
    if result.rowcount:
        session.info[WRITTEN] = True


def _before_commit(session: Session) -> None:
    enqueue_moved(session)
    refresh_embedded(session)


def refresh_embedded(session: Session) -> None:
    """Rebuild the embedded rows of the products changed so far in this transaction."""
    for _ in range(5):  # building may autoflush more changes; settle them
        session.flush()
        ids = session.info.pop(PENDING, None)
        if not ids:
            return
        rebuild_embedded(session, ids)


def rebuild_embedded(session: Session, product_ids, *, lock: bool = True) -> dict:
    """Rebuild the embedded rows of these products from the database; return their documents."""
    from search.documents import build_documents
    from search.embedded_backend import EmbeddedBackend

    ordered = sorted(set(product_ids))
    if lock:
        # Serialise rebuilds of one product across changing transactions, so the last to commit
        # has seen the other's change (PostgreSQL; SQLite has one writer at a time anyway). The
        # drain needs no lock: a change committed behind its back has an outbox row it did not
        # read, so the next drain rebuilds again.
        session.execute(sa.select(Product.id).where(Product.id.in_(ordered)).order_by(Product.id).with_for_update())
    documents = build_documents(session, ordered)
    EmbeddedBackend(session).apply(documents)
    return documents


def _after_commit(session: Session) -> None:
    if session.info.pop(WRITTEN, False) and after_commit_hook is not None:
        after_commit_hook()


# Called after a commit that wrote outbox rows (the web layer sets it to drain the outbox).
after_commit_hook = None


def _after_rollback(session: Session) -> None:
    session.info.pop(PENDING, None)
    session.info.pop(WRITTEN, None)
    session.info.pop(MOVED, None)


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
    event.listen(Session, "do_orm_execute", _on_execute)
    _installed = True
