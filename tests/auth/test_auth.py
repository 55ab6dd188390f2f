import pytest
from flask_jwt_extended import create_refresh_token

from shop import create_app
from shop.auth.models import Role
from tests.conftest import TEST_CONFIG


def _login(client, login, password="secret-pass-1"):
    return client.post("/api/v1/auth/token", json={"login": login, "password": password})


def test_register_with_email_or_phone_then_log_in(client):
    by_mail = client.post(
        "/api/v1/auth/register", json={"login": "Li.Na@Example.cn", "password": "long-enough-1", "display_name": "李娜"}
    )
    assert by_mail.status_code == 201
    assert by_mail.json["email"] == "li.na@example.cn"
    assert [g["role"] for g in by_mail.json["grants"]] == ["buyer"]
    by_phone = client.post(
        "/api/v1/auth/register", json={"login": "+86 138-2345-6789", "password": "long-enough-1", "display_name": "王"}
    )
    assert by_phone.status_code == 201 and by_phone.json["phone"] == "13823456789"

    token = _login(client, "13823456789", "long-enough-1")
    assert token.status_code == 200
    body = token.json
    assert body["token_type"] == "Bearer" and body["access_token"] and body["refresh_token"]
    me = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.json["display_name"] == "王"


def test_password_is_stored_as_argon2(make):
    user = make.user(password="secret-pass-1")
    assert user.password_hash.startswith("$argon2id$")


def test_duplicate_login_is_409(client, make):
    make.user(login="taken@test.cq")
    response = client.post(
        "/api/v1/auth/register", json={"login": "TAKEN@test.cq", "password": "long-enough-1", "display_name": "x"}
    )
    assert response.status_code == 409
    assert response.json["error"]["code"] == "login_taken"


def test_login_must_be_email_or_mobile(client):
    response = client.post(
        "/api/v1/auth/register", json={"login": "not-a-login", "password": "long-enough-1", "display_name": "x"}
    )
    assert response.status_code == 422
    assert "login" in response.json["error"]["details"]["fields"]


def test_wrong_password_and_unknown_login_answer_alike(client, make):
    make.user(login="me@test.cq")
    wrong = _login(client, "me@test.cq", "wrong-password")
    unknown = _login(client, "nobody@test.cq", "wrong-password")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json == unknown.json
    assert wrong.headers["WWW-Authenticate"] == "Bearer"


def test_refresh_gives_a_new_access_token_and_access_tokens_cannot_refresh(client, make):
    make.user(login="r@test.cq")
    tokens = _login(client, "r@test.cq").json
    refreshed = client.post("/api/v1/auth/refresh", headers={"Authorization": f"Bearer {tokens['refresh_token']}"})
    assert refreshed.status_code == 200 and refreshed.json["access_token"]
    assert "refresh_token" not in refreshed.json
    wrong = client.post("/api/v1/auth/refresh", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert wrong.status_code == 401
    # and a refresh token is no access token
    assert (
        client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {tokens['refresh_token']}"}).status_code == 401
    )


def test_logout_revokes_access_and_refresh_tokens(client, make):
    make.user(login="out@test.cq")
    tokens = _login(client, "out@test.cq").json
    access = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert (
        client.post("/api/v1/auth/logout", json={"refresh_token": tokens["refresh_token"]}, headers=access).status_code
        == 204
    )
    again = client.get("/api/v1/auth/me", headers=access)
    assert again.status_code == 401 and again.json["error"]["code"] == "token_revoked"
    refresh = client.post("/api/v1/auth/refresh", headers={"Authorization": f"Bearer {tokens['refresh_token']}"})
    assert refresh.status_code == 401


def test_logout_refuses_someone_elses_refresh_token(app, client, make):
    me, other = make.user(), make.user()
    with app.app_context():
        foreign = create_refresh_token(identity=str(other.id))
    response = client.post("/api/v1/auth/logout", json={"refresh_token": foreign}, headers=make.headers(me))
    assert response.status_code == 403


def test_garbage_bearer_token_is_401(client):
    response = client.get("/api/v1/auth/me", headers={"Authorization": "Bearer not.a.token"})
    assert response.status_code == 401
    assert response.json["error"]["code"] == "invalid_token"


def test_login_attempts_are_rate_limited(engine):
    app = create_app({**TEST_CONFIG, "ENGINE": engine, "LOGIN_RATE_LIMIT": "3 per minute"})
    client = app.test_client()
    statuses = [
        client.post("/api/v1/auth/token", json={"login": "x@test.cq", "password": "nope"}).status_code for _ in range(4)
    ]
    assert statuses == [401, 401, 401, 429]
    limited = client.post("/api/v1/auth/token", json={"login": "x@test.cq", "password": "nope"})
    assert limited.json["error"]["code"] == "rate_limited"
    assert int(limited.headers["Retry-After"]) > 0


def test_admin_grants_and_revokes_scoped_roles(client, make):
    admin = make.user(Role.ADMIN)
    target = make.user()
    url = f"/api/v1/admin/users/{target.id}/roles"
    granted = client.post(url, json={"role": "certifier", "scope_id": 500236}, headers=make.headers(admin))
    assert granted.status_code == 201
    assert granted.json == {"id": granted.json["id"], "role": "certifier", "scope_kind": "district", "scope_id": 500236}
    me = client.get("/api/v1/auth/me", headers=make.headers(target)).json
    assert {"role": "certifier", "scope_id": 500236} in [{k: g[k] for k in ("role", "scope_id")} for g in me["grants"]]
    revoked = client.delete(f"{url}/{granted.json['id']}", headers=make.headers(admin))
    assert revoked.status_code == 204
    me = client.get("/api/v1/auth/me", headers=make.headers(target)).json
    assert [g["role"] for g in me["grants"]] == ["buyer"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"role": "certifier"}, "scope_id"),  # needs a district
        ({"role": "certifier", "scope_id": 999999}, "scope_id"),  # unknown district
        ({"role": "regulator", "scope_id": 500236}, "scope_id"),  # not scoped
        ({"role": "emperor"}, "role"),
    ],
)
def test_grant_validates_role_and_scope(client, make, body, field):
    admin, target = make.user(Role.ADMIN), make.user()
    response = client.post(f"/api/v1/admin/users/{target.id}/roles", json=body, headers=make.headers(admin))
    assert response.status_code == 422
    assert field in response.json["error"]["details"]["fields"]


def test_supplier_member_grant_checks_the_supplier_exists(client, make):
    admin, target, supplier = make.user(Role.ADMIN), make.user(), make.supplier()
    ok = client.post(
        f"/api/v1/admin/users/{target.id}/roles",
        json={"role": "supplier_member", "scope_id": supplier.id},
        headers=make.headers(admin),
    )
    assert ok.status_code == 201
    bad = client.post(
        f"/api/v1/admin/users/{target.id}/roles",
        json={"role": "supplier_member", "scope_id": supplier.id + 1000},
        headers=make.headers(admin),
    )
    assert bad.status_code == 422


def test_only_admins_manage_roles(client, make):
    someone, target = make.user(Role.REGULATOR), make.user()
    response = client.post(
        f"/api/v1/admin/users/{target.id}/roles", json={"role": "admin"}, headers=make.headers(someone)
    )
    assert response.status_code == 403
    assert client.get("/api/v1/admin/users", headers=make.headers(someone)).status_code == 403


def test_nobody_grants_roles_to_themselves(client, make, session):
    admin = make.user(Role.ADMIN)
    for body in ({"role": "regulator"}, {"role": "certifier", "scope_id": 500236}, {"role": "admin"}):
        response = client.post(f"/api/v1/admin/users/{admin.id}/roles", json=body, headers=make.headers(admin))
        assert response.status_code == 403 and response.json["error"]["code"] == "self_grant"
    me = client.get("/api/v1/auth/me", headers=make.headers(admin)).json
    assert sorted(g["role"] for g in me["grants"]) == ["admin", "buyer"]
    # another admin may
    other = make.user(Role.ADMIN)
    body = {"role": "regulator"}
    assert (
        client.post(f"/api/v1/admin/users/{admin.id}/roles", json=body, headers=make.headers(other)).status_code == 201
    )


def test_admin_finds_users(client, make):
    admin = make.user(Role.ADMIN)
    make.user(login="findme@test.cq")
    found = client.get("/api/v1/admin/users?q=findme", headers=make.headers(admin)).json
    assert [u["email"] for u in found["items"]] == ["findme@test.cq"]


def test_revoked_role_takes_effect_on_the_next_request(client, make):
    admin_user = make.user(Role.ADMIN)
    headers = make.headers(admin_user)
    assert client.get("/api/v1/admin/users", headers=headers).status_code == 200
    other_admin = make.user(Role.ADMIN)
    grant = next(g for g in admin_user.grants if g.role == Role.ADMIN)
    client.delete(f"/api/v1/admin/users/{admin_user.id}/roles/{grant.id}", headers=make.headers(other_admin))
    assert client.get("/api/v1/admin/users", headers=headers).status_code == 403
