from shop import demo


def test_demo_data_has_every_certification_state_and_the_accounts_log_in(client, session):
    summary = demo.load(session)
    for state in ("pending", "approved", "rejected", "in_objection_window", "in_force", "expired", "revoked"):
        assert summary[state] >= 1, state
    session.flush()
    names = [p["name"] for p in client.get("/api/v1/products?size=100").json["items"]]
    assert any("Fengjie navel oranges" in n for n in names)
    assert not any("Chengkou cured pork" in n for n in names)  # expired
    assert not any("Youyang tribute rice" in n for n in names)  # revoked
    for login, *_ in demo.ACCOUNTS:
        token = client.post("/api/v1/auth/token", json={"login": login, "password": demo.DEMO_PASSWORD})
        assert token.status_code == 200, login
    certifier = client.post("/api/v1/auth/token", json={"login": "certifier@demo.cq", "password": demo.DEMO_PASSWORD})
    headers = {"Authorization": f"Bearer {certifier.json['access_token']}"}
    statuses = {
        c["effective_status"] for c in client.get("/api/v1/certifications?size=100", headers=headers).json["items"]
    }
    assert statuses == {"pending", "approved", "rejected", "in_objection_window", "in_force", "expired", "revoked"}
    assert demo.has_data(session)


def test_demo_offers_are_running(client, session):
    demo.load(session)
    session.flush()
    assert client.get("/api/v1/promotions").json["total"] == 2
    rush = client.get("/api/v1/rush-sales").json["items"]
    assert [r["remaining"] for r in rush] == [20]
    token = client.post("/api/v1/auth/token", json={"login": "buyer@demo.cq", "password": demo.DEMO_PASSWORD})
    headers = {"Authorization": f"Bearer {token.json['access_token']}"}
    assert client.get("/api/v1/points", headers=headers).json["balance"] == 5000
