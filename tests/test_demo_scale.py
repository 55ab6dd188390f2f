"""`flask demo scale` at a tiny fraction: the data agrees with every check the slices have."""

import sqlalchemy as sa

from search import maintenance
from search.embedded_backend import EmbeddedBackend
from shop import clock
from shop.catalog.models import Product, Sku
from shop.certification.models import Certification
from shop.certification.query import in_force
from shop.demo import scale
from shop.inventory.ledger import check_balances
from shop.orders.models import Order, OrderLine, OrderStatus
from shop.points import service as points
from shop.statistics import facts, rollups
from shop.statistics.models import Channel, SalesFact

TINY = scale.Scale().times(0.0002)  # 60 products, 200 orders, 200 counter sales, 4 counters under 2 halls


def test_tiny_scale_is_consistent(app, client, session, connection):
    now = clock.now()
    counts = scale.fill(connection, TINY, now)
    scale.index_and_fold(app.extensions["shop"]["sessionmaker"], now)
    scale.analyze(connection)
    assert counts["products"] == TINY.products and counts["orders"] == TINY.orders

    # the checks of the slices
    assert facts.check(session) == []
    assert rollups.check(session) == []
    assert check_balances(session) == []
    assert points.check(session) == []
    assert maintenance.check(session, EmbeddedBackend(session)) == []

    # every product has a priced SKU; most are in force, and only those sold
    assert session.scalar(sa.select(sa.func.count()).select_from(Product).where(~Product.skus.any())) == 0
    assert session.scalar(sa.select(sa.func.min(Sku.price_fen))) > 0
    certified = set(session.scalars(sa.select(Certification.product_id).where(in_force(now))))
    assert len(certified) > TINY.products // 2
    sold = set(session.scalars(sa.select(OrderLine.product_id).distinct()))
    sold |= set(session.scalars(sa.select(SalesFact.product_id).distinct()))
    assert sold and sold <= certified

    # one fact per line of a completed order, one per counter sale
    completed_lines = session.scalar(
        sa.select(sa.func.count())
        .select_from(OrderLine)
        .join(Order, Order.id == OrderLine.order_id)
        .where(Order.status == OrderStatus.COMPLETED)
    )
    online = session.scalar(sa.select(sa.func.count()).where(SalesFact.channel == Channel.ONLINE))
    counter = session.scalar(sa.select(sa.func.count()).where(SalesFact.channel == Channel.COUNTER))
    assert online == completed_lines > 0
    assert counter == counts["stock_movements"] - counts["stock_levels"] + _empty_receipts(session)

    # the catalog serves it, and the scale's buyers and coordinator log in
    page = client.get("/api/v1/products?size=20").json
    assert page["items"] and all(item["id"] in certified for item in page["items"])
    for login in ("buyer0@scale.cq", "coordinator@scale.cq"):
        token = client.post("/api/v1/auth/token", json={"login": login, "password": scale.SCALE_PASSWORD})
        assert token.status_code == 200, login


def _empty_receipts(session) -> int:
    """Stock levels with no receipt (a counter that had nothing of a SKU left and sold none)."""
    return session.scalar(
        sa.text(
            "SELECT count(*) FROM stock_levels sl WHERE NOT EXISTS (SELECT 1 FROM stock_movements m "
            "WHERE m.location_id = sl.location_id AND m.sku_id = sl.sku_id AND m.kind = 'receive')"
        )
    )


def test_scale_fractions_shrink_every_count_and_keep_a_floor():
    assert scale.Scale().products == 300_000 and scale.Scale().orders == 1_000_000
    small = scale.Scale().times(0.01)
    assert (small.products, small.suppliers, small.counters, small.halls) == (3_000, 200, 100, 2)
    assert scale.Scale().times(1e-9).products == 20


def test_a_database_with_products_is_filled_already(session, connection, make):
    assert not scale.is_filled(connection)
    make.product()
    session.flush()
    assert scale.is_filled(connection)
