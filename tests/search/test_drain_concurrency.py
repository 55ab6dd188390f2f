"""The drain after commit, on a file SQLite database, with writers committing beside it (as under
`make run`: gunicorn workers writing, each with its drain): no "database is locked", no traceback,
nothing lost."""

from __future__ import annotations

import logging
import threading

import pytest
import sqlalchemy as sa

from search import extension
from search.embedded_backend import EmbeddedBackend
from search.maintenance import check
from search.models import SearchDocument, SearchOutbox
from shop import create_app, migrate
from shop.catalog import service as catalog
from shop.db import transaction
from tests import factories
from tests.conftest import TEST_CONFIG

WRITERS = 3
WRITES = 25
DRAINERS = 2


@pytest.fixture
def sqlite_app(tmp_path):
    url = f"sqlite:///{tmp_path / 'drain.db'}"
    migrate.upgrade(url)
    app = create_app({**TEST_CONFIG, "DATABASE_URL": url})
    yield app
    app.extensions["shop"]["engine"].dispose()


def test_drain_beside_concurrent_writers_on_sqlite_loses_nothing_and_never_fails(sqlite_app, caplog):
    app = sqlite_app
    factory = app.extensions["shop"]["sessionmaker"]
    ext = extension(app)
    with transaction(factory) as session:
        make = factories.Factory(app, session)
        products = []
        for n in range(WRITERS):
            product = make.product(name=f"城口腊肉 {n}")
            make.certified(product)
            products.append(product.id)
        admin_id = make.admin.user_id
    assert ext.drain().error is None

    stop = threading.Event()
    failures: list[BaseException] = []

    def writer(product_id: int):
        try:
            for n in range(WRITES):
                with transaction(factory, write=True) as session:
                    from shop.auth import service as auth_service

                    actor = auth_service.load_actor(session, admin_id)
                    catalog.update_product(session, actor, product_id, data={"name": f"城口腊肉 {product_id}-{n}"})
        except BaseException as error:
            failures.append(error)

    def drainer():
        try:
            while not stop.is_set():
                ext.drain()
        except BaseException as error:
            failures.append(error)

    caplog.set_level(logging.WARNING)
    drains = [threading.Thread(target=drainer) for _ in range(DRAINERS)]
    writes = [threading.Thread(target=writer, args=(pid,)) for pid in products]
    for thread in drains + writes:
        thread.start()
    for thread in writes:
        thread.join()
    stop.set()
    for thread in drains:
        thread.join()

    assert failures == []
    locked = [r.getMessage() for r in caplog.records if "locked" in r.getMessage() or r.exc_info]
    assert locked == []
    final = ext.drain(force=True)
    assert (final.error, final.skipped, final.remaining) == (None, None, 0)
    with transaction(factory) as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(SearchOutbox)) == 0
        names = dict(session.execute(sa.select(SearchDocument.product_id, SearchDocument.name)).all())
        assert names == {pid: f"城口腊肉 {pid}-{WRITES - 1}" for pid in products}
        assert check(session, EmbeddedBackend(session)) == []
