"""The inbox: each user lists, counts and marks their own notifications and nobody else's."""

from shop.notifications.models import NotificationKind as K
from shop.notifications.service import notify

N = "/api/v1/notifications"


def test_a_user_only_ever_sees_and_marks_their_own(client, make, session):
    alice, bob = make.user(), make.user()
    a, b = make.headers(alice), make.headers(bob)
    for number in range(3):
        notify(session, [alice.id], K.ORDER_PAID, title=f"Order {number} is paid", data={"order_id": number})
    (bobs,) = notify(session, [bob.id], K.ORDER_SHIPPED, title="Order 9 has shipped")
    session.flush()

    page = client.get(N, headers=a).json
    assert page["total"] == 3 and [n["title"] for n in page["items"]] == [f"Order {i} is paid" for i in (2, 1, 0)]
    assert all(not n["read"] and n["kind"] == "order_paid" for n in page["items"])
    assert client.get(f"{N}/unread-count", headers=a).json == {"unread": 3}
    assert client.get(N, headers=a, query_string={"kind": "order_shipped"}).json["total"] == 0

    # Bob's notification is not found for Alice, to read or to mark
    refused = client.post(f"{N}/{bobs.id}/read", headers=a)
    assert refused.status_code == 404 and refused.json["error"]["code"] == "not_found"
    first = page["items"][-1]
    marked = client.post(f"{N}/{first['id']}/read", headers=a)
    assert marked.status_code == 200 and marked.json["read"] and marked.json["read_at"]
    assert client.post(f"{N}/{first['id']}/read", headers=a).json["read_at"] == marked.json["read_at"]
    assert client.get(f"{N}/unread-count", headers=a).json == {"unread": 2}
    assert client.get(N, headers=a, query_string={"unread": "true"}).json["total"] == 2

    assert client.post(f"{N}/read-all", headers=a).json == {"marked": 2}
    assert client.get(f"{N}/unread-count", headers=a).json == {"unread": 0}
    # Alice marking all read left Bob's alone
    assert client.get(f"{N}/unread-count", headers=b).json == {"unread": 1}
    assert [n["title"] for n in client.get(N, headers=b).json["items"]] == ["Order 9 has shipped"]
    assert client.get(N).status_code == 401


def test_one_event_reaches_each_recipient_once(make, session):
    user = make.user()
    rows = notify(session, [user.id, user.id, None], K.LOW_STOCK, title="Low stock")
    assert [r.user_id for r in rows] == [user.id]
    assert notify(session, [], K.LOW_STOCK, title="nobody") == []


def test_preferences_per_kind_and_channel(client, make):
    headers = make.headers(make.user())
    shown = {
        (p["kind"], p["channel"]): p["enabled"]
        for p in client.get(f"{N}/preferences", headers=headers).json["preferences"]
    }
    assert len(shown) == len(K) * 2
    assert shown[("order_paid", "wechat")] and not shown[("order_paid", "sms")]
    assert shown[("order_ready_for_pickup", "sms")]
    changed = client.put(
        f"{N}/preferences",
        headers=headers,
        json={"preferences": [{"kind": "order_paid", "channel": "sms", "enabled": True}]},
    )
    now = {(p["kind"], p["channel"]): p["enabled"] for p in changed.json["preferences"]}
    assert now[("order_paid", "sms")] and now[("order_paid", "wechat")]
    bad = client.put(
        f"{N}/preferences",
        headers=headers,
        json={"preferences": [{"kind": "order_paid", "channel": "inbox", "enabled": False}]},
    )
    assert bad.status_code == 422
    unknown = client.put(
        f"{N}/preferences",
        headers=headers,
        json={"preferences": [{"kind": "nope", "channel": "sms", "enabled": False}]},
    )
    assert unknown.status_code == 422
