"""Log-in from the WeChat mini-program, against a WeChat API server on loopback that speaks the
documented protocol: first log-in makes a buyer, later ones find it (by openid, unionid or a verified
phone), and every error WeChat answers becomes our error shape with a stable code."""

import uuid

import pytest
import sqlalchemy as sa

from shop.auth.models import Role, User, WeChatIdentity
from tests.conftest import WECHAT_APP_ID, WECHAT_SECRET, WeChatPeer, configured

LOGIN = "/api/v1/auth/wechat/mini-program"
PHONE = "/api/v1/auth/wechat/phone"


def _me(client, token):
    return client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})


def test_first_log_in_makes_a_buyer_and_the_next_finds_it(client, wechat_peer, session):
    first = client.post(LOGIN, json={"code": wechat_peer.login_code("o-alice", unionid="u-alice")})
    assert first.status_code == 200, first.json
    assert set(first.json) == {"access_token", "refresh_token", "token_type", "expires_in"}
    me = _me(client, first.json["access_token"]).json
    assert me["display_name"] == "微信用户" and me["email"] is None and me["phone"] is None
    assert [g["role"] for g in me["grants"]] == ["buyer"]

    again = client.post(LOGIN, json={"code": wechat_peer.login_code("o-alice")})
    assert _me(client, again.json["access_token"]).json["id"] == me["id"]
    identity = session.scalar(sa.select(WeChatIdentity).where(WeChatIdentity.openid == "o-alice"))
    assert (identity.user_id, identity.app_id, identity.unionid) == (me["id"], WECHAT_APP_ID, "u-alice")
    assert identity.last_login_at is not None
    # a WeChat-only account has no password: the password log-in cannot reach it
    assert session.get(User, me["id"]).password_hash is None


def test_the_same_person_in_another_app_of_the_developer_is_found_by_unionid(app, client, session):
    other_app, other_secret = "wx-other-app", "other-app-secret-0123456789abcdef"
    with WeChatPeer({WECHAT_APP_ID: WECHAT_SECRET, other_app: other_secret}) as peer:
        base = {"WECHAT_API_BASE": peer.url, "WECHAT_TIMEOUT_SECONDS": 1.0}
        with configured(app, WECHAT_APP_ID=WECHAT_APP_ID, WECHAT_APP_SECRET=WECHAT_SECRET, **base):
            first = client.post(LOGIN, json={"code": peer.login_code("o-in-app-1", unionid="u-bob")}).json
        with configured(app, WECHAT_APP_ID=other_app, WECHAT_APP_SECRET=other_secret, **base):
            second = client.post(LOGIN, json={"code": peer.login_code("o-in-app-2", unionid="u-bob")}).json
    assert _me(client, first["access_token"]).json["id"] == _me(client, second["access_token"]).json["id"]
    assert (
        session.scalar(sa.select(sa.func.count()).select_from(WeChatIdentity).where(WeChatIdentity.unionid == "u-bob"))
        == 2
    )


def test_a_verified_phone_finds_the_account_registered_on_the_web(client, wechat_peer, make):
    web_user = make.user(login="13912345678")
    response = client.post(
        LOGIN, json={"code": wechat_peer.login_code("o-carol"), "phone_code": wechat_peer.phone_code("13912345678")}
    )
    assert response.status_code == 200, response.json
    assert _me(client, response.json["access_token"]).json["id"] == web_user.id


def test_a_phone_is_bound_after_log_in_and_never_to_two_accounts(client, wechat_peer, make):
    token = client.post(LOGIN, json={"code": wechat_peer.login_code("o-dave")}).json["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    bound = client.post(PHONE, json={"phone_code": wechat_peer.phone_code("13700000001")}, headers=headers)
    assert bound.status_code == 200 and bound.json["phone"] == "13700000001"
    # the access token was fetched once and reused
    bound_again = client.post(PHONE, json={"phone_code": wechat_peer.phone_code("13700000001")}, headers=headers)
    assert bound_again.status_code == 200 and wechat_peer.calls.count("/cgi-bin/token") == 1

    make.user(login="13700000002")
    taken = client.post(PHONE, json={"phone_code": wechat_peer.phone_code("13700000002")}, headers=headers)
    assert taken.status_code == 409 and taken.json["error"]["code"] == "phone_taken"
    foreign = client.post(PHONE, json={"phone_code": wechat_peer.phone_code("6591234567", "65")}, headers=headers)
    assert foreign.status_code == 422 and foreign.json["error"]["code"] == "wechat_phone_code_invalid"
    unknown = client.post(PHONE, json={"phone_code": "nonsense"}, headers=headers)
    assert unknown.status_code == 422 and unknown.json["error"]["code"] == "wechat_phone_code_invalid"
    assert client.post(PHONE, json={"phone_code": "x"}).status_code == 401


def test_an_invalid_access_token_is_refreshed_once(client, wechat_peer):
    token = client.post(LOGIN, json={"code": wechat_peer.login_code("o-erin")}).json["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    assert (
        client.post(PHONE, json={"phone_code": wechat_peer.phone_code("13600000001")}, headers=headers).status_code
        == 200
    )
    wechat_peer.invalidate_tokens()  # WeChat answers 40001 to the cached token
    again = client.post(PHONE, json={"phone_code": wechat_peer.phone_code("13600000001")}, headers=headers)
    assert again.status_code == 200
    assert wechat_peer.calls.count("/cgi-bin/token") == 2


@pytest.mark.parametrize(
    ("script", "status", "code", "reason"),
    [
        ([40029], 401, "wechat_code_invalid", None),
        ([40163], 401, "wechat_code_invalid", None),
        ([45011], 503, "wechat_unavailable", "rate_limited"),
        ([-1], 503, "wechat_unavailable", "busy"),
        (["slow"], 503, "wechat_unavailable", "timeout"),
        ([502], 503, "wechat_unavailable", "busy"),
        ([40125], 502, "wechat_error", None),
    ],
)
def test_each_error_of_wechat_has_its_answer(client, wechat_peer, session, script, status, code, reason):
    wechat_peer.fail("/sns/jscode2session", *script)
    users_before = session.scalar(sa.select(sa.func.count()).select_from(User))
    response = client.post(LOGIN, json={"code": wechat_peer.login_code("o-frank")})
    assert response.status_code == status, response.json
    assert response.json["error"]["code"] == code
    if status == 503:
        assert response.headers["Retry-After"] == "5" and response.json["error"]["details"]["reason"] == reason
    assert session.scalar(sa.select(sa.func.count()).select_from(User)) == users_before


def test_a_code_is_good_once_and_an_unknown_code_never(client, wechat_peer):
    code = wechat_peer.login_code("o-gina")
    assert client.post(LOGIN, json={"code": code}).status_code == 200
    reused = client.post(LOGIN, json={"code": code})
    assert reused.status_code == 401 and reused.json["error"]["code"] == "wechat_code_invalid"
    assert reused.headers["WWW-Authenticate"] == "Bearer"
    assert client.post(LOGIN, json={"code": "made-up"}).json["error"]["code"] == "wechat_code_invalid"


def test_a_wrong_secret_and_an_unreachable_server(app, client, wechat_peer):
    with configured(app, WECHAT_APP_SECRET="not-the-secret"):
        wrong = client.post(LOGIN, json={"code": wechat_peer.login_code("o-hank")})
    assert wrong.status_code == 502 and wrong.json["error"]["code"] == "wechat_error"
    assert "not-the-secret" not in wrong.get_data(as_text=True)
    with configured(app, WECHAT_API_BASE="http://127.0.0.1:9"):  # the discard port: nobody listens
        down = client.post(LOGIN, json={"code": "any"})
    assert down.status_code == 503 and down.json["error"]["details"]["reason"] == "unreachable"


def test_without_an_app_id_wechat_log_in_is_off(app, client):
    with configured(app, WECHAT_APP_ID=""):
        response = client.post(LOGIN, json={"code": "any"})
    assert response.status_code == 503 and response.json["error"]["code"] == "wechat_not_configured"


def test_log_in_is_rate_limited_like_the_password_log_in(app, client, wechat_peer):
    with configured(app, LOGIN_RATE_LIMIT="2 per minute", RATELIMIT_KEY_PREFIX=uuid.uuid4().hex):
        answers = [client.post(LOGIN, json={"code": "guess"}).status_code for _ in range(3)]
    assert answers == [401, 401, 429]


def test_a_closed_account_cannot_log_in(client, wechat_peer, session):
    token = client.post(LOGIN, json={"code": wechat_peer.login_code("o-ivy")}).json["access_token"]
    user = session.get(User, _me(client, token).json["id"])
    user.is_active = False
    session.flush()
    refused = client.post(LOGIN, json={"code": wechat_peer.login_code("o-ivy")})
    assert refused.status_code == 401 and refused.json["error"]["code"] == "bad_credentials"


def test_an_operator_logging_in_from_the_mini_program_keeps_their_roles(client, wechat_peer, make, session):
    operator = make.operator(make.hall())
    operator.phone = "13500000009"
    session.flush()
    response = client.post(
        LOGIN, json={"code": wechat_peer.login_code("o-jack"), "phone_code": wechat_peer.phone_code("13500000009")}
    )
    roles = {g["role"] for g in _me(client, response.json["access_token"]).json["grants"]}
    assert Role.HALL_OPERATOR.value in roles
