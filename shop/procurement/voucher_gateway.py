"""A value voucher (提货券) as a payment gateway for shop orders.

The buyer gives the code (or the QR payload); the order's whole total is taken off the voucher in the
payment's own transaction by the vouchers' one conditional UPDATE, so parallel payments with one
voucher never spend more than it holds. A voucher whose remaining value does not cover the total is
refused (409 `voucher_not_redeemable`, with the remaining value). A refund gives the value back to the
voucher (see vouchers.give_back for an expired one)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from payments.gateways import RefundResult
from payments.models import Payment, PaymentStatus
from shop import clock
from shop.errors import InvalidInput
from shop.procurement import vouchers


@dataclass(frozen=True)
class VoucherGateway:
    actor_id: int  # who pays (the buyer) or refunds
    raw_code: str | None = None  # needed to pay, not to refund
    name: str = "voucher"

    def start(self, session: Session, payment: Payment, *, buyer_id: int, now: datetime) -> None:
        if not self.raw_code:
            raise InvalidInput("The voucher's code.", fields={"voucher_code": ["Required to pay with a voucher."]})
        redemption = vouchers.pay_order(
            session,
            raw_code=self.raw_code,
            order_id=payment.order_id,
            amount_fen=payment.amount_fen,
            actor_id=self.actor_id,
            now=now,
        )
        payment.reference = f"voucher {redemption.voucher_id}"
        payment.transition(PaymentStatus.SUCCEEDED, at=now)

    def confirm(self, session: Session, payment: Payment, *, reference: str, now: datetime) -> None:
        raise InvalidInput("A voucher payment needs no confirmation.", fields={"gateway": ["Settles at once."]})

    def refund(self, session, payment, *, buyer_id, amount_fen, reference, order_id) -> RefundResult:
        back = vouchers.give_back(
            session, order_id=order_id, amount_fen=amount_fen, actor_id=self.actor_id, now=clock.now()
        )
        return RefundResult(external_id=f"voucher-redemption-{back.id}")
