"""The cancellation policy of an offering, read at one instant."""

from __future__ import annotations

from datetime import datetime, timedelta

from shop.bookings.models import Offering, Slot

WHOLE = 10_000


def free_until(offering: Offering, slot: Slot) -> datetime:
    """The last instant (excluded) a guest may cancel for a full refund."""
    return slot.starts_at - timedelta(days=offering.free_cancel_days)


def refund_share_bp(offering: Offering, slot: Slot, now: datetime, *, by_provider: bool = False) -> int:
    """What share of the price comes back when the booking is cancelled at `now`: all of it before
    `free_until` (or when the provider cancels), the offering's late share from then on."""
    if by_provider or now < free_until(offering, slot):
        return WHOLE
    return offering.late_refund_bp
