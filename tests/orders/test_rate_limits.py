"""Rate limits on what can be guessed or flooded: pick-up code checks, voucher check and redeem,
registration and the Stripe webhook. Each limit is a setting; beyond it 429 `rate_limited` with
Retry-After, in the one error shape, before validation is tried. A protected route first asks for
credentials (401 without them, not counted): guessing needs an account, and the limit counts its tries."""

import socket
import subprocess
import sys
import uuid

import pytest

from shop import create_app
from shop.config import ROOT
from tests.conftest import TEST_CONFIG

LIMITED = [
    ("PICKUP_RATE_LIMIT", "/api/v1/orders/1/pickup"),
    ("PICKUP_RATE_LIMIT", "/api/v1/orders/1/pickup-code"),
    ("VOUCHER_RATE_LIMIT", "/api/v1/procurement/vouchers/check"),
    ("VOUCHER_RATE_LIMIT", "/api/v1/procurement/vouchers/redeem"),
    ("VOUCHER_RATE_LIMIT", "/api/v1/procurement/operator/vouchers/redeem"),
    ("REGISTER_RATE_LIMIT", "/api/v1/auth/register"),
    ("WEBHOOK_RATE_LIMIT", "/api/v1/payments/stripe/webhook"),
]


@pytest.mark.parametrize(("setting", "path"), LIMITED)
def test_a_limit_triggers_with_retry_after_in_our_error_shape(engine, setting, path):
    app = create_app({**TEST_CONFIG, "ENGINE": engine, setting: "3 per minute"})
    client = app.test_client()
    headers = {} if setting == "REGISTER_RATE_LIMIT" else _bearer(create_app({**TEST_CONFIG, "ENGINE": engine}))
    statuses = [client.post(path, json={}, headers=headers).status_code for _ in range(4)]
    assert 429 not in statuses[:3] and statuses[3] == 429
    limited = client.post(path, json={}, headers=headers)
    assert limited.status_code == 429
    assert limited.json["error"]["code"] == "rate_limited" and set(limited.json["error"]) == {
        "code",
        "message",
        "details",
    }
    assert int(limited.headers["Retry-After"]) > 0


def _bearer(app) -> dict:
    """A buyer's token from an app without these limits (registering would count against one)."""
    client = app.test_client()
    login = f"limits-{uuid.uuid4().hex[:12]}@test.cq"
    client.post("/api/v1/auth/register", json={"login": login, "password": "long-enough-1", "display_name": "x"})
    token = client.post("/api/v1/auth/token", json={"login": login, "password": "long-enough-1"}).json
    return {"Authorization": f"Bearer {token['access_token']}"}


def test_limits_are_declared_in_openapi(app):
    spec = app.extensions["flask-smorest"]["apis"][""]["ext_obj"].spec.to_dict()
    for _setting, path in LIMITED:
        operation = spec["paths"][path.replace("/orders/1/", "/orders/{order_id}/")]["post"]
        assert "429" in operation["responses"], path


def _redis_up() -> bool:
    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=0.5).close()
        return True
    except OSError:
        return False


# One worker process: an app on the shared Redis sends `n` requests and prints their statuses.
WORKER = """
import sys
from shop import create_app
from tests.conftest import TEST_CONFIG
url, prefix, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
app = create_app({**TEST_CONFIG, "DATABASE_URL": url, "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/0",
                  "RATELIMIT_KEY_PREFIX": prefix, "REGISTER_RATE_LIMIT": "3 per minute"})
client = app.test_client()
print(" ".join(str(client.post("/api/v1/auth/register", json={}).status_code) for _ in range(n)))
"""


@pytest.mark.skipif(not _redis_up(), reason="no Redis on 127.0.0.1:6379")
def test_two_instances_share_the_count_through_redis(database_url):
    prefix = f"test-{uuid.uuid4().hex}"

    def worker(n: int) -> list[int]:
        out = subprocess.run(
            [sys.executable, "-c", WORKER, database_url, prefix, str(n)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        return [int(s) for s in out.stdout.split()]

    first = worker(2)
    assert 429 not in first
    # a second process has its own memory: only the shared Redis count can refuse its second request
    assert worker(2) == [422, 429]
