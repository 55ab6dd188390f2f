from shop import demo

P = "/api/v1/procurement"


def login(client, who):
    token = client.post("/api/v1/auth/token", json={"login": f"union-{who}@demo.cq", "password": demo.DEMO_PASSWORD})
    return {"Authorization": f"Bearer {token.json['access_token']}"}


def test_demo_union_can_submit_approve_and_pay_its_draft(client, session):
    summary = demo.load(session)
    assert summary["organisations"] == 1
    session.flush()
    purchaser, approver, finance = login(client, "purchaser"), login(client, "approver"), login(client, "finance")
    [union] = client.get(f"{P}/organisations", headers=purchaser).json["items"]
    assert union["is_verified"] and union["headcount"] == 1200 and union["separation_of_duties"]
    orders = client.get(f"{P}/organisations/{union['id']}/bulk-orders", headers=purchaser).json["items"]
    [order] = [o for o in orders if o["status"] == "draft"]  # beside it, the demo's paid union trip
    assert order["total_fen"] == 25 * 6480  # 25 boxes reach the 20-box tier
    year = order["fiscal_year"]
    before = client.get(f"{P}/organisations/{union['id']}/report?year={year}", headers=finance).json
    assert client.post(f"{P}/bulk-orders/{order['id']}/submit", headers=purchaser).status_code == 200
    assert client.post(f"{P}/bulk-orders/{order['id']}/approve", headers=approver, json={}).status_code == 200
    payment = client.post(f"{P}/bulk-orders/{order['id']}/payments", headers=finance, json={}).json
    paid = client.post(
        f"{P}/bulk-orders/{order['id']}/payments/{payment['id']}/confirm", headers=finance, json={"reference": "T"}
    )
    assert paid.status_code == 200
    events = client.get(f"{P}/bulk-orders/{order['id']}/events", headers=purchaser).json["items"]
    actors = {e["to_status"]: e["actor_id"] for e in events}
    assert len({actors["submitted"], actors["approved"], actors["paid"]}) == 3  # three people, as the rules want
    report = client.get(f"{P}/organisations/{union['id']}/report?year={year}", headers=finance).json
    assert report["budget_spent_fen"] - before["budget_spent_fen"] == 25 * 6480
    assert report["pledge_fen"] == 12_000_000
