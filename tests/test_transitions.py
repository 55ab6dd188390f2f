"""The six state machines move through one helper: same signature, same refusal, same record."""

import inspect
from datetime import UTC, datetime

import pytest

from payments.models import Payment, PaymentStatus
from shop.certification.models import Certification, CertStatus
from shop.errors import IllegalTransition
from shop.inventory.models import Reservation, ReservationStatus, Transfer, TransferStatus
from shop.orders.models import Order, OrderStatus
from shop.procurement.models import BulkOrder, BulkOrderStatus
from shop.transitions import StateMachine

AT = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
MACHINES = [
    (Order, OrderStatus),
    (BulkOrder, BulkOrderStatus),
    (Certification, CertStatus),
    (Payment, PaymentStatus),
    (Transfer, TransferStatus),
    (Reservation, ReservationStatus),
]


@pytest.mark.parametrize(("model", "statuses"), MACHINES)
def test_each_machine_uses_the_one_helper_with_its_table_beside_the_model(model, statuses):
    assert issubclass(model, StateMachine)
    assert "transition" not in vars(model)  # no machine has its own
    assert set(model.TRANSITIONS) == set(statuses)  # every status says where it may go
    # the table lives in the model's module, beside the model
    assert any(value is model.TRANSITIONS for value in vars(inspect.getmodule(model)).values())


@pytest.mark.parametrize(("model", "statuses"), MACHINES)
def test_an_illegal_move_is_refused_and_changes_nothing(model, statuses):
    final = next(status for status in statuses if not model.TRANSITIONS[status])
    row = model(status=final)
    with pytest.raises(IllegalTransition) as refused:
        row.transition(next(iter(statuses)), actor_id=7, at=AT, reason="no")
    assert refused.value.status == 409
    assert refused.value.details == {
        "entity": model.ENTITY,
        "current": final.value,
        "target": next(iter(statuses)).value,
    }
    assert row.status == final
    assert not getattr(row, "events", [])


def test_machines_with_a_history_keep_who_when_and_why():
    order = Order(status=OrderStatus.PENDING_PAYMENT)
    order.transition(OrderStatus.CANCELLED, actor_id=7, at=AT, reason="changed my mind")
    bulk = BulkOrder(status=BulkOrderStatus.SUBMITTED)
    bulk.transition(BulkOrderStatus.REJECTED, actor_id=7, at=AT, reason="x" * 600)
    cert = Certification(status=CertStatus.PENDING)
    cert.transition(CertStatus.APPROVED, actor_id=7, at=AT)
    for row, source, reason in (
        (order, OrderStatus.PENDING_PAYMENT, "changed my mind"),
        (bulk, BulkOrderStatus.SUBMITTED, "x" * 500),
    ):
        (event,) = row.events
        assert (event.from_status, event.to_status, event.actor_id, event.at, event.note) == (
            source,
            row.status,
            7,
            AT,
            reason,
        )
    (event,) = cert.events
    assert (event.from_status, event.to_status, event.actor_id, event.at, event.reason) == (
        CertStatus.PENDING,
        CertStatus.APPROVED,
        7,
        AT,
        None,  # no reason given: stored as none, as before
    )


def test_machines_without_a_history_keep_when_on_the_row():
    payment = Payment(status=PaymentStatus.PENDING)
    payment.transition(PaymentStatus.SUCCEEDED, at=AT)
    transfer = Transfer(status=TransferStatus.IN_TRANSIT)
    transfer.transition(TransferStatus.RECEIVED, actor_id=7, at=AT)
    reservation = Reservation(status=ReservationStatus.HELD)
    reservation.transition(ReservationStatus.RELEASED, at=AT)
    assert payment.completed_at == AT and payment.status == PaymentStatus.SUCCEEDED
    assert (transfer.received_at, transfer.received_by_id) == (AT, 7)
    assert reservation.closed_at == AT and reservation.status == ReservationStatus.RELEASED
