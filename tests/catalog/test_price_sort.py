"""The price sorts read each product's lowest active price, which the database keeps with every SKU
insert, price change, deactivation and delete, in the changing transaction, on both databases."""

import threading
import time

import sqlalchemy as sa

from shop.auth.models import Role
from shop.catalog import service as catalog
from shop.catalog.models import Product, Sku
from shop.db import transaction
from tests.factories import Factory


def _order(client, sort: str, ids: set[int]) -> list[int]:
    body = client.get(f"/api/v1/products?size=100&sort={sort}").json
    return [item["id"] for item in body["items"] if item["id"] in ids]


def _stored(session, product_id: int) -> int | None:
    return session.scalar(
        sa.select(Product.price_min_fen).where(Product.id == product_id).execution_options(populate_existing=True)
    )


def test_the_price_sorts_follow_every_change_of_a_sku(client, make, session):
    cheap, middle, dear = (make.certified(make.product(price_fen=p)).product for p in (500, 1500, 2500))
    ids = {cheap.id, middle.id, dear.id}
    assert _order(client, "price", ids) == [cheap.id, middle.id, dear.id]
    assert _order(client, "-price", ids) == [dear.id, middle.id, cheap.id]
    member = make.headers(make.user((Role.SUPPLIER_MEMBER, dear.supplier_id)))

    added = client.post(
        f"/api/v1/products/{dear.id}/skus",
        json={"code": f"S-{dear.id}", "price_fen": 100, "unit": "bag"},
        headers=member,
    )
    assert added.status_code == 201
    assert _order(client, "price", ids) == [dear.id, cheap.id, middle.id]
    assert _stored(session, dear.id) == 100

    assert (
        client.patch(f"/api/v1/skus/{added.json['id']}", json={"is_active": False}, headers=member).status_code == 200
    )
    assert _order(client, "price", ids) == [cheap.id, middle.id, dear.id]
    assert _stored(session, dear.id) == 2500

    cheap_member = make.headers(make.user((Role.SUPPLIER_MEMBER, cheap.supplier_id)))
    patched = client.patch(f"/api/v1/skus/{cheap.skus[0].id}", json={"price_fen": 9900}, headers=cheap_member)
    assert patched.status_code == 200
    assert _order(client, "price", ids) == [middle.id, dear.id, cheap.id]
    assert _stored(session, cheap.id) == 9900


def test_a_product_without_an_active_sku_has_no_lowest_price(make, session):
    product = make.product(price_fen=700)
    assert _stored(session, product.id) == 700
    session.execute(sa.update(Sku).where(Sku.product_id == product.id).values(is_active=False))
    assert _stored(session, product.id) is None
    session.execute(sa.insert(Sku).values(product_id=product.id, code=f"X-{product.id}", price_fen=300, unit="kg"))
    assert _stored(session, product.id) == 300
    session.execute(sa.delete(Sku).where(Sku.code == f"X-{product.id}"))
    assert _stored(session, product.id) is None
    session.execute(sa.update(Sku).where(Sku.product_id == product.id).values(is_active=True, price_fen=650))
    assert _stored(session, product.id) == 650


def test_a_change_waiting_on_another_reads_the_skus_after_it_commits(committed_app):
    """On PostgreSQL, with real commits: one transaction lowers a SKU to 50 and holds its product; a
    second raises another SKU of it to 100 and waits. Its minimum must count the first's 50, read
    after the first commits, not the 5,000 its own snapshot held when it started."""
    factory = committed_app.extensions["shop"]["sessionmaker"]
    with committed_app.app_context(), transaction(factory) as session:
        make = Factory(committed_app, session)
        product = make.certified(make.product(price_fen=5000)).product
        catalog.add_sku(
            session, make.admin, product.id, data={"code": f"P-{product.id}", "price_fen": 5000, "unit": "kg"}
        )
        product_id = product.id
        first_sku, second_sku = session.scalars(sa.select(Sku.id).where(Sku.product_id == product_id).order_by(Sku.id))
    engine = committed_app.extensions["shop"]["engine"]
    price = sa.update(Sku).where(Sku.id == sa.bindparam("sku")).values(price_fen=sa.bindparam("price"))

    def second():
        with engine.begin() as conn:
            conn.execute(price, {"sku": second_sku, "price": 100})

    with engine.connect() as first:
        with first.begin():
            first.execute(price, {"sku": first_sku, "price": 50})
            waiting = threading.Thread(target=second)
            waiting.start()
            with engine.connect() as watcher:
                for _ in range(500):
                    if watcher.scalar(sa.text("SELECT count(*) FROM pg_locks WHERE NOT granted")):
                        break
                    time.sleep(0.01)
                else:
                    raise AssertionError("the second change never waited for the first")
        waiting.join()
    with transaction(factory) as session:
        assert _stored(session, product_id) == 50
