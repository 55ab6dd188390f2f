"""The demo has a year of figures, a plan and a published bulletin, and its facts agree with the sources."""

from shop import clock, demo
from shop.inventory.models import china_today
from shop.statistics import facts
from shop.statistics.demo import COORDINATOR


def test_demo_statistics(client, session):
    summary = demo.load(session)
    assert summary["facts_832"] == 48 and summary["bulletins"] == 1
    assert facts.check(session) == []
    login = client.post("/api/v1/auth/token", json={"login": COORDINATOR, "password": demo.DEMO_PASSWORD})
    assert login.status_code == 200, login.json
    headers = {"Authorization": f"Bearer {login.json['access_token']}"}
    [bulletin] = client.get("/api/v1/statistics/bulletins", headers=headers).json["items"]
    assert bulletin["number"].endswith("-001") and bulletin["figures"]["channels"]
    this_year = china_today(clock.now()).year  # the plan's; last month's bulletin may be of last year
    progress = client.get(f"/api/v1/statistics/plans/{this_year}/progress", headers=headers)
    assert progress.status_code == 200 and len(progress.json["targets"]) == 4
