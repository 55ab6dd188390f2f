"""Test set-up: one database per run (SQLite file, or PostgreSQL when SHOP_TEST_DATABASE_URL is set),
built with `alembic upgrade head`; each test runs in a transaction rolled back at its end."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from flask import Flask, request, request_finished
from flask_smorest.spec.plugins import FlaskPlugin
from sqlalchemy import event
from sqlalchemy.orm import Session

from shop import create_app, migrate, settings
from shop.db import make_engine, normalise_url
from shop.sessions import make_sessionmaker
from tests import factories

TEST_CONFIG = {
    "TESTING": True,
    "PASSWORD_HASH_TIME_COST": 1,
    "PASSWORD_HASH_MEMORY_KIB": 64,
    "LOGIN_RATE_LIMIT": "100000 per minute",
    "REGISTER_RATE_LIMIT": "100000 per minute",
    "PICKUP_RATE_LIMIT": "100000 per minute",
    "REPORT_RATE_LIMIT": "100000 per minute",
    "VOUCHER_RATE_LIMIT": "100000 per minute",
    "WEBHOOK_RATE_LIMIT": "100000 per minute",
    "JWT_SECRET_KEY": "test-secret-key-that-is-long-enough-for-hs256",
    "VOUCHER_CODE_SECRET": "test-voucher-secret-that-is-long-enough",
    # the drain after a commit runs in the request (a background thread would share the test connection)
    "SEARCH_DRAIN_AFTER_COMMIT": "inline",
    # the embedded backend unless a test puts an engine in (tests/search/conftest.py)
    "SEARCH_BACKEND": "embedded",
    "ELASTICSEARCH_URL": "",
    # jobs go to an in-process queue nobody reads (tests/jobs run real workers on real brokers)
    "JOBS_BROKER_URL": "memory://",
}


def _database_url(tmp_path_factory) -> str:
    url = os.environ.get("SHOP_TEST_DATABASE_URL")
    if url:
        return url
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"


def reset_database(url: str) -> None:
    """Empty the database so the migrations start from nothing."""
    if url.startswith("sqlite"):
        return
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("DROP SCHEMA public CASCADE"))
        conn.execute(sa.text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    url = _database_url(tmp_path_factory)
    reset_database(url)
    migrate.upgrade(url)
    return url


@pytest.fixture(scope="session")
def engine(database_url):
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def is_postgres(database_url) -> bool:
    return database_url.startswith("postgresql")


@pytest.fixture(scope="session")
def app(engine):
    return create_app({**TEST_CONFIG, "ENGINE": engine})


@contextlib.contextmanager
def scratch_database(database_url: str, directory) -> Iterator[str]:
    """An empty database of its own: a fresh SQLite file in `directory`, or a fresh PostgreSQL
    database on the test server (dropped afterwards)."""
    if not database_url.startswith("postgresql"):
        yield f"sqlite:///{directory / 'scratch.db'}"
        return
    name = f"shop_scratch_{uuid.uuid4().hex[:12]}"
    server = make_engine(database_url).execution_options(isolation_level="AUTOCOMMIT")
    with server.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield sa.make_url(normalise_url(database_url)).set(database=name).render_as_string(hide_password=False)
    finally:
        with server.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        server.dispose()


@pytest.fixture
def scratch_database_url(database_url, tmp_path) -> Iterator[str]:
    """An empty database of its own, for tests that need real commits (migrations, concurrency)."""
    with scratch_database(database_url, tmp_path) as url:
        yield url


@pytest.fixture
def committed_app(is_postgres, scratch_database_url):
    """An app on a migrated scratch PostgreSQL database whose requests really commit: for proofs
    that parallel requests keep stock, quotas, budgets and balances right. Skipped on SQLite."""
    if not is_postgres:
        pytest.skip("concurrency is proven on PostgreSQL")
    migrate.upgrade(scratch_database_url)
    app = create_app({**TEST_CONFIG, "DATABASE_URL": scratch_database_url})
    yield app
    app.extensions["shop"]["engine"].dispose()


@pytest.fixture
def connection(engine) -> Iterator[sa.Connection]:
    conn = engine.connect()
    outer = conn.begin()
    yield conn
    outer.rollback()
    conn.close()


@pytest.fixture
def session(app, connection) -> Iterator[Session]:
    """The test's session; the app's requests share its connection, their commits become savepoints."""
    factory = make_sessionmaker(connection)
    factory.configure(join_transaction_mode="create_savepoint")
    app.extensions["shop"]["sessionmaker"] = factory
    session = factory()
    yield session
    session.close()


@pytest.fixture
def client(app, session):
    with app.app_context():
        yield app.test_client()


@pytest.fixture
def make(app, session) -> factories.Factory:
    return factories.Factory(app, session)


@pytest.fixture
def count_queries(engine):
    """Count SQL statements sent inside a `with count_queries() as counter:` block."""

    class Counter:
        def __init__(self):
            self.statements: list[str] = []

        def __enter__(self):
            event.listen(engine, "before_cursor_execute", self._record)
            return self

        def __exit__(self, *exc):
            event.remove(engine, "before_cursor_execute", self._record)

        def _record(self, _conn, _cursor, statement, *_args):
            if not statement.lstrip().upper().startswith(("SAVEPOINT", "RELEASE", "ROLLBACK", "BEGIN")):
                self.statements.append(statement)

        @property
        def count(self) -> int:
            return len(self.statements)

    return Counter


# --- every error code an operation answers is declared in its OpenAPI entry ----------------------

_UNDECLARED: list[str] = []
# What the HTTP layer answers for any operation, before a view runs: the spec's `default` response.
_ANY_OPERATION = {
    (400, "bad_request"),
    (405, "method_not_allowed"),
    (413, "payload_too_large"),
    (415, "unsupported_media_type"),
}
_DECLARED: dict[int, dict] = {}


def _declared_codes(app: Flask) -> dict:
    """(path, method) → {status: declared codes, or None when the status is declared without codes}."""
    if id(app) not in _DECLARED:
        api = next(iter(app.extensions["flask-smorest"]["blp_name_to_api"].values()))
        declared: dict = {}
        for path, operations in api.spec.to_dict()["paths"].items():
            for method, operation in operations.items():
                if method == "parameters":
                    continue
                for status, response in operation.get("responses", {}).items():
                    schema = response.get("content", {}).get("application/json", {}).get("schema", {})
                    code = schema.get("properties", {}).get("error", {}).get("properties", {}).get("code", {})
                    declared.setdefault((path, method.upper()), {})[str(status)] = set(code.get("enum", ())) or None
        _DECLARED[id(app)] = declared
    return _DECLARED[id(app)]


def _check_error_is_declared(app: Flask, response, **_extra) -> None:
    if response.status_code < 400 or response.status_code >= 500 or request.url_rule is None:
        return
    code = ((response.get_json(silent=True) or {}).get("error") or {}).get("code")
    if code is None:
        return
    path, method, status = FlaskPlugin.flaskpath2openapi(request.url_rule.rule), request.method, response.status_code
    by_status = _declared_codes(app).get((path, method))
    if by_status is None:
        return  # not an API operation (HEAD, OPTIONS, the spec itself)
    codes = by_status.get(str(status))
    if codes is None and (status, code) in _ANY_OPERATION:
        return
    if codes is None or code not in codes:
        _UNDECLARED.append(f"{method} {path} answered {status} {code}; declared: {sorted(codes or ())}")


request_finished.connect(_check_error_is_declared)


@pytest.fixture(autouse=True)
def error_codes_are_declared():
    """Fails the test during which an operation answered an error code its OpenAPI entry does not list."""
    start = len(_UNDECLARED)
    yield
    undeclared = _UNDECLARED[start:]
    del _UNDECLARED[start:]
    assert not undeclared, "undeclared error codes:\n" + "\n".join(undeclared)


@contextlib.contextmanager
def configured(app, **values):
    """Change some settings of an app for a block (the app builds its settings and gateways once, at
    start-up: they are built again here, and after)."""
    before = {name: app.config.get(name) for name in values}
    app.config.update(values)
    settings.install(app)
    try:
        yield app
    finally:
        app.config.update(before)
        settings.install(app)
