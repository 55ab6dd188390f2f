from datetime import timedelta

import sqlalchemy as sa

from shop import clock
from shop.auth.models import Role
from shop.inventory.models import Batch, Movement, china_today
from tests.factories import FENGJIE, WUSHAN
from tests.orders.conftest import add_to_cart
from tests.supervision.conftest import P, cert_of

SHA = "ef" * 32


def _inspect(client, headers, **body):
    body = {"result": "failed", "report_url": "https://lab.example.com/r.pdf", "report_sha256": SHA, **body}
    return client.post(f"{P}/inspections", json=body, headers=headers)


def test_a_failed_batch_is_frozen_everywhere_suspends_and_recalls_its_orders(client, make, session, shop):
    today = china_today(clock.now())
    # the shop holds 10 units at the counter and 10 at the hall; a batch expiring first comes on top
    bad = make.stock(shop.counter, shop.sku, 5, best_before=today + timedelta(days=5))
    make.stock(shop.hall, shop.sku, 2, trace_code=None, best_before=today + timedelta(days=5))
    add_to_cart(client, shop.buyer_headers, shop.sku, shop.counter, 2)
    taken = client.post(f"{P}/orders", headers=shop.buyer_headers, json={})
    assert taken.status_code == 201
    before = {
        a["location"]["id"]: a["skus"][0]["available"]
        for a in client.get(f"{P}/products/{shop.sku.product_id}/availability").json["items"]
    }
    assert before[shop.counter.id] == 13

    regulator = make.headers(make.user(Role.REGULATOR))
    assert _inspect(client, shop.buyer_headers, trace_code=bad).status_code == 403
    failed = _inspect(client, regulator, trace_code=bad, notes="农残超标")
    assert failed.status_code == 201, failed.json
    inspection = failed.json
    assert inspection["scope"] == "batch" and inspection["sanction_id"]
    assert inspection["recalls"] == [{"order_id": taken.json["id"], "units": 2}]
    events = client.get(f"{P}/orders/{taken.json['id']}/events", headers=shop.buyer_headers).json["items"]
    assert "recall" in events[-1]["note"] and events[-1]["from_status"] == events[-1]["to_status"]
    cert = cert_of(session, shop.sku.product)
    assert cert.status.value == "suspended"
    trace = client.get(f"{P}/trace/{bad}").json
    assert trace["frozen"] is True and trace["inspections"][0]["result"] == "failed"

    # lifted, the product sells again, but never from the frozen batch
    client.post(f"{P}/sanctions/{inspection['sanction_id']}/lift", json={"reason": "整改"}, headers=regulator)
    after = {
        a["location"]["id"]: a["skus"][0]["available"]
        for a in client.get(f"{P}/products/{shop.sku.product_id}/availability").json["items"]
    }
    assert after[shop.counter.id] == 10
    frozen_id = session.scalar(sa.select(Batch.id).where(Batch.trace_code == bad))

    def moves_on_frozen():
        return session.scalar(sa.select(sa.func.count()).where(Movement.batch_id == frozen_id))

    moves = moves_on_frozen()
    add_to_cart(client, shop.buyer_headers, shop.sku, shop.counter, 10)
    assert client.post(f"{P}/orders", headers=shop.buyer_headers, json={}).status_code == 201
    assert moves_on_frozen() == moves
    add_to_cart(client, shop.buyer_headers, shop.sku, shop.counter, 1)
    short = client.post(f"{P}/orders", headers=shop.buyer_headers, json={})
    assert short.status_code == 409 and short.json["error"]["code"] == "out_of_stock"


def test_a_product_check_passed_changes_nothing_and_scope_of_who_sees(client, make, session):
    product = make.product(make.supplier(FENGJIE))
    make.certified(product)
    regulator = make.headers(make.user(Role.REGULATOR))
    passed = _inspect(client, regulator, product_id=product.id, result="passed")
    assert passed.status_code == 201 and passed.json["sanction_id"] is None
    assert client.get(f"{P}/products/{product.id}").status_code == 200
    assert _inspect(client, regulator).status_code == 422
    assert _inspect(client, regulator, product_id=product.id, trace_code="X").status_code == 422
    fj, ws = make.headers(make.certifier(FENGJIE)), make.headers(make.certifier(WUSHAN))
    assert client.get(f"{P}/inspections/{passed.json['id']}", headers=fj).status_code == 200
    assert client.get(f"{P}/inspections/{passed.json['id']}", headers=ws).status_code == 404
    assert client.get(f"{P}/inspections", headers=ws).json["total"] == 0
    assert client.get(f"{P}/inspections", headers=make.headers(make.user())).json["total"] == 0
    failed = _inspect(client, regulator, product_id=product.id)
    assert failed.json["sanction_id"] and client.get(f"{P}/products/{product.id}").status_code == 404
