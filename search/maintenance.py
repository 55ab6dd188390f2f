"""Reindex and check, for the CLI and the tests."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from search.documents import Document, build_documents, count_indexable, indexable_ids
from search.embedded_backend import EmbeddedBackend
from search.sync import acquire_lease, owner_name, release_lease, renew_lease
from shop.db import transaction

BATCH = 500


def document_batches(
    session: Session, batch: int = BATCH, on_batch: Callable[[], None] | None = None
) -> Iterator[dict]:
    for ids in indexable_ids(session, batch=batch):
        yield build_documents(session, ids)
        if on_batch is not None:
            on_batch()


def reindex_engine(
    factory: sessionmaker[Session],
    engine,
    progress: Callable[[int], None],
    *,
    keep_old: bool = False,
    wait_seconds: float = 300,
) -> tuple[str, int]:
    """Build a new versioned index and swap the alias. The sync lease is held meanwhile, so changes
    made during the build wait in the outbox and are applied to the new index after the swap."""
    owner = owner_name()
    deadline = time.monotonic() + wait_seconds
    while True:
        with transaction(factory) as session:
            busy = acquire_lease(session, owner, force=True)
        if not busy:
            break
        if time.monotonic() > deadline:
            raise RuntimeError("another sync holds the lease; try again later")
        time.sleep(1)

    def renew():
        with transaction(factory) as lease_session:
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
        with transaction(factory) as session:
            release_lease(session, owner, error=error, backoff_max=300)


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
