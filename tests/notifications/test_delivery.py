"""Delivery beyond the inbox by the worker, against receivers on loopback: an SMS gateway that checks
signatures and fails on script, and the WeChat API (subscribe messages). Preferences are respected at
posting and again at sending; failures are retried with back-off and every outcome is recorded."""

from datetime import timedelta

import sqlalchemy as sa

from shop import clock
from shop.jobs import builtin
from shop.jobs.registry import JobContext
from shop.notifications import delivery
from shop.notifications.models import Channel, Delivery, DeliveryStatus, Preference
from shop.notifications.models import NotificationKind as K
from shop.notifications.service import notify
from tests.conftest import configured

READY = K.ORDER_READY_FOR_PICKUP  # on SMS and WeChat by default


def _deliveries(session, notification) -> dict[Channel, Delivery]:
    rows = session.scalars(
        sa.select(Delivery).where(Delivery.notification_id == notification.id).execution_options(populate_existing=True)
    )
    return {row.channel: row for row in rows}


def _deliver(app, session, now, **kwargs):
    return delivery.deliver_due(session, app.extensions["shop"]["settings"].notifications, now=now, **kwargs)


def test_an_sms_is_retried_with_back_off_until_the_gateway_takes_it(app, make, session, sms_gateway):
    user = make.user(login="13800000001")
    start = clock.now()
    (note,) = notify(session, [user.id], READY, title="Order X is ready to pick up", body="Counter 3", now=start)
    sms_gateway.script = [500, 503]
    assert _deliver(app, session, start) == {"sent": 0, "skipped": 1, "retrying": 1, "failed": 0}
    rows = _deliveries(session, note)
    assert rows[Channel.WECHAT].status == DeliveryStatus.SKIPPED  # WeChat is not set up here
    sms = rows[Channel.SMS]
    assert (sms.status, sms.attempts, sms.last_error) == (DeliveryStatus.PENDING, 1, "HTTP 500")
    assert sms.next_attempt_at == start + timedelta(seconds=30)
    assert _deliver(app, session, start + timedelta(seconds=29))["retrying"] == 0  # not due yet
    assert _deliver(app, session, start + timedelta(seconds=30))["retrying"] == 1
    assert _deliveries(session, note)[Channel.SMS].next_attempt_at == start + timedelta(seconds=90)  # 30 s, then 60 s
    assert _deliver(app, session, start + timedelta(seconds=90))["sent"] == 1
    sms = _deliveries(session, note)[Channel.SMS]
    assert (sms.status, sms.attempts, sms.last_error) == (DeliveryStatus.SENT, 3, None)
    assert sms_gateway.bad_signatures == 0 and sms_gateway.requests == 3
    assert sms_gateway.messages == {
        f"{note.id}-sms": {
            "message_id": f"{note.id}-sms",
            "to": "13800000001",
            "text": "Order X is ready to pick up: Counter 3",
            "kind": "order_ready_for_pickup",
        }
    }
    assert _deliver(app, session, start + timedelta(hours=1))["sent"] == 0  # sent is sent


def test_a_refusal_fails_at_once_and_a_receiver_that_never_recovers_runs_out_of_attempts(
    app, make, session, sms_gateway
):
    user = make.user(login="13800000002")
    now = clock.now()
    (refused,) = notify(session, [user.id], READY, title="a", now=now)
    (flaky,) = notify(session, [user.id], READY, title="b", now=now)
    sms_gateway.script = [400] + [500] * 10
    with configured(app, NOTIFICATIONS_MAX_ATTEMPTS=3):
        for step in range(4):
            _deliver(app, session, now + timedelta(hours=step))
    assert _deliveries(session, refused)[Channel.SMS].status == DeliveryStatus.FAILED
    last = _deliveries(session, flaky)[Channel.SMS]
    assert (last.status, last.attempts, last.last_error) == (DeliveryStatus.FAILED, 3, "HTTP 500")


def test_preferences_are_respected_when_posting_and_when_sending(app, make, session, sms_gateway):
    quiet, changed_mind, default = make.user(login="13800000003"), make.user(login="13800000004"), make.user()
    session.add(Preference(user_id=quiet.id, kind=READY.value, channel=Channel.SMS, enabled=False))
    session.add(Preference(user_id=default.id, kind=K.ORDER_PAID.value, channel=Channel.SMS, enabled=True))
    session.flush()
    now = clock.now()
    (to_quiet,) = notify(session, [quiet.id], READY, title="ready", now=now)
    (to_changed,) = notify(session, [changed_mind.id], READY, title="ready", now=now)
    (paid,) = notify(session, [changed_mind.id], K.ORDER_PAID, title="paid", now=now)
    assert set(_deliveries(session, to_quiet)) == {Channel.WECHAT}
    assert set(_deliveries(session, paid)) == {Channel.WECHAT}  # SMS of payments is off by default
    session.add(Preference(user_id=changed_mind.id, kind=READY.value, channel=Channel.SMS, enabled=False))
    session.flush()
    _deliver(app, session, now)
    sms = _deliveries(session, to_changed)[Channel.SMS]
    assert (sms.status, sms.last_error) == (DeliveryStatus.SKIPPED, "turned off by the user")
    assert sms_gateway.requests == 0
    (no_phone,) = notify(session, [default.id], K.ORDER_PAID, title="paid", now=now)
    _deliver(app, session, now)
    assert _deliveries(session, no_phone)[Channel.SMS].last_error == "no address on this channel"


def test_wechat_subscribe_messages_through_the_worker_job(app, client, make, session, wechat_peer):
    login = client.post("/api/v1/auth/wechat/mini-program", json={"code": wechat_peer.login_code("o-sub")}).json
    user_id = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {login['access_token']}"}).json["id"]
    other_id = client.post(
        "/api/v1/auth/wechat/mini-program", json={"code": wechat_peer.login_code("o-unsubscribed")}
    ).json
    other_id = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {other_id['access_token']}"}).json["id"]
    wechat_peer.subscribers.add("o-sub")
    now = clock.now()
    with configured(app, WECHAT_SUBSCRIBE_TEMPLATES="order_ready_for_pickup=TPL-READY"):
        (ready,) = notify(session, [user_id], READY, title="Order 12 is ready to pick up", body="Counter 3", now=now)
        (refused,) = notify(session, [other_id], READY, title="Order 13 is ready", now=now)
        (untemplated,) = notify(session, [user_id], K.ORDER_PAID, title="Order 12 is paid", now=now)
        wechat_peer.fail("/cgi-bin/message/subscribe/send", -1)  # busy once
        wechat_peer.invalidate_tokens()
        session.flush()
        with clock.frozen_at(now):
            builtin.notifications_deliver(JobContext(app))
        assert _deliveries(session, ready)[Channel.WECHAT].status == DeliveryStatus.PENDING
        with clock.frozen_at(now + timedelta(minutes=1)):
            builtin.notifications_deliver(JobContext(app))
    assert _deliveries(session, ready)[Channel.WECHAT].status == DeliveryStatus.SENT
    (message,) = wechat_peer.sent
    assert message["touser"] == "o-sub" and message["template_id"] == "TPL-READY"
    assert message["data"]["thing1"] == {"value": "Order 12 is ready to"}  # 20 characters
    assert message["data"]["thing2"] == {"value": "Counter 3"}
    refused_row = _deliveries(session, refused)[Channel.WECHAT]
    assert (refused_row.status, refused_row.last_error) == (
        DeliveryStatus.SKIPPED,
        "wechat not_subscribed (errcode 43101)",
    )
    assert _deliveries(session, untemplated)[Channel.WECHAT].last_error == "no template for order_paid"
    assert not any(token in (refused_row.last_error or "") for token in wechat_peer.tokens)
