"""Tables of the worker: leases of periodic jobs, the dead-letter list and operational alerts."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from shop.db import Base, utcnow_column_default


class JobLease(Base):
    """One row per periodic job: who runs it now (a lease, taken by a conditional UPDATE so two
    workers never run it at once) and the last period it completed (so two schedulers sending the
    same tick make one run)."""

    __tablename__ = "job_leases"

    name: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    owner: Mapped[str | None] = mapped_column(sa.String(128))
    lease_until: Mapped[datetime | None]
    last_period: Mapped[int | None] = mapped_column(sa.BigInteger)
    last_success_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    runs: Mapped[int] = mapped_column(default=0)


class DeadLetter(Base):
    """A job that failed every retry: what it was asked, the last error, for `flask jobs retry`."""

    __tablename__ = "job_dead_letters"

    id: Mapped[int] = mapped_column(primary_key=True)
    job: Mapped[str] = mapped_column(sa.String(64), index=True)
    kwargs: Mapped[dict] = mapped_column(sa.JSON)
    error: Mapped[str] = mapped_column(sa.Text)
    attempts: Mapped[int]
    request_id: Mapped[str | None] = mapped_column(sa.String(64))
    failed_at: Mapped[datetime] = mapped_column(default=utcnow_column_default)
    retried_at: Mapped[datetime | None]


class Alert(Base):
    """An operational alert found by a job (a SKU low on stock, a counter gone silent): one row per
    kind and subject, open while the condition holds, closed (resolved_at) when a run no longer
    finds it."""

    __tablename__ = "ops_alerts"
    __table_args__ = (sa.UniqueConstraint("kind", "subject"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(32))
    subject: Mapped[str] = mapped_column(sa.String(128))
    message: Mapped[str] = mapped_column(sa.String(500))
    details: Mapped[dict] = mapped_column(sa.JSON)
    first_seen_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    resolved_at: Mapped[datetime | None] = mapped_column(index=True)
