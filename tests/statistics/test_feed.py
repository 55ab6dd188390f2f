"""The feed to the national hub, against a receiver started on loopback that checks signatures,
fails, times out and sees the same batch twice: every batch arrives once, signed, in the end."""

import hashlib
import hmac
import json
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from shop import clock
from shop.auth.models import Role
from shop.inventory import movements as inventory
from shop.statistics import feed
from shop.statistics.models import FeedBatch, FeedStatus

SECRET = "hub-secret-for-tests-0123456789abcdef"


class Receiver:
    """A hub on a loopback port: answers by script (an int status, or "slow": keeps the batch but
    answers after the client gave up), keeps the first copy of each batch id."""

    def __init__(self, script):
        self.script = list(script)
        self.stored: dict[str, dict] = {}
        self.seen: list[str] = []
        self.bad_signatures = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                stamp = self.headers["X-Hub-Timestamp"]
                want = "sha256=" + hmac.new(SECRET.encode(), stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
                if not hmac.compare_digest(want, self.headers["X-Hub-Signature"]):
                    receiver.bad_signatures += 1
                    self.send_response(401)
                    self.end_headers()
                    return
                batch_id = self.headers["X-Hub-Batch-Id"]
                receiver.seen.append(batch_id)
                step = receiver.script.pop(0) if receiver.script else 200
                if step == "slow" or step == 200:
                    receiver.stored.setdefault(batch_id, json.loads(body))
                if step == "slow":
                    time.sleep(1.0)
                    step = 200
                self.send_response(step)
                self.end_headers()
                self.wfile.write(b"{}")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/facts"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def _sales(session, shop, n):
    for _ in range(n):
        inventory.sell(session, shop.hall.id, [{"sku_id": shop.sku.id, "quantity": 1}], now=clock.now())


def test_batches_arrive_once_signed_through_failures_a_timeout_and_a_repeat(session, shop):
    _sales(session, shop, 3)
    with Receiver([500, "slow", 200, 200]) as hub_peer:
        hub = feed.HubSettings(url=hub_peer.url, secret=SECRET, timeout=0.3, batch_size=2, backoff_seconds=30)
        start = clock.now()
        assert feed.enqueue_batches(session, now=start, batch_size=2) == 2
        assert feed.enqueue_batches(session, now=start, batch_size=2) == 0  # each fact in one batch
        first, second = session.query(FeedBatch).order_by(FeedBatch.id).all()
        assert (first.fact_count, second.fact_count) == (2, 1)
        assert feed.deliver_due(session, hub, now=start) == {"sent": 0, "retrying": 1, "failed": 0}
        assert first.next_attempt_at == start + timedelta(seconds=30) and first.last_error == "HTTP 500"
        # not due yet: nothing is posted
        assert feed.deliver_due(session, hub, now=start + timedelta(seconds=10)) == {
            "sent": 0,
            "retrying": 0,
            "failed": 0,
        }
        assert feed.deliver_due(session, hub, now=start + timedelta(seconds=31))["retrying"] == 1
        assert first.attempts == 2 and first.status == FeedStatus.PENDING
        assert "timed out" in first.last_error or "Timeout" in first.last_error
        assert first.next_attempt_at == start + timedelta(seconds=31 + 60)
        assert feed.deliver_due(session, hub, now=start + timedelta(seconds=200))["sent"] == 2
        assert first.status == second.status == FeedStatus.SENT
        assert hub_peer.bad_signatures == 0
        assert set(hub_peer.stored) == {first.batch_id, second.batch_id}
        assert hub_peer.seen.count(first.batch_id) == 3  # failed, timed out (yet kept), repeated
        facts = [f for b in hub_peer.stored.values() for f in b["facts"]]
        assert len(facts) == 3 and len({f["id"] for f in facts}) == 3
        assert {f["channel"] for f in facts} == {"hall"} and all(f["amount_fen"] == 5000 for f in facts)


def test_a_refused_batch_fails_and_shows_in_the_status_view(client, session, make, shop):
    _sales(session, shop, 1)
    with Receiver([400]) as hub_peer:
        hub = feed.HubSettings(url=hub_peer.url, secret=SECRET, timeout=2)
        feed.enqueue_batches(session, now=clock.now())
        assert feed.deliver_due(session, hub, now=clock.now()) == {"sent": 0, "retrying": 0, "failed": 1}
    regulator = make.headers(make.user(Role.REGULATOR))
    view = client.get("/api/v1/statistics/feed", headers=regulator)
    assert view.status_code == 200, view.json
    assert view.json["batches"] == {"pending": 0, "sent": 0, "failed": 1}
    assert view.json["waiting"][0]["last_error"] == "HTTP 400" and view.json["facts_not_batched"] == 0
    assert client.get("/api/v1/statistics/feed", headers=make.headers(make.user())).status_code == 403


def test_no_hub_listening_is_a_retry_not_a_loss(session, shop):
    _sales(session, shop, 1)
    with Receiver([]) as closed:
        url = closed.url
    hub = feed.HubSettings(url=url, secret=SECRET, timeout=1)
    feed.enqueue_batches(session, now=clock.now())
    assert feed.deliver_due(session, hub, now=clock.now()) == {"sent": 0, "retrying": 1, "failed": 0}
