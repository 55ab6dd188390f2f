"""Running one job: the lease of a scheduled job, metrics, log context, the dead-letter list.

The Celery task and `flask jobs run` both come here, so a job behaves the same from either."""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
from datetime import timedelta

import sqlalchemy as sa
from flask import Flask

from shop import clock
from shop.db import insert_ignore, transaction
from shop.jobs.models import DeadLetter, JobLease
from shop.jobs.registry import JOBS, JobContext
from shop.observability import context, metrics

log = logging.getLogger("shop.jobs")


class UnknownJob(LookupError):
    pass


def owner_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"[:128]


def current_period(seconds: int, at: float | None = None) -> int:
    """The number of the period a moment falls in: runs of one period are one run."""
    return int((time.time() if at is None else at) // seconds)


def claim(factory, name: str, period: int, owner: str, lease_seconds: int) -> bool:
    """Take the job's lease for `period`: False if another worker holds it, or the period is done."""
    with transaction(factory, write=True) as session:
        now = clock.now()
        free = sa.or_(JobLease.lease_until.is_(None), JobLease.lease_until < now)
        undone = sa.or_(JobLease.last_period.is_(None), JobLease.last_period < period)
        stmt = (
            sa.update(JobLease)
            .where(JobLease.name == name, free, undone)
            .values(owner=owner, lease_until=now + timedelta(seconds=lease_seconds))
            .execution_options(synchronize_session=False)
        )
        if session.execute(stmt).rowcount == 1:
            return True
        if session.get(JobLease, name) is not None:
            return False
        insert_ignore(session, JobLease, [{"name": name, "runs": 0}], ["name"])
        return session.execute(stmt).rowcount == 1


def release(factory, name: str, owner: str, period: int, error: str | None) -> None:
    with transaction(factory, write=True) as session:
        values: dict = {"owner": None, "lease_until": None}
        if error is None:
            values.update(last_period=period, last_success_at=clock.now(), last_error=None, runs=JobLease.runs + 1)
        else:
            values.update(last_error=error[:2000])
        session.execute(
            sa.update(JobLease)
            .where(JobLease.name == name, JobLease.owner == owner)
            .values(**values)
            .execution_options(synchronize_session=False)
        )


def run(
    app: Flask,
    name: str,
    kwargs: dict | None = None,
    *,
    period: int | None = None,
    request_id: str | None = None,
):
    """Run job `name` now. With `period` (a scheduled run) it runs only if no other worker runs it
    and that period has not been done yet; it returns "skipped" otherwise. Exceptions propagate
    (the caller retries or dead-letters)."""
    job = JOBS.get(name)
    if job is None:
        raise UnknownJob(name)
    factory = app.extensions["shop"]["sessionmaker"]
    owner = owner_name()
    if period is not None and not claim(factory, name, period, owner, app.config["JOBS_LEASE_SECONDS"]):
        metrics.JOB_RUNS.labels(name, "skipped").inc()
        return "skipped"
    started = time.perf_counter()
    with context.bound(request_id=request_id, job=name), app.app_context():
        try:
            result = job.func(JobContext(app, request_id, period), **(kwargs or {}))
        except Exception as error:
            metrics.JOB_RUNS.labels(name, "failed").inc()
            metrics.JOB_DURATION.labels(name).observe(time.perf_counter() - started)
            log.warning("job failed", extra={"error": f"{type(error).__name__}: {error}"[:500]})
            if period is not None:
                release(factory, name, owner, period, f"{type(error).__name__}: {error}")
            raise
        duration = time.perf_counter() - started
        metrics.JOB_RUNS.labels(name, "ok").inc()
        metrics.JOB_DURATION.labels(name).observe(duration)
        log.info("job done", extra={"duration_ms": round(duration * 1000, 1), "result": _loggable(result)})
    if period is not None:
        release(factory, name, owner, period, None)
    return result


def _loggable(result):
    try:
        json.dumps(result)
        return result
    except TypeError:
        return repr(result)[:200]


def dead_letter(app: Flask, name: str, kwargs: dict | None, error: BaseException, attempts: int, request_id) -> int:
    """Record a job that failed every retry; the operator lists and retries it with `flask jobs`."""
    metrics.JOB_RUNS.labels(name, "dead").inc()
    with transaction(app.extensions["shop"]["sessionmaker"], write=True) as session:
        row = DeadLetter(
            job=name,
            kwargs=kwargs or {},
            error=f"{type(error).__name__}: {error}"[:4000],
            attempts=attempts,
            request_id=request_id,
            failed_at=clock.now(),
        )
        session.add(row)
        session.flush()
        row_id = row.id
    with context.bound(request_id=request_id, job=name):
        log.error("job dead-lettered", extra={"dead_letter_id": row_id, "attempts": attempts})
    return row_id
