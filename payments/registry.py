"""The gateways and payables of one application, built once at start-up (create_app) and reached
through `app.extensions["payments"]`; a script or a test builds its own with `Payments(settings)`."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from sqlalchemy.orm import Session

from payments.gateways import Gateway, OfflineTransferGateway, PointsGateway
from payments.intents import Payable
from payments.models import OWNER_COLUMNS, Payment
from payments.service import PaymentSettings
from payments.stripe_gateway import StripeGateway
from shop.errors import InvalidInput

Load = Callable[[Session, int], Payable]  # lock the owner's row by its id, hand it over


class Payments:
    """Gateways by name and payables by their column on the payment row. The gateways that need no
    other slice (points, offline transfer, Stripe) are here from the start; others (a voucher) are
    registered by the slice that owns them."""

    def __init__(self, settings: PaymentSettings | None = None):
        self.settings = settings or PaymentSettings()
        self._gateways: dict[str, Gateway] = {}
        self._payables: dict[str, Load] = {}
        self.stripe = StripeGateway(self.settings.stripe)
        for gateway in (PointsGateway(point_value_fen=self.settings.point_value_fen), OfflineTransferGateway()):
            self.register_gateway(gateway)
        self.register_gateway(self.stripe)

    def register_gateway(self, gateway: Gateway) -> None:
        self._gateways[gateway.name] = gateway

    def register_payable(self, column: str, load: Load) -> None:
        if column not in OWNER_COLUMNS:
            raise ValueError(f"payments have no owner column {column!r} (payments.models.OWNER_COLUMNS)")
        self._payables[column] = load

    @property
    def gateway_names(self) -> tuple[str, ...]:
        return tuple(self._gateways)

    def gateway(self, name: str, allowed: Iterable[str] | None = None) -> Gateway:
        names = tuple(allowed) if allowed is not None else self.gateway_names
        if name not in names or name not in self._gateways:
            raise InvalidInput("Unknown payment gateway.", fields={"gateway": [f"One of {', '.join(names)}."]})
        return self._gateways[name]

    def resolve(self, session: Session, payment: Payment) -> Payable:
        """Lock the row the attempt pays and hand it over as its Payable."""
        ((column, owner_id),) = payment.owner().items()
        if column not in self._payables:
            raise LookupError(f"no payable registered for {column}")
        return self._payables[column](session, owner_id)
