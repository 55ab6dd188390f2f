"""A value voucher (提货券) as a payment gateway for shop orders.

The buyer gives the code (or the QR payload); the order's whole total is taken off the voucher in the
payment's own transaction by the vouchers' one conditional UPDATE, so parallel payments with one
voucher never spend more than it holds. A voucher whose remaining value does not cover the total is
refused (409 `voucher_not_redeemable`, with the remaining value). A refund gives the value back to the
voucher (see vouchers.give_back for an expired one).

Procurement registers this gateway with payments at start-up (`register_payments`), with bulk orders
as what payments' `bulk_order_id` pays."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import partial

from sqlalchemy.orm import Session

from payments.gateways import RefundResult
from payments.models import Payment, PaymentStatus
from payments.registry import Payments
from shop import clock
from shop.errors import InvalidInput
from shop.procurement import bulk_orders, vouchers


@dataclass(frozen=True)
class VoucherGateway:
    name: str = "voucher"

    def start(self, session: Session, payment: Payment, *, buyer_id: int, details: Mapping, now: datetime) -> None:
        raw_code = details.get("voucher_code")  # the code or QR payload the buyer gives
        if not raw_code:
            raise InvalidInput("The voucher's code.", fields={"voucher_code": ["Required to pay with a voucher."]})
        redemption = vouchers.pay_order(
            session,
            raw_code=raw_code,
            order_id=payment.order_id,
            amount_fen=payment.amount_fen,
            actor_id=buyer_id,
            now=now,
        )
        payment.reference = f"voucher {redemption.voucher_id}"
        payment.transition(PaymentStatus.SUCCEEDED, at=now)

    def confirm(self, session: Session, payment: Payment, *, reference: str, now: datetime) -> None:
        raise InvalidInput("A voucher payment needs no confirmation.", fields={"gateway": ["Settles at once."]})

    def refund(self, session, payment, *, buyer_id, actor_id, amount_fen, reference, order_id) -> RefundResult:
        back = vouchers.give_back(session, order_id=order_id, amount_fen=amount_fen, actor_id=actor_id, now=clock.now())
        return RefundResult(external_id=f"voucher-redemption-{back.id}")


def register_payments(registry: Payments, settings: bulk_orders.ProcurementSettings) -> None:
    """At start-up: the voucher gateway, and bulk orders as what payments' `bulk_order_id` pays."""
    registry.register_gateway(VoucherGateway())
    registry.register_payable("bulk_order_id", partial(bulk_orders.payable, settings=settings))
