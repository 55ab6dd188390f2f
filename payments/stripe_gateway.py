"""Stripe: card, Alipay and WeChat Pay through PaymentIntents. The only module that imports `stripe`.

One PaymentIntent per payment attempt, for the amount and currency of the attempt (the order's total
as the server computed it). Every call that creates something carries an idempotency key derived from
the attempt (`Payment.gateway_key`), so a retry after a timeout or a rolled-back request gets the
same intent or refund back from Stripe, never a second one. Stripe's errors become our domain
errors (502/503) and nothing is changed on our side."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import TypeVar

import stripe
from sqlalchemy.orm import Session

from payments.errors import GatewayError, GatewayNotConfigured, GatewayUnavailable, InvalidEvent, InvalidSignature
from payments.events import IntentState, intent_state
from payments.gateways import RefundResult
from payments.models import Payment
from shop import clock
from shop.errors import InvalidInput

log = logging.getLogger(__name__)

PAYMENT_METHOD_TYPES = ("card", "alipay", "wechat_pay")

T = TypeVar("T")


@dataclass(frozen=True)
class StripeSettings:
    secret_key: str = ""
    webhook_secret: str = ""
    api_base: str = ""  # empty: Stripe's own API
    payment_method_types: tuple[str, ...] = PAYMENT_METHOD_TYPES
    webhook_tolerance_seconds: int = 300
    timeout_seconds: float = 10.0
    max_network_retries: int = 2

    @classmethod
    def from_config(cls, cfg) -> StripeSettings:
        types = tuple(t.strip() for t in str(cfg.get("STRIPE_PAYMENT_METHOD_TYPES", "")).split(",") if t.strip())
        unknown = sorted(set(types) - set(PAYMENT_METHOD_TYPES))
        if unknown:
            raise ValueError(f"STRIPE_PAYMENT_METHOD_TYPES: unknown {', '.join(unknown)}")
        return cls(
            secret_key=cfg.get("STRIPE_SECRET_KEY", ""),
            webhook_secret=cfg.get("STRIPE_WEBHOOK_SECRET", ""),
            api_base=cfg.get("STRIPE_API_BASE", ""),
            payment_method_types=types or PAYMENT_METHOD_TYPES,
            webhook_tolerance_seconds=int(cfg.get("STRIPE_WEBHOOK_TOLERANCE_SECONDS", 300)),
            timeout_seconds=float(cfg.get("STRIPE_TIMEOUT_SECONDS", 10.0)),
            max_network_retries=int(cfg.get("STRIPE_MAX_NETWORK_RETRIES", 2)),
        )


@lru_cache(maxsize=8)
def _client(secret_key: str, api_base: str, timeout: float, retries: int) -> stripe.StripeClient:
    return stripe.StripeClient(
        secret_key,
        base_addresses={"api": api_base} if api_base else None,
        http_client=stripe.RequestsClient(timeout=timeout),
        max_network_retries=retries,
    )


def _call(what: str, fn: Callable[[], T]) -> T:
    """Run one Stripe call; its failures become our errors, with Stripe's words in the details."""
    try:
        return fn()
    except (stripe.APIConnectionError, stripe.RateLimitError) as error:
        log.warning("stripe %s: %s", what, error)
        raise GatewayUnavailable(operation=what) from error
    except stripe.StripeError as error:
        status = getattr(error, "http_status", None)
        log.warning("stripe %s: HTTP %s %s", what, status, error)
        if status is not None and status >= 500:
            raise GatewayUnavailable(operation=what, provider_status=status) from error
        raise GatewayError(
            operation=what,
            provider_status=status,
            provider_code=getattr(error, "code", None),
            provider_message=getattr(error, "user_message", None) or str(error),
        ) from error


def _links(payment: Payment) -> dict[str, str]:
    """Metadata naming what the attempt pays (a shop order, an organisation's bulk order, ...)."""
    return {column: str(value) for column, value in payment.owner().items()}


def _as_dict(obj) -> dict:
    return obj.to_dict() if hasattr(obj, "to_dict") else dict(obj)


@dataclass(frozen=True)
class StripeGateway:
    settings: StripeSettings
    name: str = "stripe"

    @property
    def client(self) -> stripe.StripeClient:
        s = self.settings
        if not s.secret_key:
            raise GatewayNotConfigured(gateway=self.name)
        return _client(s.secret_key, s.api_base, s.timeout_seconds, s.max_network_retries)

    # --- the Gateway protocol --------------------------------------------------------------

    def start(self, session: Session, payment: Payment, *, buyer_id: int, details: Mapping, now: datetime) -> None:
        """Create the attempt's PaymentIntent; it stays pending until Stripe tells us the outcome."""
        if not payment.gateway_key:
            raise ValueError("a Stripe attempt needs its gateway key")
        types = list(self.settings.payment_method_types)
        params: dict = {
            "amount": payment.amount_fen,
            "currency": payment.currency.lower(),
            "payment_method_types": types,
            "metadata": {**_links(payment), "payment_key": payment.gateway_key},
        }
        if "wechat_pay" in types:
            params["payment_method_options"] = {"wechat_pay": {"client": "web"}}
        intent = _call(
            "create_payment_intent",
            lambda: self.client.v1.payment_intents.create(
                params=params, options={"idempotency_key": f"{payment.gateway_key}:intent"}
            ),
        )
        state = intent_state(_as_dict(intent), clock.now())
        payment.external_id = state.intent_id
        payment.gateway_status = state.status
        payment.gateway_seen_at = state.observed_at
        payment.client_secret = state.client_secret

    def confirm(self, session: Session, payment: Payment, *, reference: str, now: datetime) -> None:
        raise InvalidInput(
            "A Stripe payment is confirmed by the buyer with Stripe and proven by Stripe's events.",
            fields={"gateway": ["Not confirmed by hand."]},
        )

    def refund(self, session, payment, *, buyer_id, actor_id, amount_fen, reference, order_id) -> RefundResult:
        """Give part of the attempt's money back. The key names the refund by the amount already
        refunded and this amount, so a retried refund is the same refund."""
        key = f"{payment.gateway_key}:refund:{payment.refunded_fen}:{amount_fen}"
        refund = _call(
            "create_refund",
            lambda: self.client.v1.refunds.create(
                params={
                    "payment_intent": payment.external_id,
                    "amount": amount_fen,
                    "metadata": {**_links(payment), "payment_key": payment.gateway_key},
                },
                options={"idempotency_key": key},
            ),
        )
        return RefundResult(points_returned=0, external_id=refund.id)

    # --- what only an outside gateway does -------------------------------------------------

    def retrieve(self, intent_id: str) -> IntentState:
        intent = _call("retrieve_payment_intent", lambda: self.client.v1.payment_intents.retrieve(intent_id))
        return intent_state(_as_dict(intent), clock.now())

    def cancel(self, intent_id: str) -> IntentState:
        """Close the intent so no money can come through it; if it is past closing (succeeded,
        processing, canceled already), say what it is instead."""
        try:
            intent = _call("cancel_payment_intent", lambda: self.client.v1.payment_intents.cancel(intent_id))
        except GatewayError as error:
            if error.details.get("provider_status") == 400:  # not cancellable in its state
                return self.retrieve(intent_id)
            raise
        return intent_state(_as_dict(intent), clock.now())

    def return_money(self, payment: Payment) -> tuple[str, int]:
        """Send back all the money an attempt holds that the order cannot keep (whatever the amount
        turned out to be); one return per attempt. Returns the refund's id and amount."""
        refund = _call(
            "return_payment",
            lambda: self.client.v1.refunds.create(
                params={
                    "payment_intent": payment.external_id,
                    "metadata": {**_links(payment), "payment_key": payment.gateway_key or ""},
                },
                options={"idempotency_key": f"{payment.gateway_key}:return"},
            ),
        )
        return refund.id, int(refund.amount)

    def verify_event(self, payload: bytes, signature: str | None) -> dict:
        """The event in a webhook body, once its signature proves Stripe sent it recently."""
        secret = self.settings.webhook_secret
        if not secret:
            raise GatewayNotConfigured(gateway=self.name, missing="webhook secret")
        if not signature:
            raise InvalidSignature(reason="no Stripe-Signature header")
        try:
            stripe.WebhookSignature.verify_header(
                payload.decode("utf-8"), signature, secret, tolerance=self.settings.webhook_tolerance_seconds
            )
        except UnicodeDecodeError as error:  # Stripe's events are UTF-8 JSON; nothing to verify here
            raise InvalidSignature(reason="the body is not UTF-8") from error
        except stripe.SignatureVerificationError as error:
            raise InvalidSignature(reason=str(error)) from error
        try:
            event = json.loads(payload)
        except ValueError as error:
            raise InvalidEvent(reason="not JSON") from error
        return event
