"""The real programs payment tests talk to: localstripe (a stateful Stripe-compatible server) on a
loopback port, a loopback relay in front of it that can record, drop, stall or fail calls the way a
network and an overloaded Stripe do, and our application served on another loopback port so that
localstripe's webhooks really arrive."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import http.server
import io
import json
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass, field

import stripe
from werkzeug.serving import make_server

SECRET_KEY = "sk_test_shop_0123456789"
WEBHOOK_SECRET = "whsec_test_shop_0123456789"
WEBHOOK_PATH = "/api/v1/payments/stripe/webhook"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(predicate, timeout: float = 10.0, interval: float = 0.02, what: str = "condition"):
    """Poll `predicate` until it returns something true, for at most `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


class LocalStripe:
    """`localstripe --port P --from-scratch` as a child process, stopped by stop()."""

    def __init__(self):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "localstripe", "--port", str(self.port), "--from-scratch"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_until(self._answers, timeout=20, what="localstripe to start")
        self.client = stripe.StripeClient(SECRET_KEY, base_addresses={"api": self.url}, max_network_retries=0)

    def _answers(self) -> bool:
        if self.process.poll() is not None:
            raise RuntimeError("localstripe exited at start")
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                return True
        except OSError:
            return False

    def register_webhook(self, url: str, secret: str = WEBHOOK_SECRET) -> None:
        request = urllib.request.Request(
            f"{self.url}/_config/webhooks/shop",
            data=json.dumps({"url": url, "secret": secret, "events": None}).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        urllib.request.urlopen(request, timeout=5).close()

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)

    # --- what a buyer's browser does with Stripe.js, done with the secret key --------------------

    def pay(self, intent_id: str, payment_method: str = "pm_card_visa") -> dict:
        """Confirm the intent with a test payment method; a decline answers 402 and is returned too."""
        self.client.v1.payment_intents.update(intent_id, params={"payment_method": payment_method})
        with contextlib.suppress(stripe.CardError):
            self.client.v1.payment_intents.confirm(intent_id)
        return self.intent(intent_id)

    def intent(self, intent_id: str) -> dict:
        return self.client.v1.payment_intents.retrieve(intent_id).to_dict()

    def charge(self, intent_id: str) -> dict:
        return self.intent(intent_id)["latest_charge"]

    def refund_at_stripe(self, intent_id: str, amount: int) -> dict:
        """A refund made in the Stripe dashboard, outside our API."""
        return self.client.v1.refunds.create(params={"payment_intent": intent_id, "amount": amount}).to_dict()


# --- events we sign ourselves (the ones localstripe never sends) -------------------------------


def sign(payload: bytes, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> str:
    timestamp = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


_event_seq = iter(range(1, 10**9))


def event(type: str, obj: dict, *, created: int | None = None, event_id: str | None = None) -> dict:
    return {
        "id": event_id or f"evt_test_{next(_event_seq):08d}_{int(time.time() * 1000)}",
        "object": "event",
        "type": type,
        "created": int(time.time()) if created is None else created,
        "api_version": "2026-10-28",
        "data": {"object": obj},
    }


def post_event(client, body: dict | bytes, *, secret: str = WEBHOOK_SECRET, signature: str | None = None):
    payload = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {"Stripe-Signature": signature if signature is not None else sign(payload, secret)}
    return client.post(WEBHOOK_PATH, data=payload, headers=headers, content_type="application/json")


# --- a relay in front of localstripe -----------------------------------------------------------


@dataclass
class Call:
    method: str
    path: str
    idempotency_key: str | None


class Relay:
    """A loopback HTTP server standing where Stripe's API would be. Modes:
    `forward` (pass every call to localstripe, recording it), `forward_then_drop` (pass the call on,
    then close the connection unanswered: Stripe did the work, the answer was lost), `stall` (never
    answer: a timeout), `status` (answer every call with `status_code` and a Stripe error body)."""

    def __init__(self, upstream: str):
        self.upstream = upstream
        self.mode = "forward"
        self.status_code = 500
        self.calls: list[Call] = []
        self.release = threading.Event()
        relay = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_args):
                pass

            def _handle(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                relay.calls.append(Call(self.command, self.path, self.headers.get("Idempotency-Key")))
                if relay.mode == "stall":
                    relay.release.wait(timeout=10)
                    self.close_connection = True
                    return
                if relay.mode == "status":
                    self._answer(relay.status_code, json.dumps({"error": {"message": "relay says no"}}).encode())
                    return
                request = urllib.request.Request(
                    relay.upstream + self.path,
                    data=body if self.command == "POST" else None,
                    headers={k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")},
                    method=self.command,
                )
                try:
                    with urllib.request.urlopen(request, timeout=5) as answer:
                        status, data = answer.status, answer.read()
                except urllib.error.HTTPError as error:
                    status, data = error.code, error.read()
                if relay.mode == "forward_then_drop":
                    self.close_connection = True
                    return
                self._answer(status, data)

            def _answer(self, status: int, data: bytes):
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_DELETE = _handle

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def creations(self, path: str = "/v1/payment_intents") -> list[Call]:
        return [c for c in self.calls if c.method == "POST" and c.path == path]

    def stop(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


# --- our application on a loopback port, with a tap on the webhook path --------------------------


@dataclass
class Delivery:
    type: str
    object_id: str
    body: bytes
    signature: str
    status: int | None = None
    answer: dict | None = None


@dataclass
class WebhookTap:
    """WSGI middleware: records every webhook delivery and what our app answered; deliveries about
    objects in `lose` are answered 503 without reaching the app (a webhook that never arrived)."""

    app: object
    deliveries: list[Delivery] = field(default_factory=list)
    lose: set[str] = field(default_factory=set)
    changed: threading.Condition = field(default_factory=threading.Condition)

    def __call__(self, environ, start_response):
        if environ.get("PATH_INFO") != WEBHOOK_PATH:
            return self.app(environ, start_response)
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        try:
            parsed = json.loads(body)
            delivery = Delivery(
                parsed["type"], parsed["data"]["object"]["id"], body, environ.get("HTTP_STRIPE_SIGNATURE", "")
            )
        except (ValueError, KeyError, TypeError):
            delivery = Delivery("?", "?", body, environ.get("HTTP_STRIPE_SIGNATURE", ""))
        if delivery.object_id in self.lose:
            delivery.status = 503
            self._record(delivery)
            start_response("503 SERVICE UNAVAILABLE", [("Content-Type", "text/plain")])
            return [b"lost on the way"]
        environ["wsgi.input"] = io.BytesIO(body)
        seen: dict = {}

        def capture(status, headers, exc_info=None):
            seen["status"] = int(status.split()[0])
            return start_response(status, headers, exc_info)

        chunks = list(self.app(environ, capture))
        delivery.status = seen.get("status")
        try:
            delivery.answer = json.loads(b"".join(chunks))
        except ValueError:
            delivery.answer = None
        self._record(delivery)
        return chunks

    def _record(self, delivery: Delivery) -> None:
        with self.changed:
            self.deliveries.append(delivery)
            self.changed.notify_all()

    def wait_for(self, object_id: str, type: str, timeout: float = 10.0) -> Delivery:
        """The first delivery of `type` about `object_id`, waiting for it at most `timeout` seconds."""
        deadline = time.monotonic() + timeout
        with self.changed:
            while True:
                for delivery in self.deliveries:
                    if delivery.object_id == object_id and delivery.type == type:
                        return delivery
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no {type} webhook about {object_id} within {timeout}s")
                self.changed.wait(left)


class LiveServer:
    def __init__(self, app):
        self.tap = WebhookTap(app)
        self.server = make_server("127.0.0.1", 0, self.tap, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
