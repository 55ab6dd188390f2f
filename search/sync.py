"""The sync loop: apply the outbox to the engine, in order, with retry and back-off.

One drain at a time holds a lease on the `engine` row of `search_sync_state` (a conditional UPDATE,
so it works alike on PostgreSQL and SQLite, across processes). Each batch: read the oldest outbox
rows and rebuild their products' documents from the database (and their embedded rows, which
catalog changes keep true at commit already and stock and sales changes leave to this), send them
to the engine outside any transaction, then delete the rows. If the engine fails, the rows stay,
the failure is counted and the next attempt waits 1, 2, 4 … seconds (capped); nothing is lost
while the engine is down. A document is always rebuilt from the current rows, so applying a row
twice, or late, converges to the truth; a row written while its batch was in flight stays for the
next one.

The engine may come back empty (restarted without its data): its alias is gone. Writes go through
the alias only (`require_alias`), so nothing lands in an index the engine would make up; each drain
checks the alias first and, if it is missing, rebuilds the whole index from the database.

Every transaction here that writes asks SQLite for the write lock up front (it waits its turn
instead of failing with "database is locked" when it read first); if the database stays busy past
its timeout anyway, the drain stops quietly and leaves the rows for the next one.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from search.backend import AliasMissing, EngineUnavailable, SearchBackend
from search.documents import Document, count_indexable, document_batches
from search.models import SearchOutbox, SearchSyncState
from search.outbox import rebuild_embedded
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
    # "busy" (another drain holds the lease), "backing_off", or "database_busy" (the database
    # stayed locked past its timeout: the rows wait for the next drain)
    skipped: str | None = None
    rebuilt: str | None = None  # the index rebuilt because the alias was missing


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


def _oldest(session: Session, batch: int) -> list:
    return session.execute(
        sa.select(SearchOutbox.id, SearchOutbox.product_id).order_by(SearchOutbox.id).limit(batch)
    ).all()


def _delete(session: Session, row_ids: list[int]) -> None:
    session.execute(
        sa.delete(SearchOutbox).where(SearchOutbox.id.in_(row_ids)), execution_options={"synchronize_session": False}
    )


def rebuild_engine(session: Session, engine, on_batch=None) -> str:
    """Fill a new index with every document and put it behind the alias."""
    total = count_indexable(session)
    return engine.reindex(document_batches(session, on_batch=on_batch), total, lambda _n: None)


def send(session: Session, engine, documents: dict[int, Document | None], on_batch=None) -> str | None:
    """Apply documents to the engine; if its alias is missing, rebuild the whole index from the
    database instead (which includes them). Returns the rebuilt index's name, if any."""
    try:
        engine.apply(documents)
        return None
    except AliasMissing as error:
        log.warning("search sync: %s; rebuilding the index from the database", error)
        return rebuild_engine(session, engine, on_batch)


def apply_batch(session: Session, engine: SearchBackend | None, batch: int) -> int:
    """Apply the oldest `batch` outbox rows and delete them, in the caller's transaction; return how
    many there were. (The drain does the same in three short transactions.)"""
    rows = _oldest(session, batch)
    if not rows:
        return 0
    documents = rebuild_embedded(session, [row.product_id for row in rows])
    if engine is not None:
        send(session, engine, documents)
    _delete(session, [row.id for row in rows])
    return len(rows)


# PostgreSQL: deadlock detected, serialization failure, lock not available
_TRANSIENT_PGCODES = {"40P01", "40001", "55P03"}


def _locked(error: OperationalError) -> bool:
    """The database was busy (SQLite's lock past its timeout, a PostgreSQL deadlock): try later."""
    message = str(error.orig)
    pgcode = getattr(error.orig, "sqlstate", None) or getattr(error.orig, "pgcode", None)
    return "database is locked" in message or "database table is locked" in message or pgcode in _TRANSIENT_PGCODES


def drain(
    factory: sessionmaker[Session],
    engine: SearchBackend | None,
    *,
    batch: int = 500,
    max_batches: int | None = None,
    force: bool = False,
    backoff_max: int = 300,
) -> DrainReport:
    """Apply the outbox until it is empty (or `max_batches`), each batch in its own transactions."""
    owner = owner_name()
    report = DrainReport()
    try:
        with transaction(factory, write=True) as session:
            report.skipped = acquire_lease(session, owner, force=force)
    except OperationalError as error:
        if not _locked(error):
            raise
        log.warning("search sync: the database is busy; the outbox waits for the next drain")
        report.skipped = "database_busy"
        return report
    if report.skipped:
        with transaction(factory) as session:
            report.remaining = pending_count(session)
        return report

    def renew():
        with transaction(factory, write=True) as lease_session:
            renew_lease(lease_session, owner)

    batches = 0
    try:
        if engine is not None and not engine.alias_exists():
            log.warning("search sync: alias %s is missing; rebuilding the index from the database", engine.alias)
            with transaction(factory) as session:
                report.rebuilt = rebuild_engine(session, engine, renew)
        while max_batches is None or batches < max_batches:
            with transaction(factory, write=True) as session:
                rows = _oldest(session, batch)
                documents = rebuild_embedded(session, [row.product_id for row in rows], lock=False) if rows else {}
            if rows and engine is not None:
                with transaction(factory) as session:
                    report.rebuilt = send(session, engine, documents, renew) or report.rebuilt
            with transaction(factory, write=True) as session:
                if rows:
                    _delete(session, [row.id for row in rows])
                renew_lease(session, owner)
            batches += 1
            report.applied += len(rows)
            if len(rows) < batch:
                break
    except EngineUnavailable as error:
        report.error = str(error)
        log.warning("search sync: engine unavailable, will retry: %s", error)
    except OperationalError as error:
        if not _locked(error):
            raise
        report.skipped = "database_busy"
        log.warning("search sync: the database is busy; the rest of the outbox waits for the next drain")
    finally:
        try:
            with transaction(factory, write=True) as session:
                release_lease(session, owner, error=report.error, backoff_max=backoff_max)
                report.remaining = pending_count(session)
        except OperationalError as error:
            if not _locked(error):
                raise
            # The lease lapses by itself (LEASE), and this owner may take it again meanwhile.
            log.warning("search sync: the database is busy; the lease lapses by itself")
            report.skipped = report.skipped or "database_busy"
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
