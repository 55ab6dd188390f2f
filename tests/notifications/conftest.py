"""Notifications fixtures: the shop of the orders tests, the inbox as rows, an SMS gateway on loopback."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import sqlalchemy as sa

from shop.notifications.models import Notification
from tests.conftest import configured
from tests.orders.conftest import shop  # noqa: F401  (a hall, a counter, a certified SKU in stock, a buyer)

SMS_SECRET = "sms-gateway-secret-for-tests-0123456789"


def posted(session, *, user_id=None, kind=None) -> list[Notification]:
    stmt = sa.select(Notification).order_by(Notification.id)
    if user_id is not None:
        stmt = stmt.where(Notification.user_id == user_id)
    if kind is not None:
        stmt = stmt.where(Notification.kind == kind)
    return list(session.scalars(stmt))


def kinds_of(session, user_id) -> list[str]:
    return [n.kind for n in posted(session, user_id=user_id)]


class SmsGateway:
    """An SMS gateway on a loopback port: checks the HMAC signature, answers by script (a status per
    request, 200 after the script), and sends each message id once."""

    def __init__(self):
        self.script: list[int] = []
        self.messages: dict[str, dict] = {}
        self.requests = 0
        self.bad_signatures = 0
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                stamp = self.headers["X-Sms-Timestamp"]
                mac = hmac.new(SMS_SECRET.encode(), stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
                gateway.requests += 1
                if not hmac.compare_digest("sha256=" + mac, self.headers["X-Sms-Signature"]):
                    gateway.bad_signatures += 1
                    status = 401
                else:
                    status = gateway.script.pop(0) if gateway.script else 200
                    if status == 200:
                        gateway.messages.setdefault(self.headers["X-Sms-Message-Id"], json.loads(body))
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/messages"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)


@pytest.fixture
def sms_gateway(app):
    gateway = SmsGateway()
    gateway.thread.start()
    with configured(app, SMS_GATEWAY_URL=gateway.url, SMS_GATEWAY_SECRET=SMS_SECRET, SMS_TIMEOUT_SECONDS=0.5):
        yield gateway
    gateway.server.shutdown()
    gateway.server.server_close()
