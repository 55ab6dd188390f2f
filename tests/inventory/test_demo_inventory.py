from shop import demo
from shop.inventory.ledger import check_balances


def _login(client, login):
    token = client.post("/api/v1/auth/token", json={"login": login, "password": demo.DEMO_PASSWORD}).json
    return {"Authorization": f"Bearer {token['access_token']}"}


def test_demo_inventory_tells_the_story(client, session):
    summary = demo.load(session)
    assert summary["locations"] == 5 and summary["batches"] >= 8
    session.flush()
    operator = _login(client, "operator@demo.cq")
    locations = client.get("/api/v1/locations", headers=operator).json["items"]
    assert {loc["kind"] for loc in locations} == {"hall", "counter", "zone"}  # the Yuzhong hall and what hangs under it
    hospital = next(loc for loc in locations if loc["kind"] == "counter")
    assert hospital["host_institution"] == "重庆医科大学附属第一医院" and hospital["has_counter_key"]
    hall = next(loc for loc in locations if loc["kind"] == "hall")

    expired = client.get(f"/api/v1/locations/{hall['id']}/batches?expired=true", headers=operator).json["items"]
    assert [b["sku"]["code"] for b in expired] == ["WS-PLUM-2.5KG"]
    low = client.get("/api/v1/inventory/low-stock", headers=operator).json["items"]
    assert {row["sku"]["code"] for row in low} == {"FL-ZHACAI-80G-10", "FJ-NAVEL-5KG"}
    assert {row["location"]["id"] for row in low} == {hospital["id"]}
    zhacai = next(row for row in low if row["sku"]["code"] == "FL-ZHACAI-80G-10")
    assert zhacai["daily_velocity"] > 0 and zhacai["in_transit"] == 12 and zhacai["suggested_restock"] > 0
    stale = client.get("/api/v1/inventory/stale-counters", headers=operator).json["items"]
    assert [s["location"]["id"] for s in stale] == [hospital["id"]]
    transfers = client.get("/api/v1/transfers?status=in_transit", headers=operator).json["items"]
    assert len(transfers) == 1 and transfers[0]["to_location"]["id"] == hospital["id"]

    key = {"X-Counter-Key": demo.DEMO_COUNTER_KEY}
    assert client.post(f"/api/v1/counters/{hospital['id']}/heartbeats", json={}, headers=key).status_code == 200

    oranges = next(p for p in client.get("/api/v1/products?size=100").json["items"] if "navel" in p["name"])
    where = client.get(f"/api/v1/products/{oranges['id']}/availability").json["items"]
    assert {a["location"]["district"]["id"] for a in where} == {500103, 500236}
    code = expired[0]["trace_code"]
    trace = client.get(f"/api/v1/trace/{code}").json
    assert trace["expired"] is True and trace["producer"]["name"] == "巫山县曲尺脆李种植专业合作社"
    assert trace["certification"]["in_force"] is True
    assert check_balances(session) == []
