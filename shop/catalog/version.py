"""The public catalog's version: what its cache is keyed by, and why that stays exact.

Every transaction that changes what a catalog page or detail shows replaces the token of the one row
of `catalog_versions`, in that same transaction, so the change and the new token commit together:

- changed rows of products, SKUs, labels, certifications, categories, brands, suppliers, districts,
  townships and booking offerings, noticed by a Session listener after each flush;
- stock and slots only when availability flips. Availability counts units to sell: those of batch
  balances not reserved, not expired, not frozen and not quarantined, at active locations (the rule
  FEFO picking uses, `shop.inventory.models.sellable_units`). So a batch balance whose available
  units go to zero or up from zero while not quarantined, a quarantine put on or lifted, a batch
  frozen or unfrozen, a location deactivated or reactivated, and a slot that fills up, opens again,
  closes or reopens. Other quantity changes leave the version alone, so checkouts do not queue on
  its row;
- conditional UPDATEs done in Core (the stock ledger, a cold-chain quarantine and its release, slot
  capacity) call `mark_changed` themselves.

The token alone does not see time pass: a certification enters force at its `valid_from` (the end of
its announcement's objection window) and leaves it at its `valid_until`, and a service's slots of a
day stop counting at the day's end (Asia/Shanghai), as a batch does after its best-before date (a
calendar date, compared with the date in Shanghai). So the key also holds the nearest such boundary
ahead, read in the same statement as the token: when the instant passes, the next request reads
another boundary and so another key, with no job running. The read is one cheap statement (the row by
its key and two index probes); a request always reads it, so a change committed by any worker is seen
by the next request of every worker.
"""

from __future__ import annotations

import uuid
from datetime import datetime, time, timedelta

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session

from shop import clock
from shop.catalog.models import CatalogVersion
from shop.certification.models import Certification, CertStatus
from shop.inventory.models import CHINA, china_today

VERSIONS = CatalogVersion.__table__
ROW_ID = 1

# Tables whose every change may change a catalog page or detail.
WATCHED = frozenset(
    {
        "products",
        "skus",
        "product_labels",
        "certifications",
        "categories",
        "brands",
        "suppliers",
        "districts",
        "townships",
        "booking_offerings",
    }
)


def _batch_available(values: dict) -> bool:
    return values["quarantined_at"] is None and values["on_hand"] > values["reserved"]


def _slot_open(values: dict) -> bool:
    return not values["is_closed"] and values["booked"] < values["capacity"]


def _never(values: dict) -> bool:
    return False


def _batch_sellable(values: dict) -> bool:
    return values["frozen_at"] is None


def _location_active(values: dict) -> bool:
    return bool(values["is_active"])


# Tables that change the catalog only when a row's availability flips: the test on the row as
# changed, its columns, and the test on a row added or deleted (a batch or a location holds no
# stock when it is made, so making one changes nothing).
FLIPS = {
    "batch_levels": (_batch_available, ("on_hand", "reserved", "quarantined_at"), _batch_available),
    "booking_slots": (_slot_open, ("is_closed", "booked", "capacity"), _slot_open),
    "stock_batches": (_batch_sellable, ("frozen_at",), _never),
    "locations": (_location_active, ("is_active",), _never),
}
# A slot's other columns (its day, start, offering) change its place in the calendar: always a change.
SLOT_PLACE = ("offering_id", "day", "starts_at")

_BUMP = (
    VERSIONS.update().where(VERSIONS.c.id == ROW_ID).values(token=sa.bindparam("token"), changed_at=sa.bindparam("at"))
)


def _next_at(column) -> sa.ScalarSelect:
    return (
        sa.select(sa.func.min(column))
        .where(Certification.status == CertStatus.PUBLISHED, column > sa.bindparam("now"))
        .scalar_subquery()
    )


_READ = sa.select(VERSIONS.c.token, _next_at(Certification.valid_from), _next_at(Certification.valid_until)).where(
    VERSIONS.c.id == ROW_ID
)


def mark_changed(session: Session) -> None:
    """The catalog changed in this transaction: replace the version's token. Call it after a Core
    statement that changes what the catalog shows. (Each call writes: a transaction that reads the
    catalog between two of its own changes, as a test does, sees the second too. The row is locked
    by the first write, so the others cost little.)"""
    session.connection().execute(_BUMP, {"token": uuid.uuid4().hex, "at": clock.now()})


def next_midnight(now: datetime) -> datetime:
    """The next day's start in Asia/Shanghai, when a day's slots stop counting as open and batches
    whose best-before date is the day ending stop counting as sellable."""
    return datetime.combine(china_today(now) + timedelta(days=1), time(0), tzinfo=CHINA)


def read_key(session: Session, now: datetime) -> str:
    """The cache key of the catalog at `now`: the version's token and the nearest boundary ahead
    (a certification entering or leaving force, or the day's end). One statement."""
    bind = session.get_bind()
    if isinstance(bind, sa.Engine) and bind.dialect.name == "postgresql" and not session.in_transaction():
        # The session's connection in autocommit for the rest of this (reading) request: a cache hit
        # costs this one round trip, no BEGIN and COMMIT, and a miss builds the body on the same
        # connection. Each statement still reads its own committed snapshot, as under READ
        # COMMITTED. (Read before anything else, so a body built afterwards is at least as new as
        # the version it is kept under.)
        connection = session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
        row = connection.execute(_READ, {"now": now}).one_or_none()
    else:  # SQLite (no round trips), a session already in a transaction, or bound to a connection (tests)
        row = session.execute(_READ, {"now": now}).one_or_none()
    token, starts, ends = row if row is not None else ("none", None, None)
    boundary = min(b for b in (starts, ends, next_midnight(now)) if b is not None)
    return f"{token}.{int(boundary.timestamp())}"


# --- noticing changed rows ---------------------------------------------------------------------


def _values(obj, columns: tuple[str, ...], *, before: bool) -> dict:
    state = sa.inspect(obj)
    values = {}
    for name in columns:
        history = state.attrs[name].history
        values[name] = history.deleted[0] if before and history.deleted else getattr(obj, name)
    return values


def _flips(obj, table: str) -> bool:
    test, columns, _ = FLIPS[table]
    try:
        if table == "booking_slots" and any(sa.inspect(obj).attrs[c].history.deleted for c in SLOT_PLACE):
            return True
        for name in columns:  # set without its old value loaded (after a commit): it may have flipped
            history = sa.inspect(obj).attrs[name].history
            if history.added and not history.deleted:
                return True
        return test(_values(obj, columns, before=True)) != test(_values(obj, columns, before=False))
    except TypeError:  # a value set to an SQL expression: its result is not known here
        return True


def catalog_changed_by(session: Session) -> bool:
    """Whether the rows this flush writes change what the catalog shows."""
    for obj in (*session.new, *session.deleted):
        table = getattr(obj, "__tablename__", None)
        if table in WATCHED:
            return True
        if table in FLIPS:
            _, columns, test = FLIPS[table]
            try:
                if test({c: getattr(obj, c) for c in columns}):
                    return True
            except TypeError:
                return True
    for obj in session.dirty:
        table = getattr(obj, "__tablename__", None)
        if table in WATCHED and session.is_modified(obj, include_collections=False):
            return True
        if table in FLIPS and session.is_modified(obj, include_collections=False) and _flips(obj, table):
            return True
    return False


def _after_flush(session: Session, _context) -> None:
    if catalog_changed_by(session):
        mark_changed(session)


_installed = False


def install() -> None:
    """Listen on every Session (idempotent)."""
    global _installed
    if _installed:
        return
    event.listen(Session, "after_flush", _after_flush)
    _installed = True
