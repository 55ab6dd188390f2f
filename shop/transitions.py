"""The one transition helper of every state machine (order, bulk order, certification, payment,
stock transfer, stock reservation, and the supervision workflows: complaint, after-sales request,
amendment, sanction, price flag).

A model with a `status` column mixes in `StateMachine`, names its table of legal moves (kept beside
the model) and says how it keeps the record of a move. Every move then has one signature:

    row.transition(target, actor_id=..., at=now, reason="...")

- an illegal move is refused with `IllegalTransition` (409, code `illegal_transition`) before
  anything changes;
- `actor_id` is the user who moved it, None for the system (expiry, a gateway's webhook, a job);
- `at` is when, timezone-aware UTC;
- `reason` is the free text a person gave for the move or the system's note on it ("expired
  unpaid", a tracking number, "3 vouchers issued"); "" when there is none.

Who, when and why are kept by `record_transition`: an event row where the machine keeps a history
(order, bulk order, certification), else on the row itself (when a payment completed, who received
a transfer and when, when a reservation closed).
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping, Set
from datetime import datetime
from typing import Any, ClassVar

from shop.errors import IllegalTransition

# Called after every move with (row, source, target, actor_id=, at=, reason=), in the move's
# transaction: the notifications slice listens here (shop/notifications/events.py), so a move posts
# its notifications exactly once, however many paths lead to it.
LISTENERS: list[Callable[..., None]] = []


def listen(listener: Callable[..., None]) -> None:
    if listener not in LISTENERS:
        LISTENERS.append(listener)


class StateMachine:
    """Mix into a model with a `status` enum column."""

    TRANSITIONS: ClassVar[Mapping[Any, Set[Any]]]  # status → the statuses it may move to
    ENTITY: ClassVar[str]  # what the 409 calls the thing: "order", "bulk order", …

    status: Any

    def transition(self, target: enum.Enum, *, actor_id: int | None = None, at: datetime, reason: str = "") -> None:
        """The only way the row changes state: refuses an illegal move, records who, when and why."""
        source = self.status
        if target not in self.TRANSITIONS[source]:
            raise IllegalTransition(self.ENTITY, source.value, target.value)
        self.record_transition(source, target, actor_id=actor_id, at=at, reason=reason)
        self.status = target
        for listener in LISTENERS:
            listener(self, source, target, actor_id=actor_id, at=at, reason=reason)

    def record_transition(
        self, source: enum.Enum, target: enum.Enum, *, actor_id: int | None, at: datetime, reason: str
    ) -> None:
        raise NotImplementedError(f"{type(self).__name__} must say how it records a move")
