"""Logout ends the log-in session: its refresh token and every access token issued from it, before or
after, answer 401; the same user's other sessions keep working."""


def _login(client, login="fam@test.cq", password="secret-pass-1"):
    response = client.post("/api/v1/auth/token", json={"login": login, "password": password})
    assert response.status_code == 200
    return response.json


def _bearer(token):
    return {"Authorization": f"Bearer {token}"}


def _refresh(client, refresh_token):
    return client.post("/api/v1/auth/refresh", headers=_bearer(refresh_token))


def test_logout_revokes_the_whole_token_family_and_only_it(client, make):
    make.user(login="fam@test.cq")
    mine = _login(client)
    other_session = _login(client)
    refreshed = _refresh(client, mine["refresh_token"]).json["access_token"]
    assert client.get("/api/v1/auth/me", headers=_bearer(refreshed)).status_code == 200

    # logging out with the original access token only, without naming the refresh token
    assert client.post("/api/v1/auth/logout", json={}, headers=_bearer(mine["access_token"])).status_code == 204

    for token in (mine["access_token"], refreshed):
        gone = client.get("/api/v1/auth/me", headers=_bearer(token))
        assert gone.status_code == 401 and gone.json["error"]["code"] == "token_revoked"
    assert _refresh(client, mine["refresh_token"]).status_code == 401

    assert client.get("/api/v1/auth/me", headers=_bearer(other_session["access_token"])).status_code == 200
    again = _refresh(client, other_session["refresh_token"])
    assert again.status_code == 200
    assert client.get("/api/v1/auth/me", headers=_bearer(again.json["access_token"])).status_code == 200


def test_logout_with_a_refreshed_access_token_ends_the_session_it_came_from(client, make):
    make.user(login="fam@test.cq")
    mine = _login(client)
    refreshed = _refresh(client, mine["refresh_token"]).json["access_token"]
    assert client.post("/api/v1/auth/logout", json={}, headers=_bearer(refreshed)).status_code == 204
    assert client.get("/api/v1/auth/me", headers=_bearer(mine["access_token"])).status_code == 401
    assert _refresh(client, mine["refresh_token"]).status_code == 401
