"""`flask inventory check` rebuilds every balance from the ledger."""

import sqlalchemy as sa

from shop.auth.models import Role


def test_check_agrees_after_every_kind_of_movement_and_finds_drift(app, client, make, session):
    hall, counter = make.hall(), make.counter()
    sku = make.sku()
    code = make.stock(hall, sku, 20)
    admin = make.headers(make.user(Role.ADMIN))

    def post(url, body, status=201):
        response = client.post(url, json=body, headers=admin)
        assert response.status_code == status, response.json
        return response.json

    post(f"/api/v1/locations/{hall.id}/sales", {"lines": [{"sku_id": sku.id, "quantity": 2}]})
    post(
        f"/api/v1/locations/{hall.id}/returns",
        {"reason": "r", "lines": [{"trace_code": code, "quantity": 1}]},
    )
    post(
        f"/api/v1/locations/{hall.id}/counts",
        {"reason": "count", "lines": [{"trace_code": code, "counted": 18}]},
    )
    post(
        f"/api/v1/locations/{hall.id}/write-offs",
        {"reason": "damaged", "lines": [{"trace_code": code, "quantity": 1}]},
    )
    transfer = post(
        "/api/v1/transfers",
        {"from_location_id": hall.id, "to_location_id": counter.id, "lines": [{"sku_id": sku.id, "quantity": 5}]},
    )
    line = transfer["lines"][0]["id"]
    post(
        f"/api/v1/transfers/{transfer['id']}/receive",
        {"lines": [{"line_id": line, "quantity_received": 4}]},
        status=200,
    )
    runner = app.test_cli_runner()
    ok = runner.invoke(args=["inventory", "check"])
    assert ok.exit_code == 0, ok.output
    assert "every balance agrees" in ok.output

    session.execute(
        sa.text("UPDATE stock_levels SET on_hand = on_hand + 3 WHERE location_id = :l AND sku_id = :s"),
        {"l": counter.id, "s": sku.id},
    )
    session.execute(sa.text("UPDATE stock_transfer_lines SET quantity_received = 5 WHERE id = :id"), {"id": line})
    drift = runner.invoke(args=["inventory", "check"])
    assert drift.exit_code == 1
    assert (
        f"stock_level location_id={counter.id}, sku_id={sku.id}: cached {{'on_hand': 7, 'reserved': 0}}" in drift.output
    )
    assert f"transfer transfer_id={transfer['id']}" in drift.output
    assert "2 balance(s) differ" in drift.output
