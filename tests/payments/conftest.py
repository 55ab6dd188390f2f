from __future__ import annotations

import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass

import pytest
import sqlalchemy as sa
from flask_jwt_extended import create_access_token

from shop import create_app, migrate
from shop.auth.models import Role
from shop.db import make_engine, normalise_url, transaction
from shop.inventory.models import StockLevel
from shop.points import service as points
from shop.points.models import PointsKind
from tests.conftest import (
    TEST_CONFIG,
    configured,
    reset_database,
)
from tests.factories import Factory
from tests.orders.conftest import shop  # noqa: F401  (the buyer, hall, counter and SKU of order tests)
from tests.payments.stripe_peer import SECRET_KEY, WEBHOOK_PATH, WEBHOOK_SECRET, LiveServer, LocalStripe, Relay
from tests.procurement.conftest import buyer_org  # noqa: F401  (an organisation with budget, roles and stock)


def stripe_config(api_base: str) -> dict:
    return {
        "STRIPE_SECRET_KEY": SECRET_KEY,
        "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "STRIPE_API_BASE": api_base,
        "STRIPE_PAYMENT_METHOD_TYPES": "card,alipay,wechat_pay",
        "STRIPE_MAX_NETWORK_RETRIES": 0,
        "STRIPE_TIMEOUT_SECONDS": 2.0,
    }


@pytest.fixture(scope="session")
def localstripe():
    peer = LocalStripe()
    yield peer
    peer.stop()


@pytest.fixture
def stripe_app(app, localstripe):
    """The rolled-back test app, talking to localstripe."""
    with configured(app, **stripe_config(localstripe.url)):
        yield app


@pytest.fixture
def relay(localstripe):
    relay = Relay(localstripe.url)
    yield relay
    relay.stop()


# --- a live application with real commits, served on a loopback port ------------------------------


@dataclass
class Buyer:
    user_id: int
    headers: dict
    counter_id: int
    sku_id: int
    operator_headers: dict
    admin_headers: dict


class Live:
    """Our app on a scratch database (real commits) served on a loopback port, with localstripe's
    webhooks registered to it."""

    def __init__(self, url: str, localstripe: LocalStripe):
        migrate.upgrade(url)
        self.app = create_app({**TEST_CONFIG, "DATABASE_URL": url, **stripe_config(localstripe.url)})
        self.factory = self.app.extensions["shop"]["sessionmaker"]
        self.stripe = localstripe
        self.server = LiveServer(self.app)
        self.tap = self.server.tap
        localstripe.register_webhook(self.server.url + WEBHOOK_PATH)

    def client(self):
        return self.app.test_client()

    def buyer(self, *, price_fen: int = 5000, stock: int = 10, balance: int = 0) -> Buyer:
        with self.app.app_context(), transaction(self.factory) as session:
            # on SQLite, queue for the write lock first: a webhook may be writing in the server thread
            session.connection(execution_options={"sqlite_begin": "IMMEDIATE"})
            make = Factory(self.app, session)
            hall = make.hall()
            counter = make.counter(hall)
            sku = make.sku(price_fen=price_fen)
            make.stock(counter, sku, stock)
            user = make.user()
            operator = make.operator(hall)
            admin = make.user(Role.ADMIN)
            if balance:
                points.post(session, user.id, balance, PointsKind.ADJUST, note="test")
            tokens = [create_access_token(identity=str(u.id)) for u in (user, operator, admin)]
            return Buyer(
                user.id,
                {"Authorization": f"Bearer {tokens[0]}"},
                counter.id,
                sku.id,
                {"Authorization": f"Bearer {tokens[1]}"},
                {"Authorization": f"Bearer {tokens[2]}"},
            )

    def order(self, buyer: Buyer, quantity: int = 1) -> dict:
        client = self.client()
        line = client.post(
            "/api/v1/cart/lines",
            headers=buyer.headers,
            json={
                "sku_id": buyer.sku_id,
                "quantity": quantity,
                "fulfilment": "pickup",
                "location_id": buyer.counter_id,
            },
        )
        assert line.status_code == 201, line.json
        order = client.post("/api/v1/orders", headers=buyer.headers, json={})
        assert order.status_code == 201, order.json
        return order.json

    def stop(self) -> None:
        self.server.stop()
        self.app.extensions["shop"]["engine"].dispose()


@pytest.fixture(scope="session")
def live(database_url, tmp_path_factory, localstripe):
    if database_url.startswith("postgresql"):
        name = f"shop_live_{uuid.uuid4().hex[:12]}"
        server = make_engine(database_url).execution_options(isolation_level="AUTOCOMMIT")
        with server.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        url = sa.make_url(normalise_url(database_url)).set(database=name).render_as_string(hide_password=False)
    else:
        server, name = None, None
        url = f"sqlite:///{tmp_path_factory.mktemp('live') / 'live.db'}"
    reset_database(url)
    world = Live(url, localstripe)
    yield world
    world.stop()
    if server is not None:
        with server.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        server.dispose()


def pay_live(live, buyer, order_id, key=None):
    headers = {**buyer.headers, **({"Idempotency-Key": key} if key else {})}
    response = live.client().post(f"/api/v1/orders/{order_id}/payments", headers=headers, json={"gateway": "stripe"})
    assert response.status_code == 201, response.json
    return response.json


def live_level(live, buyer):
    with transaction(live.factory) as session:
        return tuple(
            session.execute(
                sa.select(StockLevel.on_hand, StockLevel.reserved).where(
                    StockLevel.location_id == buyer.counter_id, StockLevel.sku_id == buyer.sku_id
                )
            ).one()
        )


def redeliver(live, body: bytes, signature: str):
    """Post a delivery again to the live server, as Stripe does when it retries."""
    request = urllib.request.Request(
        live.server.url + WEBHOOK_PATH,
        data=body,
        headers={"Content-Type": "application/json", "Stripe-Signature": signature},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()
