"""The demo has a product at each risk level, a running campaign with allocations and a cold cabinet
out of range with its batch quarantined."""

from shop import demo
from shop.statistics.demo import COORDINATOR

M = "/api/v1/monitoring"


def _headers(client, login):
    token = client.post("/api/v1/auth/token", json={"login": login, "password": demo.DEMO_PASSWORD})
    assert token.status_code == 200, token.json
    return {"Authorization": f"Bearer {token.json['access_token']}"}


def test_demo_monitoring(client, session):
    summary = demo.load(session)
    assert (summary["declarations"], summary["campaigns"], summary["cold_chain_incidents"]) == (4, 1, 1)
    coordinator = _headers(client, COORDINATOR)
    risks = client.get(f"{M}/risks", headers=coordinator).json["items"]
    assert sorted(r["level"] for r in risks) == ["critical", "none", "warning", "watch"]
    [running] = client.get("/api/v1/campaigns").json["items"]
    assert len(running["products"]) == 2
    detail = client.get(f"{M}/campaigns/{running['id']}", headers=coordinator).json
    assert detail["allocated_quantity"] == 80 and len(detail["progress"]["by_organisation"]) == 2
    admin = _headers(client, "admin@demo.cq")
    [incident] = client.get(f"{M}/cold-chain/incidents", headers=admin).json["items"]
    assert incident["status"] == "open" and incident["celsius"] == 11.5
    assert [q["units"] for q in incident["quarantines"]] == [8]
    # the supplier sees its own declarations, the hall operator of Yuzhong no incident of Fengjie
    supplier = _headers(client, "supplier@demo.cq")
    assert [r["level"] for r in client.get(f"{M}/risks", headers=supplier).json["items"]] == ["watch"]  # its oranges
    assert client.get(f"{M}/cold-chain/incidents", headers=_headers(client, "operator@demo.cq")).json["items"] == []
