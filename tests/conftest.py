"""Test set-up: one database per run (SQLite file, or PostgreSQL when SHOP_TEST_DATABASE_URL is set),
built with `alembic upgrade head`; each test runs in a transaction rolled back at its end."""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

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
    # the catalog's version row rolls back with each test: its cached pages must not outlive the test
    app.extensions["shop"]["settings"].catalog.cache.clear()
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


# --- a WeChat API server on a loopback port -------------------------------------------------------

WECHAT_APP_ID = "wx0123456789abcdef"
WECHAT_SECRET = "wechat-app-secret-never-to-be-seen-0123"


class WeChatPeer:
    """The WeChat server API as documented, on a loopback port: jscode2session, cgi-bin/token,
    getuserphonenumber and subscribe/send, with their error answers. A test registers log-in codes
    (`login_code`), phone codes (`phone_code`) and subscribers, and scripts failures per path
    (`fail(path, errcode | "slow" | http status ...)`); `calls` records each request's path."""

    def __init__(self, apps: dict[str, str] | None = None, *, slow_seconds: float = 3.0):
        self.apps = apps or {WECHAT_APP_ID: WECHAT_SECRET}
        self.codes: dict[str, dict] = {}
        self.phones: dict[str, dict] = {}
        self.used: set[str] = set()
        self.tokens: set[str] = set()
        self.subscribers: set[str] = set()
        self.sent: list[dict] = []
        self.calls: list[str] = []
        self.script: dict[str, list] = {}
        peer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _answer(self, body: dict, status: int = 200):
                data = json.dumps(body).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up waiting (the slow path)

            def _handle(self, body: dict | None):
                url = urlparse(self.path)
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                peer.calls.append(url.path)
                step = peer.script.get(url.path, []).pop(0) if peer.script.get(url.path) else None
                if step == "slow":
                    time.sleep(slow_seconds)
                elif isinstance(step, int) and 400 <= step < 600:
                    return self._answer({"error": "scripted"}, step)
                elif step is not None:
                    return self._answer({"errcode": step, "errmsg": "scripted"})
                route = {
                    "/sns/jscode2session": peer._session,
                    "/cgi-bin/token": peer._token,
                    "/wxa/business/getuserphonenumber": peer._phone,
                    "/cgi-bin/message/subscribe/send": peer._send,
                }.get(url.path)
                if route is None:
                    return self._answer({"errcode": 404, "errmsg": "no such api"}, 404)
                return self._answer(route(query, body))

            def do_GET(self):
                self._handle(None)

            def do_POST(self):
                self._handle(json.loads(self.rfile.read(int(self.headers["Content-Length"])) or b"{}"))

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._next = 0

    # --- what the test sets up ---
    def login_code(self, openid: str, *, unionid: str | None = None, session_key: str | None = None) -> str:
        self._next += 1
        code = f"code-{self._next}"
        self.codes[code] = {"openid": openid, "session_key": session_key or f"sk-{openid}-{self._next}"}
        if unionid:
            self.codes[code]["unionid"] = unionid
        return code

    def phone_code(self, number: str, country_code: str = "86") -> str:
        self._next += 1
        code = f"phone-{self._next}"
        self.phones[code] = {
            "phoneNumber": number if country_code != "86" else f"+86{number}",
            "purePhoneNumber": number,
            "countryCode": country_code,
            "watermark": {"timestamp": 0, "appid": WECHAT_APP_ID},
        }
        return code

    def fail(self, path: str, *steps) -> None:
        self.script.setdefault(path, []).extend(steps)

    def invalidate_tokens(self) -> None:
        self.tokens.clear()

    # --- the API ---
    def _app_ok(self, query: dict) -> dict | None:
        if query.get("appid") not in self.apps:
            return {"errcode": 40013, "errmsg": "invalid appid"}
        if self.apps[query["appid"]] != query.get("secret"):
            return {"errcode": 40125, "errmsg": "invalid appsecret"}
        return None

    def _session(self, query, _body):
        refused = self._app_ok(query)
        if refused or query.get("grant_type") != "authorization_code":
            return refused or {"errcode": 40002, "errmsg": "invalid grant_type"}
        code = query.get("js_code", "")
        if code in self.used:
            return {"errcode": 40163, "errmsg": "code been used"}
        if code not in self.codes:
            return {"errcode": 40029, "errmsg": "invalid code"}
        self.used.add(code)
        return self.codes[code]

    def _token(self, query, _body):
        refused = self._app_ok(query)
        if refused:
            return refused
        self._next += 1
        token = f"token-{self._next}"
        self.tokens.add(token)
        return {"access_token": token, "expires_in": 7200}

    def _phone(self, query, body):
        if query.get("access_token") not in self.tokens:
            return {"errcode": 40001, "errmsg": "invalid credential, access_token is invalid or not latest"}
        code = (body or {}).get("code", "")
        if code in self.used or code not in self.phones:
            return {"errcode": 40029, "errmsg": "invalid code"}
        self.used.add(code)
        return {"errcode": 0, "errmsg": "ok", "phone_info": self.phones[code]}

    def _send(self, query, body):
        if query.get("access_token") not in self.tokens:
            return {"errcode": 40001, "errmsg": "invalid credential"}
        if body["touser"] not in self.subscribers:
            return {"errcode": 43101, "errmsg": "user refuse to accept the msg"}
        self.sent.append(body)
        return {"errcode": 0, "errmsg": "ok"}

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def wechat_peer(app):
    """A WeChat API server on loopback, and the app pointed at it (timeouts short, for the slow path)."""
    with (
        WeChatPeer() as peer,
        configured(
            app,
            WECHAT_API_BASE=peer.url,
            WECHAT_APP_ID=WECHAT_APP_ID,
            WECHAT_APP_SECRET=WECHAT_SECRET,
            WECHAT_TIMEOUT_SECONDS=1.0,
        ),
    ):
        yield peer
