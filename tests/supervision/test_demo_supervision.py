from shop import demo
from tests.supervision.conftest import P


def _headers(client, login):
    token = client.post("/api/v1/auth/token", json={"login": login, "password": demo.DEMO_PASSWORD})
    return {"Authorization": f"Bearer {token.json['access_token']}"}


def test_demo_has_complaints_in_every_state_a_flagged_price_and_a_failed_inspection(client, session):
    demo.load(session)
    session.flush()
    regulator, certifier = _headers(client, "regulator@demo.cq"), _headers(client, "certifier@demo.cq")
    seen = client.get(f"{P}/complaints?size=100", headers=certifier).json["items"]
    assert {c["status"] for c in seen} == {"filed", "accepted", "awaiting_supplier", "decided", "closed"}
    assert {c["outcome"] for c in seen} >= {"upheld", "dismissed"}
    assert client.get(f"{P}/complaints?overdue=true", headers=certifier).json["total"] >= 1
    assert client.get(f"{P}/complaints?handler=regulator", headers=regulator).json["total"] == 1  # the report
    flags = client.get(f"{P}/price-flags?open=true", headers=regulator).json["items"]
    assert flags and {f["kind"] for f in flags} == {"above_reference"}
    failed = client.get(f"{P}/inspections?result=failed", headers=regulator).json["items"]
    assert len(failed) == 1 and failed[0]["scope"] == "batch"
    summary = client.get(f"{P}/supervision/reports/summary", headers=regulator).json
    assert summary["failed_inspections"] and summary["open_price_flags"] and summary["sanctions"]
