"""Parallel bookings on PostgreSQL with real commits: the last rooms of a night go to exactly as many
buyers as there are rooms, by one conditional UPDATE each."""

import sqlalchemy as sa

from shop.bookings.models import Booking, BookingStatus, Slot
from shop.db import transaction
from tests.bookings.conftest import committed_homestay
from tests.orders.conftest import checkout_all


def test_parallel_bookings_of_the_last_rooms_sell_exactly_the_capacity(committed_app):
    factory, slot_id, tokens = committed_homestay(committed_app, capacity=3, buyers=16)
    responses = checkout_all(committed_app, tokens)
    statuses = [r.status_code for r in responses]
    assert statuses.count(201) == 3, statuses
    assert {r.json["error"]["code"] for r in responses if r.status_code != 201} == {"slot_full"}
    with transaction(factory) as session:
        assert session.scalar(sa.select(Slot.booked).where(Slot.id == slot_id)) == 3
        held = session.scalar(
            sa.select(sa.func.sum(Booking.units)).where(
                Booking.slot_id == slot_id, Booking.status == BookingStatus.HELD
            )
        )
        assert held == 3
