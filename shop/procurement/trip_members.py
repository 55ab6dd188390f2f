"""One member of a union trip cancelled on their own, not the whole bulk order: the member's places
go back to the slot, and the budget gets back what the cancellation policy returns at that instant
(before payment, the member's whole commitment; after, the policy's share of what was spent)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from payments import payables
from payments import service as payments
from payments.gateways import OfflineTransferGateway
from shop.auth.actor import Actor
from shop.bookings import holds, policy, trips
from shop.bookings.errors import NotCancellable
from shop.bookings.models import Booking
from shop.errors import NotFound
from shop.procurement import access, budgets, bulk_orders
from shop.procurement.access import APPROVER, PURCHASER
from shop.procurement.bulk_orders import BulkPayable, ProcurementSettings
from shop.procurement.models import BudgetEntryKind, BulkOrderLine, BulkOrderStatus

S = BulkOrderStatus


def cancel_member(
    session: Session,
    actor: Actor,
    booking: Booking,
    *,
    by_provider: bool,
    reason: str,
    reference: str | None,
    settings: ProcurementSettings,
    now: datetime,
) -> Booking:
    """The organisation's purchaser or approver (or the provider, refunding in full) cancels one
    member's booking. Refused once the member checked in or was a no-show. Once paid, the share goes
    back through the gateway that took the money (a Stripe refund; for a bank transfer, `reference`
    names the transfer back when it is known) and is recorded as a refund of the bulk order."""
    order = bulk_orders.payable(session, booking.bulk_order_id, settings).order
    if not by_provider:
        try:
            access.require(actor, order.organisation_id, PURCHASER, APPROVER)
        except NotFound:
            raise NotFound("No such booking.") from None
    session.refresh(booking)
    if booking.status not in holds.LIVE or order.status not in (S.APPROVED, S.PAID):
        raise NotCancellable(status=booking.status.value, bulk_order_status=order.status.value)
    line = session.get(BulkOrderLine, booking.bulk_line_id)
    paid = order.status == S.PAID
    if not paid:
        # unpaid: the member leaves the order, and the order's total (and commitment) go down
        note = f"member {line.recipient} left {order.number}"
        payables.close_attempts(session, BulkPayable(order, settings), payments=settings.payments, now=now)
        amount = line.total_fen - line.refunded_fen
        if amount:
            budgets.post(
                session,
                order.budget_id,
                BudgetEntryKind.RELEASE,
                amount,
                bulk_order_id=order.id,
                note=note,
                actor_id=actor.user_id,
            )
        order.total_fen -= amount
        order.subtotal_fen -= line.subtotal_fen
        order.discount_fen -= line.discount_fen
        share = policy.WHOLE
    else:
        share = policy.refund_share_bp(booking.offering, booking.slot, now, by_provider=by_provider)
        amount = (line.total_fen - line.refunded_fen) * share // policy.WHOLE
        note = f"member {line.recipient} cancelled ({share / 100:g}% back)"
        if amount:
            budgets.post(
                session,
                order.budget_id,
                BudgetEntryKind.RETURN,
                amount,
                bulk_order_id=order.id,
                note=note,
                actor_id=actor.user_id,
            )
    line.refunded_fen += amount
    line.cancelled_at = now
    booking.refunded_fen = min(booking.amount_fen, booking.refunded_fen + amount)
    holds.release(session, [booking], actor_id=actor.user_id, now=now, reason=f"member cancelled, {share} bp back")
    settle(session, order, actor_id=actor.user_id, now=now)
    if paid and amount:
        _pay_back(
            session,
            order,
            line,
            amount,
            reason=reason or note,
            reference=reference,
            actor=actor,
            settings=settings,
            now=now,
        )
    return booking


def _pay_back(
    session: Session,
    order,
    line: BulkOrderLine,
    amount: int,
    *,
    reason: str,
    reference: str | None,
    actor: Actor,
    settings: ProcurementSettings,
    now: datetime,
) -> None:
    """The member's share of the money back to the organisation, last, as with any refund: if the
    gateway fails, the cancellation rolls back and a retry asks for the same refund (its key names it)."""
    payment = payments.succeeded_payment(session, bulk_order_id=order.id)
    if payment is None:
        return  # marked paid without an attempt (imported history): the budget's return is the record
    external_id = None
    if payment.gateway == OfflineTransferGateway.name and reference is None:
        payment.refunded_fen += amount  # finance transfers it back outside the platform
    else:
        external_id = payments.refund_payment(
            session,
            payment,
            buyer_id=actor.user_id,
            amount_fen=amount,
            reference=reference,
            actor_id=actor.user_id,
            gateway=settings.payments.gateway,
        ).external_id
    payments.record_refund(
        session,
        bulk_order_id=order.id,
        amount_fen=amount,
        lines=[{"line_id": line.id, "quantity": line.quantity, "amount_fen": amount}],
        points_returned=0,
        points_clawed_back=0,
        reference=reference,
        external_id=external_id,
        reason=reason,
        actor_id=actor.user_id,
        now=now,
        payment=payment,
    )


def settle(session: Session, order, *, actor_id: int | None, now: datetime) -> None:
    """A paid trip whose every booking is settled (checked in, a no-show, cancelled) is fulfilled:
    the organisation then receives (验收) it, which writes its sales facts."""
    if order.status == S.PAID and trips.all_settled(session, order.id):
        order.transition(S.FULFILLED, actor_id=actor_id, at=now, reason="every member checked in, absent or cancelled")
    session.flush()


def lock_order(session: Session, bulk_order_id: int):
    return bulk_orders.payable(session, bulk_order_id, ProcurementSettings()).order


def settle_by_id(session: Session, bulk_order_id: int, *, actor_id: int | None, now: datetime) -> None:
    order = bulk_orders.payable(session, bulk_order_id, ProcurementSettings()).order
    settle(session, order, actor_id=actor_id, now=now)
