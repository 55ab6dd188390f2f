"""The sync loop: apply the outbox to the engine, in order, with retry and back-off.

One drain at a time holds a lease on the `engine` row of `search_sync_state` (a conditional UPDATE,
so it works alike on PostgreSQL and SQLite, across processes). Each batch, in one transaction:
read the oldest outbox rows, rebuild their products' documents from the database, send them to the
engine, delete the rows. If the engine fails, the rows stay, the failure is counted and the next
attempt waits 1, 2, 4 … seconds (capped); nothing is lost while the engine is down. A document is
always rebuilt from the current rows, so applying a row twice, or late, converges to the truth.
With no engine configured, a drain just empties the outbox (the embedded rows are kept true in the
writing transaction itself).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from search.backend import EngineUnavailable, SearchBackend
from search.documents import build_documents
from search.models import SearchOutbox, SearchSyncState
from shop import clock
from shop.db import transaction

log = logging.getLogger(__name__)

ENGINE = "engine"
LEASE = timedelta(seconds=120)


@dataclass
class DrainReport:
    applied: int = 0
    remaining: int = 0
    error: str | None = None
    skipped: str | None = None  # "busy" (another drain holds the lease) or "backing_off"


def owner_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"[:64]


def acquire_lease(session: Session, owner: str, *, force: bool = False) -> str | None:
    """Take the engine lease; None when taken, else why not ("busy" or "backing_off")."""
    now = clock.now()
    state = SearchSyncState
    free = sa.or_(state.lease_until.is_(None), state.lease_until < now, state.lease_owner == owner)
    conditions = [state.name == ENGINE, free]
    if not force:
        conditions.append(sa.or_(state.next_attempt_at.is_(None), state.next_attempt_at <= now))
    result = session.execute(
        sa.update(state).where(*conditions).values(lease_owner=owner, lease_until=now + LEASE),
        execution_options={"synchronize_session": False},
    )
    if result.rowcount == 1:
        return None
    row = session.get(SearchSyncState, ENGINE)
    if row is None:
        session.add(SearchSyncState(name=ENGINE, failures=0, lease_owner=owner, lease_until=now + LEASE))
        session.flush()
        return None
    busy = row.lease_until is not None and row.lease_until >= now and row.lease_owner != owner
    return "busy" if busy else "backing_off"


def renew_lease(session: Session, owner: str) -> None:
    session.execute(
        sa.update(SearchSyncState)
        .where(SearchSyncState.name == ENGINE, SearchSyncState.lease_owner == owner)
        .values(lease_until=clock.now() + LEASE),
        execution_options={"synchronize_session": False},
    )


def release_lease(session: Session, owner: str, *, error: str | None, backoff_max: int) -> None:
    state = session.get(SearchSyncState, ENGINE, with_for_update=True)
    if state is None:
        return
    now = clock.now()
    if state.lease_owner == owner:
        state.lease_owner, state.lease_until = None, None
    if error is None:
        state.failures, state.next_attempt_at, state.last_success_at = 0, None, now
    else:
        state.failures += 1
        state.last_error = error[:1000]
        state.next_attempt_at = now + timedelta(seconds=min(2 ** (state.failures - 1), backoff_max))
    session.flush()


def pending_count(session: Session) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(SearchOutbox)) or 0


def apply_batch(session: Session, engine: SearchBackend | None, batch: int) -> int:
    """Apply the oldest `batch` outbox rows and delete them; return how many there were."""
    rows = session.execute(sa.select(SearchOutbox.id, SearchOutbox.product_id).order_by(SearchOutbox.id).limit(batch))
    rows = rows.all()
    if not rows:
        return 0
    if engine is not None:
        product_ids = list(dict.fromkeys(row.product_id for row in rows))
        engine.apply(build_documents(session, product_ids))
    session.execute(
        sa.delete(SearchOutbox).where(SearchOutbox.id.in_([row.id for row in rows])),
        execution_options={"synchronize_session": False},
    )
    return len(rows)


def drain(
    factory: sessionmaker[Session],
    engine: SearchBackend | None,
    *,
    batch: int = 500,
    max_batches: int | None = None,
    force: bool = False,
    backoff_max: int = 300,
) -> DrainReport:
    """Apply the outbox until it is empty (or `max_batches`), each batch its own transaction."""
    owner = owner_name()
    report = DrainReport()
    with transaction(factory) as session:
        report.skipped = acquire_lease(session, owner, force=force)
    if report.skipped:
        with transaction(factory) as session:
            report.remaining = pending_count(session)
        return report
    batches = 0
    try:
        while max_batches is None or batches < max_batches:
            with transaction(factory) as session:
                done = apply_batch(session, engine, batch)
                renew_lease(session, owner)
            batches += 1
            report.applied += done
            if done < batch:
                break
    except EngineUnavailable as error:
        report.error = str(error)
        log.warning("search sync: engine unavailable, will retry: %s", error)
    finally:
        with transaction(factory) as session:
            release_lease(session, owner, error=report.error, backoff_max=backoff_max)
            report.remaining = pending_count(session)
    return report


class BackgroundDrainer:
    """One daemon thread per process that drains the outbox whenever it is kicked (after a commit
    that wrote to it), so requests never wait for the engine."""

    def __init__(self, run):
        self._run = run
        self._wanted = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def kick(self) -> None:
        self._wanted.set()
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._loop, name="search-drain", daemon=True)
                self._thread.start()

    def _loop(self) -> None:
        while self._wanted.wait(timeout=60):
            self._wanted.clear()
            try:
                self._run()
            except Exception:  # best effort: `flask search sync` is the guarantee
                log.exception("search drain after commit failed")
