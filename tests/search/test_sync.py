"""The outbox is written in the changing transaction; the sync applies it with back-off; reindex
swaps the alias; check lists drift; with the engine unreachable, search degrades and catches up."""

from __future__ import annotations

import contextlib
import socket
import threading
from datetime import timedelta

import sqlalchemy as sa

from search import extension
from search.backend import SearchQuery
from search.embedded_backend import EmbeddedBackend
from search.maintenance import check, reindex_embedded, reindex_engine
from search.models import SearchDocument, SearchOutbox, SearchSyncState
from search.sync import ENGINE
from shop import clock
from shop.auth.models import Role
from shop.catalog import service as catalog
from tests.factories import FENGJIE, WUSHAN
from tests.search.conftest import engine_backend


def _outbox(session) -> list[int]:
    return list(session.scalars(sa.select(SearchOutbox.product_id).order_by(SearchOutbox.id)))


def test_changes_write_the_outbox_in_their_own_transaction(make, session):
    product = make.product(name="腊肉")
    make.certified(product)
    assert product.id in _outbox(session)
    session.execute(sa.delete(SearchOutbox))
    savepoint = session.begin_nested()
    catalog.update_product(session, make.admin, product.id, data={"description": "烟熏"})
    assert _outbox(session) == [product.id]
    savepoint.rollback()  # the change is undone, and so is its outbox row
    assert _outbox(session) == []
    brand = make.brand()
    catalog.update_product(session, make.admin, product.id, data={"brand_id": brand.id})
    session.execute(sa.delete(SearchOutbox))
    brand.name = "新品牌"
    session.flush()
    assert _outbox(session) == [product.id]


def test_http_write_keeps_embedded_rows_true_at_commit_and_drains(client, make, session):
    supplier = make.supplier(WUSHAN)
    member = make.user((Role.SUPPLIER_MEMBER, supplier.id))
    product = make.product(supplier, name="巫山烤鱼")
    make.certified(product)
    session.commit()  # the test's own "commit": embedded rows rebuilt
    assert session.get(SearchDocument, product.id).name == "巫山烤鱼"
    response = client.patch(f"/api/v1/products/{product.id}", json={"name": "巫山纸包鱼"}, headers=make.headers(member))
    assert response.status_code == 200
    session.expire_all()
    assert session.get(SearchDocument, product.id).name == "巫山纸包鱼"
    assert _outbox(session) == []  # drained after the request's commit (no engine: nothing to send)
    found = client.get("/api/v1/search", query_string={"q": "纸包鱼"}).json
    assert [item["id"] for item in found["items"]] == [product.id]


def test_check_lists_drift_and_reindex_repairs_it(make, session, engine_in_app, app):
    products = [make.product(name=f"榨菜 {n}") for n in range(3)]
    for product in products:
        make.certified(product)
    factory = app.extensions["shop"]["sessionmaker"]
    report = extension(app).drain()
    assert report.applied > 0 and (report.remaining, report.error) == (0, None)
    session.commit()
    embedded = EmbeddedBackend(session)
    assert check(session, engine_in_app) == []
    assert check(session, embedded) == []

    # drift the ways it happens: a write behind the outbox's back, a lost document
    session.execute(sa.text("UPDATE products SET name = '榨菜 改' WHERE id = :id"), {"id": products[0].id})
    engine_in_app.client.delete(index=engine_in_app.alias, id=str(products[1].id))
    drift = {(d.product_id, d.problem) for d in check(session, engine_in_app)}
    assert drift == {(products[0].id, "differs"), (products[1].id, "missing")}
    assert [(d.product_id, d.problem) for d in check(session, embedded)] == [(products[0].id, "differs")]
    assert "name" in check(session, embedded)[0].fields

    old = engine_in_app.indices_behind_alias()
    seen = []
    name, total = reindex_engine(factory, engine_in_app, seen.append)
    assert (total, sum(seen)) == (3, 3)
    assert engine_in_app.indices_behind_alias() == [name] and name not in old
    assert not engine_in_app.client.indices.exists(index=old[0])
    reindex_embedded(session, lambda n: None)
    assert check(session, engine_in_app) == []
    assert check(session, embedded) == []


def test_embedded_reindex_rebuilds_the_text_index_and_keeps_it_in_step_after(make, session):
    """The reindex (SQLite: the text index rebuilt once, its triggers off meanwhile) finds what the
    rows say, drops what they no longer say, and later writes keep the text index in step."""
    products = [make.product(name=f"榨菜 {n}") for n in range(3)]
    for product in products:
        make.certified(product)
    session.commit()
    session.execute(sa.text("UPDATE products SET name = '腊肉 改' WHERE id = :id"), {"id": products[0].id})
    backend = EmbeddedBackend(session)

    def found(text: str) -> list[int]:
        return sorted(hit.id for hit in backend.search(SearchQuery(text=text, now=clock.now())).hits)

    reindex_embedded(session, lambda n: None)
    assert found("榨菜") == [products[1].id, products[2].id]
    assert found("腊肉") == [products[0].id]
    if session.get_bind().dialect.name == "sqlite":
        session.execute(sa.text("INSERT INTO search_fts(search_fts) VALUES ('integrity-check')"))
    catalog.update_product(session, make.admin, products[1].id, data={"name": "蜂蜜"})
    session.commit()
    assert found("榨菜") == [products[2].id]
    assert found("蜂蜜") == [products[1].id]


def test_a_document_without_the_derived_in_force_fields_is_drift_and_out_of_search(make, session, engine_in_app, app):
    """An index built before the in-force fields were derived holds documents without them: check
    says so (field by field) and the search does not find them, until a reindex."""
    from search.elasticsearch_backend import DERIVED_FIELDS

    product = make.product(name="榨菜 老")
    make.certified(product)
    extension(app).drain()
    session.commit()
    stored = engine_in_app.client.get(index=engine_in_app.alias, id=str(product.id))["_source"]
    assert set(DERIVED_FIELDS) <= stored.keys()
    old = {k: v for k, v in stored.items() if k not in DERIVED_FIELDS}
    engine_in_app.client.index(index=engine_in_app.alias, id=str(product.id), document=old, refresh=True)
    [drift] = check(session, engine_in_app)
    assert (drift.product_id, drift.problem, set(drift.fields)) == (product.id, "differs", set(DERIVED_FIELDS))
    assert engine_in_app.search(SearchQuery(now=clock.now())).total == 0
    reindex_engine(app.extensions["shop"]["sessionmaker"], engine_in_app, lambda n: None)
    assert check(session, engine_in_app) == []
    assert [h.id for h in engine_in_app.search(SearchQuery(now=clock.now())).hits] == [product.id]


def test_an_index_of_an_older_layout_is_not_searched_until_a_reindex(make, session, engine_in_app, app, client):
    """After an upgrade that changes the documents, the alias may still point at an index built before
    it: its answers would be wrong (the in-force fields are missing), so the database answers,
    degraded, until a reindex builds an index of this layout."""
    from search.elasticsearch_backend import DERIVED_FIELDS, MAPPINGS, index_settings

    product = make.product(name="榨菜 老")
    make.certified(product)
    extension(app).drain()
    session.commit()
    engine = engine_in_app
    stored = engine.client.get(index=engine.alias, id=str(product.id))["_source"]
    older = f"{engine.alias}-older"
    engine.client.indices.create(
        index=older,
        settings=index_settings(engine.analyzer),
        mappings={key: value for key, value in MAPPINGS.items() if key != "_meta"},
    )
    document = {k: v for k, v in stored.items() if k not in DERIVED_FIELDS}
    engine.client.index(index=older, id=str(product.id), document=document, refresh=True)
    current = engine.indices_behind_alias()
    engine.client.indices.update_aliases(
        actions=[
            *({"remove": {"index": i, "alias": engine.alias}} for i in current),
            {"add": {"index": older, "alias": engine.alias}},
        ]
    )
    engine._layout_checked_at = None  # a worker that has not checked since the alias moved

    body = client.get("/api/v1/search", query_string={"q": "榨菜"}).json
    assert body["degraded"] is True and [item["id"] for item in body["items"]] == [product.id]
    assert client.get("/api/v1/search/suggest", query_string={"q": "榨"}).json["degraded"] is True

    reindex_engine(app.extensions["shop"]["sessionmaker"], engine, lambda n: None)
    body = client.get("/api/v1/search", query_string={"q": "榨菜"}).json
    assert body["degraded"] is False and [item["id"] for item in body["items"]] == [product.id]


class Partition:
    """A TCP relay to the engine that can be cut: with it down, the engine is unreachable."""

    def __init__(self, target_port: int):
        self.target = target_port
        self.up = True
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.live: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if not self.up:
                client.close()
                continue
            upstream = socket.create_connection(("127.0.0.1", self.target))
            self.live += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source, sink):
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def cut(self):
        self.up = False
        for s in self.live:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
        self.live.clear()

    def restore(self):
        self.up = True

    def retarget(self, port: int):
        """Point the relay at another engine: to its clients, the engine restarted."""
        self.cut()
        self.target = port
        self.restore()

    def close(self):
        self.cut()
        self.listener.close()


def test_engine_unreachable_degrades_to_the_database_then_catches_up(client, make, session, app, osmem):
    from urllib.parse import urlparse

    partition = Partition(urlparse(osmem.url).port)
    ext = extension(app)
    saved = ext.engine, ext.breaker.seconds
    ext.engine = engine_backend(f"http://127.0.0.1:{partition.port}")
    ext.breaker.seconds = 0
    try:
        honey = make.product(make.supplier(FENGJIE), name="奉节蜂蜜")
        make.certified(honey)
        session.commit()
        assert ext.drain().error is None
        body = client.get("/api/v1/search", query_string={"q": "蜂蜜"}).json
        assert (body["degraded"], body["backend"], [i["id"] for i in body["items"]]) == (
            False,
            "elasticsearch",
            [honey.id],
        )

        partition.cut()  # mid-way: the engine goes away; writes keep coming
        newer = make.product(make.supplier(WUSHAN), name="巫山蜂蜜")
        make.certified(newer)
        catalog.update_product(session, make.admin, honey.id, data={"name": "奉节土蜂蜜"})
        session.commit()
        body = client.get("/api/v1/search", query_string={"q": "蜂蜜", "sort": "newest"}).json
        assert (body["degraded"], body["backend"]) == (True, "embedded")
        assert [i["id"] for i in body["items"]] == [newer.id, honey.id]
        assert client.get("/api/v1/search/suggest", query_string={"q": "wushan"}).json["degraded"] is True

        queued = len(_outbox(session))
        failed = ext.drain()
        assert failed.error and failed.applied == 0 and failed.remaining == queued > 0
        state = session.get(SearchSyncState, ENGINE)
        session.refresh(state)
        assert state.failures == 1 and state.next_attempt_at is not None
        assert ext.drain().skipped == "backing_off"  # no hammering a down engine
        assert len(_outbox(session)) == queued  # nothing lost

        partition.restore()
        with clock.frozen_at(state.next_attempt_at + timedelta(seconds=1)):
            caught_up = ext.drain()
        assert (caught_up.error, caught_up.remaining) == (None, 0)
        session.refresh(state)
        assert state.failures == 0
        body = client.get("/api/v1/search", query_string={"q": "蜂蜜", "sort": "newest"}).json
        assert (body["degraded"], body["backend"]) == (False, "elasticsearch")
        assert [(i["id"], i["name"]) for i in body["items"]] == [(newer.id, "巫山蜂蜜"), (honey.id, "奉节土蜂蜜")]
        assert check(session, ext.engine) == []
    finally:
        ext.engine, ext.breaker.seconds = saved
        ext.breaker.succeeded()
        partition.close()


def test_engine_restarted_empty_is_rebuilt_by_sync_and_check(client, make, session, app):
    """The engine comes back empty: writes never land in an index it would make up under the alias's
    name, the sync and the check see the alias is gone and rebuild the index from the database, and
    reindex clears what an older version left behind (an index squatting on the alias, orphans)."""
    from urllib.parse import urlparse

    from osmem_server import OsmemServer

    from search.backend import AliasMissing

    first, second, third = (OsmemServer.start(addr="127.0.0.1:0") for _ in range(3))
    relay = Partition(urlparse(first.url).port)
    ext = extension(app)
    saved = ext.engine, ext.breaker.seconds
    ext.engine = engine = engine_backend(f"http://127.0.0.1:{relay.port}")
    ext.breaker.seconds = 0
    runner = app.test_cli_runner()

    def search(q):
        body = client.get("/api/v1/search", query_string={"q": q, "sort": "newest"}).json
        return body["degraded"], [(i["id"], i["name"]) for i in body["items"]]

    try:
        honey = make.product(make.supplier(FENGJIE), name="奉节蜂蜜")
        make.certified(honey)
        session.commit()
        first_sync = ext.drain()
        assert (first_sync.error, first_sync.remaining) == (None, 0)
        assert first_sync.rebuilt is not None  # a new engine: no alias yet, so a full build
        assert search("蜂蜜") == (False, [(honey.id, "奉节蜂蜜")])

        relay.retarget(urlparse(second.url).port)  # the engine restarts, empty
        assert search("蜂蜜")[0] is True  # degraded to the database meanwhile
        newer = make.product(make.supplier(WUSHAN), name="巫山蜂蜜")
        make.certified(newer)
        catalog.update_product(session, make.admin, honey.id, data={"name": "奉节土蜂蜜"})
        session.commit()
        # a write through the alias is refused, and the engine makes up no index for it
        try:
            engine.apply({honey.id: None})
            raise AssertionError("a write without the alias went through")
        except AliasMissing:
            pass
        assert not engine.client.indices.exists(index=engine.alias)

        result = runner.invoke(args=["search", "sync", "--once"])
        assert result.exit_code == 0, result.output
        assert "was missing" in result.output and "remaining 0: ok" in result.output
        assert check(session, engine) == []
        assert search("蜂蜜") == (False, [(newer.id, "巫山蜂蜜"), (honey.id, "奉节土蜂蜜")])

        # again, and this time an older writer auto-created an index under the alias's name, and
        # earlier failed rebuilds left a versioned index behind
        relay.retarget(urlparse(third.url).port)
        engine.client.index(index=engine.alias, id=str(honey.id), document={"name": 1})
        orphan = f"{engine.alias}-20200101t000000000000000"
        engine.client.indices.create(index=orphan)
        result = runner.invoke(args=["search", "check"])
        assert result.exit_code == 0, result.output
        assert "was missing" in result.output and "engine: 0 drifted" in result.output
        indices = set(engine.client.indices.get(index="*").body)
        assert indices == set(engine.indices_behind_alias()) and len(indices) == 1
        assert search("蜂蜜") == (False, [(newer.id, "巫山蜂蜜"), (honey.id, "奉节土蜂蜜")])

        # a reindex with everything in place replaces the index and leaves nothing behind
        engine.client.indices.create(index=orphan)
        result = runner.invoke(args=["search", "reindex", "--backend", "engine"])
        assert result.exit_code == 0, result.output
        assert set(engine.client.indices.get(index="*").body) == set(engine.indices_behind_alias())
        assert check(session, engine) == []
    finally:
        ext.engine, ext.breaker.seconds = saved
        ext.breaker.succeeded()
        relay.close()
        for server in (first, second, third):
            server.close()
