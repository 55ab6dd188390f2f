"""Reindex and check, for the CLI and the tests."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from search.documents import Document, count_indexable, document_batches
from search.embedded_backend import EmbeddedBackend
from search.sync import acquire_lease, owner_name, release_lease, renew_lease
from shop.db import transaction

__all__ = ["count_indexable", "document_batches"]


def reindex_engine(
    factory: sessionmaker[Session],
    engine,
    progress: Callable[[int], None],
    *,
    keep_old: bool = False,
    wait_seconds: float = 300,
) -> tuple[str, int]:
    """Build a new versioned index and swap the alias (removing an index squatting on the alias's
    name and versioned indices left by earlier attempts). The sync lease is held meanwhile, so
    changes made during the build wait in the outbox and are applied to the new index after it."""
    owner = owner_name()
    deadline = time.monotonic() + wait_seconds
    while True:
        with transaction(factory, write=True) as session:
            busy = acquire_lease(session, owner, force=True)
        if not busy:
            break
        if time.monotonic() > deadline:
            raise RuntimeError("another sync holds the lease; try again later")
        time.sleep(1)

    def renew():
        with transaction(factory, write=True) as lease_session:
            renew_lease(lease_session, owner)

    error = None
    try:
        with transaction(factory) as session:
            total = count_indexable(session)
            name = engine.reindex(document_batches(session, on_batch=renew), total, progress, keep_old=keep_old)
        return name, total
    except Exception as exc:
        error = str(exc)
        raise
    finally:
        with transaction(factory, write=True) as session:
            release_lease(session, owner, error=error, backoff_max=300)


def rebuild_if_alias_missing(factory: sessionmaker[Session], engine, progress: Callable[[int], None]) -> bool:
    """After the engine lost its index (restarted empty), rebuild it from the database; True if so."""
    if engine.alias_exists():
        return False
    reindex_engine(factory, engine, progress)
    return True


def reindex_embedded(session: Session, progress: Callable[[int], None]) -> int:
    total = count_indexable(session)
    EmbeddedBackend(session).reindex(document_batches(session), total, progress)
    return total


@dataclass
class Drift:
    product_id: int
    problem: str  # "missing" (should be indexed), "extra" (should not be), "differs"
    fields: tuple[str, ...] = ()

    def __str__(self) -> str:
        detail = f" ({', '.join(self.fields)})" if self.fields else ""
        return f"{self.problem} product {self.product_id}{detail}"


def check(session: Session, backend) -> list[Drift]:
    """Compare what the database says each document should be with what the backend holds."""
    expected: dict[int, Document] = {}
    for documents in document_batches(session):
        expected.update({pid: backend.comparable(doc) for pid, doc in documents.items() if doc is not None})
    stored = backend.stored_documents()
    drift = [Drift(pid, "missing") for pid in sorted(expected.keys() - stored.keys())]
    drift += [Drift(pid, "extra") for pid in sorted(stored.keys() - expected.keys())]
    for pid in sorted(expected.keys() & stored.keys()):
        want, have = expected[pid], stored[pid]
        fields = tuple(sorted(k for k in want.keys() | have.keys() if want.get(k) != have.get(k)))
        if fields:
            drift.append(Drift(pid, "differs", fields))
    return sorted(drift, key=lambda d: d.product_id)
