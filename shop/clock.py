"""The one source of "now". Queries take it as a bound parameter, so tests can stop time."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import UTC, datetime

_frozen: datetime | None = None


def now() -> datetime:
    return _frozen if _frozen is not None else datetime.now(UTC)


def datetime_from_timestamp(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


@contextlib.contextmanager
def frozen_at(instant: datetime) -> Iterator[None]:
    """Make now() return `instant` inside the block (tests and demo data)."""
    global _frozen
    if instant.tzinfo is None:
        raise ValueError("frozen_at needs an aware datetime")
    previous, _frozen = _frozen, instant
    try:
        yield
    finally:
        _frozen = previous
