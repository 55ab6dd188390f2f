"""Search fixtures: one osmem engine process per test session on a loopback port, a fresh index
alias per test, and `backend`, parametrised over the embedded backend and the engine."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import pytest
from osmem_server import OsmemServer

from search import extension
from search.elasticsearch_backend import ElasticsearchBackend, make_client
from search.outbox import enqueue_moved, refresh_embedded
from search.sync import apply_batch

_aliases = itertools.count(1)


@pytest.fixture(scope="session")
def osmem():
    server = OsmemServer.start(addr="127.0.0.1:0")
    yield server
    server.close()


def engine_backend(url: str, alias: str | None = None) -> ElasticsearchBackend:
    client = make_client(url, flavor="opensearch", timeout=10.0, retries=0)
    return ElasticsearchBackend(client, alias=alias or f"products-t{next(_aliases)}")


@dataclass
class Index:
    """The test's view of search: which backend answers, and `refresh()` to bring it up to date
    the way the application does after a commit (embedded rows rebuilt, outbox applied)."""

    name: str
    session: object
    engine: ElasticsearchBackend | None

    def refresh(self) -> None:
        enqueue_moved(self.session)
        refresh_embedded(self.session)
        while apply_batch(self.session, self.engine, 500):
            pass


@pytest.fixture
def engine_in_app(app, osmem):
    """Put an engine (fresh alias) in the app's search for one test."""
    ext = extension(app)
    saved = ext.engine, ext.breaker.seconds
    ext.engine = engine_backend(osmem.url)
    ext.breaker.seconds = 0
    ext.breaker.succeeded()
    yield ext.engine
    ext.engine, ext.breaker.seconds = saved
    ext.breaker.succeeded()


@pytest.fixture(params=["embedded", "engine"])
def index(request, app, session) -> Index:
    if request.param == "engine":
        engine = request.getfixturevalue("engine_in_app")
        return Index("engine", session, engine)
    return Index("embedded", session, None)
