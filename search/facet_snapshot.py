"""The unfiltered count and facets of the embedded index, computed once per state of the index.

A search with no text and no filter counts every product in force: a GROUP BY over the whole index.
What it counts changes only when a document changes (added, removed, or its facet columns or
certification span changed), and when time crosses a certification's `valid_from` or `valid_until`
(in force is `valid_from <= now < valid_until`, `shop.certification.query.in_force`). So the answer is
kept under the key (database, index version token, the last such boundary at or before now, the
next one after): the embedded backend replaces the token in the transaction that changes a
document's facet columns (`bump`), and a boundary passing gives another key, with no job running.
"""

from __future__ import annotations

import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from search.models import SearchIndexVersion
from shop import clock
from shop.certification.models import Certification, CertStatus

VERSIONS = SearchIndexVersion.__table__
ROW_ID = 1
# A document's columns that the unfiltered facets and count read (with its presence).
FACET_COLUMNS = (
    "category_id",
    "district_id",
    "brand_tier",
    "labels",
    "poverty_alleviated",
    "deep_poverty",
    "cert_from",
    "cert_until",
    "cert_gaps",
)
KEEP = 8  # snapshots kept per process (one per database and state; old states are never asked again)

_BUMP = (
    VERSIONS.update().where(VERSIONS.c.id == ROW_ID).values(token=sa.bindparam("token"), changed_at=sa.bindparam("at"))
)


def _boundary(column, aggregate, after: bool) -> sa.ScalarSelect:
    edge = column > sa.bindparam("now") if after else column <= sa.bindparam("now")
    return sa.select(aggregate(column)).where(Certification.status == CertStatus.PUBLISHED, edge).scalar_subquery()


_READ = sa.select(
    VERSIONS.c.token,
    _boundary(Certification.valid_from, sa.func.max, after=False),
    _boundary(Certification.valid_until, sa.func.max, after=False),
    _boundary(Certification.valid_from, sa.func.min, after=True),
    _boundary(Certification.valid_until, sa.func.min, after=True),
).where(VERSIONS.c.id == ROW_ID)


@dataclass(frozen=True)
class Snapshot:
    total: int
    facets: dict[str, list[tuple[object, int]]]


_cache: OrderedDict[tuple, Snapshot] = OrderedDict()
_lock = threading.Lock()


def bump(session: Session) -> None:
    """What the unfiltered facets count changed in this transaction: replace the token."""
    session.execute(_BUMP, {"token": uuid.uuid4().hex, "at": clock.now()})


def state(session: Session, now) -> tuple | None:
    """The key of the index's state at `now` (one statement: the token and four index probes)."""
    row = session.execute(_READ, {"now": now}).one_or_none()
    if row is None:
        return None
    token, from_before, until_before, from_after, until_after = row
    since = max((b for b in (from_before, until_before) if b is not None), default=None)
    until = min((b for b in (from_after, until_after) if b is not None), default=None)
    return (str(session.get_bind().engine.url), token, since, until)


def unfiltered(session: Session, now, compute: Callable[[], Snapshot]) -> Snapshot:
    """The snapshot of the state at `now`: kept, or computed and kept."""
    key = state(session, now)
    if key is None:
        return compute()
    with _lock:
        found = _cache.get(key)
        if found is not None:
            _cache.move_to_end(key)
            return found
    snapshot = compute()
    # kept only if no change committed between the two reads (PostgreSQL reads each statement afresh;
    # a change and its new token commit together, and a token is never used twice)
    if state(session, now) == key:
        with _lock:
            _cache[key] = snapshot
            while len(_cache) > KEEP:
                _cache.popitem(last=False)
    return snapshot
