"""A live server with the demo data on a scratch database, and one headless Chromium (Debian's
package) for the whole run. Without Chromium or Playwright the browser tests are skipped, and the
run's summary says so."""

from __future__ import annotations

import pathlib
import shutil
import threading
from dataclasses import dataclass

import pytest
import sqlalchemy as sa
from werkzeug.serving import make_server

from shop import clock, create_app, demo, migrate
from shop.auth import service as auth_service
from shop.auth.models import Role, User
from shop.db import transaction
from shop.inventory import devices
from shop.inventory.models import Location, LocationKind
from shop.notifications.models import NotificationKind
from shop.notifications.service import notify
from tests.conftest import TEST_CONFIG, scratch_database

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = pathlib.Path(__file__).resolve().parents[2] / "test-artifacts" / "pages"
FENGJIE_OPERATOR = "operator-fengjie@demo.cq"
PHONE = {"width": 375, "height": 812}
# A notification in each hall operator's inbox: each sees their own only.
YUZHONG_NOTE = "渝中专馆：有SKU低于预警线"
FENGJIE_NOTE = "奉节专馆：有SKU低于预警线"
_SKIPPED: list[str] = []


@dataclass
class Site:
    url: str
    app: object
    yuzhong_id: int
    fengjie_id: int
    counter_id: int
    order_id: int
    pickup_code: str
    trace_code: str


def _extras(session) -> dict:
    """An operator of the Fengjie hall (the demo has one for Yuzhong) and a heartbeat with a temperature."""
    now = clock.now()
    halls = {loc.name: loc for loc in session.scalars(sa.select(Location).where(Location.kind != LocationKind.CENTRE))}
    yuzhong = next(loc for name, loc in halls.items() if "Yuzhong hall" in name)
    fengjie = next(loc for name, loc in halls.items() if "Fengjie hall" in name)
    counter = next(loc for loc in halls.values() if loc.kind == LocationKind.COUNTER)
    user = auth_service.register_user(
        session, login=FENGJIE_OPERATOR, password=demo.DEMO_PASSWORD, display_name="奉节专馆运营"
    )
    auth_service.add_grant(session, user, Role.HALL_OPERATOR, fengjie.id, granted_by_id=None)
    devices.heartbeat(session, counter, {"temperature_c": 4.5, "door_open": False}, now=now, timeout_seconds=300)
    yuzhong_operator = session.scalar(sa.select(User.id).where(User.email == "operator@demo.cq"))
    for user_id, title in ((yuzhong_operator, YUZHONG_NOTE), (user.id, FENGJIE_NOTE)):
        notify(session, [user_id], NotificationKind.LOW_STOCK, title=title, body="请及时补货。", now=now)
    return {"yuzhong_id": yuzhong.id, "fengjie_id": fengjie.id, "counter_id": counter.id}


def _paid_pickup_order(client, hall_id: int) -> tuple[int, str]:
    """A buyer's order to pick up at the hall, paid by bank transfer that the admin confirmed."""

    def token(login):
        answer = client.post("/api/v1/auth/token", json={"login": login, "password": demo.DEMO_PASSWORD})
        return {"Authorization": f"Bearer {answer.json['access_token']}"}

    buyer, admin = token("buyer@demo.cq"), token("admin@demo.cq")
    sku = client.get(f"/api/v1/locations/{hall_id}/stock?in_stock=true", headers=admin).json["items"][0]["sku"]
    line = {"sku_id": sku["id"], "quantity": 1, "fulfilment": "pickup", "location_id": hall_id}
    assert client.post("/api/v1/cart/lines", headers=buyer, json=line).status_code == 201
    order = client.post("/api/v1/orders", headers=buyer, json={}).json
    payment = client.post(f"/api/v1/orders/{order['id']}/payments", headers=buyer, json={"gateway": "offline"}).json
    confirmed = client.post(f"/api/v1/payments/{payment['id']}/confirm", headers=admin, json={"reference": "BANK-1"})
    assert confirmed.status_code == 200, confirmed.json
    return order["id"], client.get(f"/api/v1/orders/{order['id']}", headers=buyer).json["pickup_code"]


def _assess_risks(client) -> None:
    """The coordinator asks for the risk assessment of every declared product (the demo declares one
    at each level), as the scheduled job would."""
    answer = client.post("/api/v1/auth/token", json={"login": "coordinator@demo.cq", "password": demo.DEMO_PASSWORD})
    headers = {"Authorization": f"Bearer {answer.json['access_token']}"}
    assessed = client.post("/api/v1/monitoring/risks/assess", headers=headers, json={})
    assert assessed.status_code == 200, assessed.json


@pytest.fixture(scope="session")
def site(database_url, tmp_path_factory):
    """The app with the demo data, committed, served on a free loopback port."""
    with scratch_database(database_url, tmp_path_factory.mktemp("site")) as url:
        migrate.upgrade(url)
        app = create_app({**TEST_CONFIG, "DATABASE_URL": url})
        factory = app.extensions["shop"]["sessionmaker"]
        with app.app_context(), transaction(factory) as session:
            demo.load(session)
            ids = _extras(session)
            trace_code = session.scalar(sa.text("SELECT trace_code FROM stock_batches ORDER BY id LIMIT 1"))
        with app.app_context():
            order_id, code = _paid_pickup_order(app.test_client(), ids["yuzhong_id"])
            _assess_risks(app.test_client())
        server = make_server("127.0.0.1", 0, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield Site(
                url=f"http://127.0.0.1:{server.server_port}",
                app=app,
                order_id=order_id,
                pickup_code=code,
                trace_code=trace_code,
                **ids,
            )
        finally:
            server.shutdown()
            thread.join(5)
            app.extensions["shop"]["engine"].dispose()


@pytest.fixture(scope="session")
def browser():
    reason = None
    if not pathlib.Path(CHROMIUM).exists():
        reason = f"browser tests skipped: no Chromium at {CHROMIUM} (apt-get install -y chromium)"
    else:
        try:
            from playwright.sync_api import sync_playwright
        except ImportError:
            reason = "browser tests skipped: Playwright is not installed (pip install -e '.[test]')"
    if reason:
        _SKIPPED.append(reason)
        pytest.skip(reason)
    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, site):
    """A fresh context on a phone-sized screen; fails the test if anything was asked of another host."""
    context = browser.new_context(viewport=PHONE, locale="zh-CN", base_url=site.url)
    context.set_default_timeout(10_000)
    outside: list[str] = []
    context.on("request", lambda request: None if request.url.startswith(site.url) else outside.append(request.url))
    tab = context.new_page()
    yield tab
    context.close()
    assert outside == [], f"requests outside the app: {outside}"


@pytest.fixture
def shot(page):
    """Keep a screenshot of the page as a test artefact, after checking it fits a 375 px screen."""

    def take(name: str) -> None:
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"{name}: {width}px wide at a {PHONE['width']}px screen"
        page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)

    return take


@pytest.fixture
def log_in(page):
    def enter(login: str) -> None:
        page.goto("/login")
        page.get_by_label("邮箱或手机号").fill(login)
        page.get_by_label("密码").fill(demo.DEMO_PASSWORD)
        page.get_by_role("button", name="登录").click()
        page.wait_for_url("**/console")

    return enter


def pytest_terminal_summary(terminalreporter):
    for reason in sorted(set(_SKIPPED)):
        terminalreporter.write_line(f"NOTE: {reason}", yellow=True, bold=True)
