"""The hooks orders will call: reserve at a location (FEFO), release, commit."""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from shop import clock
from shop.errors import Conflict, IllegalTransition, NotFound
from shop.inventory import movements, reservations
from shop.inventory.errors import InsufficientStock, LocationInactive, NotInForce
from shop.inventory.ledger import check_balances
from shop.inventory.models import Batch, BatchLevel, Reservation, StockLevel, china_today


def _level(session, location, sku):
    session.expire_all()
    level = session.get(StockLevel, (location.id, sku.id))
    return level.on_hand, level.reserved


@pytest.fixture
def stocked(make):
    hall = make.hall()
    sku = make.sku()
    today = china_today(clock.now())
    make.stock(hall, sku, 3, best_before=today + timedelta(days=2), trace_code="RS-SOON")
    make.stock(hall, sku, 5, best_before=today + timedelta(days=9), trace_code="RS-LATER")
    return hall, sku


def test_reserve_fefo_then_commit(session, stocked):
    hall, sku = stocked
    now = clock.now()
    reservation = reservations.reserve_stock(
        session, location_id=hall.id, reference="order:1", lines=[{"sku_id": sku.id, "quantity": 4}], now=now
    )
    assert session.get(Reservation, reservation).status == "held"
    held = reservations.reserved_lines(session, reservation)
    assert [(m.reserved) for m in held] == [3, 1]
    assert _level(session, hall, sku) == (8, 4)
    # reserved units are not for sale
    with pytest.raises(InsufficientStock):
        movements.sell(session, hall.id, [{"sku_id": sku.id, "quantity": 5}], now=now)
    reservations.commit_reservation(session, reference="order:1", now=now)
    assert _level(session, hall, sku) == (4, 0)
    with pytest.raises(IllegalTransition):
        reservations.commit_reservation(session, reference="order:1", now=now)
    with pytest.raises(IllegalTransition):
        reservations.release_reservation(session, reference="order:1", now=now)
    assert check_balances(session) == []


def test_release_gives_units_back(session, stocked):
    hall, sku = stocked
    now = clock.now()
    reservations.reserve_stock(
        session, location_id=hall.id, reference="order:2", lines=[{"sku_id": sku.id, "quantity": 8}], now=now
    )
    assert _level(session, hall, sku) == (8, 8)
    reservations.release_reservation(session, reference="order:2", now=now)
    assert _level(session, hall, sku) == (8, 0)
    with pytest.raises(NotFound):
        reservations.release_reservation(session, reference="order:nope", now=now)
    assert check_balances(session) == []


def test_reservations_are_idempotent_by_reference(session, stocked):
    hall, sku = stocked
    now = clock.now()
    lines = [{"sku_id": sku.id, "quantity": 2}]
    first = reservations.reserve_stock(session, location_id=hall.id, reference="order:3", lines=lines, now=now)
    again = reservations.reserve_stock(session, location_id=hall.id, reference="order:3", lines=lines, now=now)
    assert again == first
    assert _level(session, hall, sku) == (8, 2)
    with pytest.raises(Conflict, match="another reservation"):
        reservations.reserve_stock(
            session, location_id=hall.id, reference="order:3", lines=[{"sku_id": sku.id, "quantity": 3}], now=now
        )


def test_reservation_refusals(session, make, stocked):
    hall, sku = stocked
    now = clock.now()
    with pytest.raises(InsufficientStock) as short:
        reservations.reserve_stock(
            session, location_id=hall.id, reference="order:4", lines=[{"sku_id": sku.id, "quantity": 9}], now=now
        )
    assert short.value.details["available"] == 8
    uncertified = make.sku(certified=False)
    make.stock(hall, uncertified, 5)
    with pytest.raises(NotInForce):
        reservations.reserve_stock(
            session,
            location_id=hall.id,
            reference="order:5",
            lines=[{"sku_id": uncertified.id, "quantity": 1}],
            now=now,
        )
    # an expired batch is never reserved
    with pytest.raises(InsufficientStock):
        reservations.reserve_stock(
            session,
            location_id=hall.id,
            reference="order:6",
            lines=[{"sku_id": sku.id, "quantity": 6}],
            now=now + timedelta(days=3),
        )
    hall.is_active = False
    session.flush()
    with pytest.raises(LocationInactive):
        reservations.reserve_stock(
            session, location_id=hall.id, reference="order:7", lines=[{"sku_id": sku.id, "quantity": 1}], now=now
        )


def test_a_reserved_batch_that_expired_is_not_handed_over(session, stocked):
    hall, sku = stocked
    now = clock.now()
    reservations.reserve_stock(
        session, location_id=hall.id, reference="order:8", lines=[{"sku_id": sku.id, "quantity": 1}], now=now
    )
    with pytest.raises(Conflict) as refused:
        reservations.commit_reservation(session, reference="order:8", now=now + timedelta(days=3))
    assert refused.value.code == "reserved_batch_expired"


def test_a_count_cannot_go_below_what_is_reserved(client, make, session, stocked):
    hall, sku = stocked
    reservations.reserve_stock(
        session, location_id=hall.id, reference="order:9", lines=[{"sku_id": sku.id, "quantity": 3}], now=clock.now()
    )
    operator = make.headers(make.operator(hall))
    response = client.post(
        f"/api/v1/locations/{hall.id}/counts",
        json={"reason": "count", "lines": [{"trace_code": "RS-SOON", "counted": 2}]},
        headers=operator,
    )
    assert response.status_code == 409 and response.json["error"]["code"] == "count_below_reserved"
    write_off = client.post(
        f"/api/v1/locations/{hall.id}/write-offs",
        json={"reason": "damaged", "lines": [{"trace_code": "RS-SOON", "quantity": 1}]},
        headers=operator,
    )
    assert write_off.status_code == 409


def test_a_refused_reservation_changes_no_balance(session, make, stocked):
    hall, sku = stocked
    later = clock.now() + timedelta(days=3)  # the 3 units best before day 2 no longer sell; 5 do
    with pytest.raises(InsufficientStock):
        reservations.reserve_stock(
            session, location_id=hall.id, reference="order:7", lines=[{"sku_id": sku.id, "quantity": 7}], now=later
        )
    assert _level(session, hall, sku) == (8, 0)
    other = make.sku()
    make.stock(hall, other, 1)
    with pytest.raises(InsufficientStock):
        reservations.reserve_stock(
            session,
            location_id=hall.id,
            reference="order:8",
            lines=[{"sku_id": sku.id, "quantity": 2}, {"sku_id": other.id, "quantity": 2}],
            now=clock.now(),
        )
    assert _level(session, hall, sku) == (8, 0) and _level(session, hall, other) == (1, 0)
    assert check_balances(session) == []


def test_a_one_batch_reservation_takes_the_earliest_sellable_batch(session, make):
    # on PostgreSQL a database function reserves the level, picks the batch and writes the ledger
    # row in one call: it must pick as the rule does (not expired, not quarantined, not frozen, FEFO)
    hall, sku = make.hall(), make.sku()
    today = china_today(clock.now())
    codes = ["OB-EXPIRES", "OB-QUARANTINED", "OB-FROZEN", "OB-TAKEN", "OB-LATER"]
    for days, code in enumerate(codes, start=1):
        make.stock(hall, sku, 5, best_before=today + timedelta(days=days), trace_code=code)
    batches = {b.trace_code: b for b in session.scalars(sa.select(Batch).where(Batch.trace_code.in_(codes)))}
    quarantined = session.get(BatchLevel, (hall.id, batches["OB-QUARANTINED"].id))
    quarantined.quarantined_at = clock.now()
    batches["OB-FROZEN"].frozen_at = clock.now()
    session.flush()
    reservation = reservations.reserve_stock(
        session,
        location_id=hall.id,
        reference="order:one-batch",
        lines=[{"sku_id": sku.id, "quantity": 2}],
        now=clock.now() + timedelta(days=2),  # OB-EXPIRES is past its best-before day
    )
    held = reservations.reserved_lines(session, reservation)
    assert [(m.batch_id, m.reserved) for m in held] == [(batches["OB-TAKEN"].id, 2)]
    assert _level(session, hall, sku) == (25, 2)
    assert check_balances(session) == []
