"""The worker: jobs on a real queue (Celery; Redis or RabbitMQ in production, a folder of files for
`make run`), enqueued only after the transaction that asked for them commits.

    from shop import jobs
    jobs.enqueue_after_commit(session, "orders.expire", order_ids=[order.id])

A job carries ids and plain values, never ORM objects, and re-reads what it needs.
"""

from __future__ import annotations

import logging
from datetime import datetime

from flask import Flask, current_app, has_app_context
from sqlalchemy import event
from sqlalchemy.orm import Session

from shop.observability import context, metrics

log = logging.getLogger("shop.jobs")

TASK = "shop.run_job"
QUEUED = "jobs_after_commit"  # session.info key: jobs waiting for the commit


class JobsExtension:
    def __init__(self, app: Flask):
        from shop.jobs import registry

        self.app = app
        registry.load(app.config["JOBS_MODULES"])
        self._celery = None

    @property
    def celery(self):
        if self._celery is None:
            from shop.jobs.celery_app import make_celery

            self._celery = make_celery(self.app)
        return self._celery

    def send(self, name: str, kwargs: dict, *, eta: datetime | None = None, countdown: float | None = None) -> None:
        """Put the job on the queue now. A broker that cannot be reached is logged, never raised:
        the job's periodic sweep does what a lost message would have."""
        from shop.jobs.registry import JOBS

        if name not in JOBS:
            raise LookupError(f"no job named {name!r}")
        _check_plain(kwargs)
        try:
            self.celery.send_task(
                TASK,
                args=(name, kwargs),
                kwargs={"request_id": context.request_id.get()},
                queue=self.app.config["JOBS_QUEUE"],
                eta=eta,
                countdown=countdown,
            )
        except Exception as error:
            metrics.JOBS_ENQUEUED.labels(name, "failed").inc()
            log.error("could not enqueue job", extra={"job_name": name, "error": f"{type(error).__name__}: {error}"})
            return
        metrics.JOBS_ENQUEUED.labels(name, "sent").inc()


def _check_plain(value) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError("job arguments are keyed by strings")
            _check_plain(item)
    elif isinstance(value, list | tuple):
        for item in value:
            _check_plain(item)
    elif not (value is None or isinstance(value, str | int | float | bool)):
        raise TypeError(f"a job carries ids and plain values, not {type(value).__name__}")


def extension(app: Flask | None = None) -> JobsExtension:
    return (app or current_app).extensions["jobs"]


def enqueue(name: str, *, eta: datetime | None = None, countdown: float | None = None, **kwargs) -> None:
    """Send a job now (outside any transaction: a CLI retry, a test)."""
    extension().send(name, kwargs, eta=eta, countdown=countdown)


def enqueue_after_commit(session: Session, name: str, *, eta: datetime | None = None, **kwargs) -> None:
    """Send the job once the session's transaction commits; forget it if it rolls back."""
    _check_plain(kwargs)
    ext = extension() if has_app_context() else None
    session.info.setdefault(QUEUED, []).append((ext, name, kwargs, eta))


def _after_commit(session: Session) -> None:
    for ext, name, kwargs, eta in session.info.pop(QUEUED, ()):
        if ext is not None:
            ext.send(name, kwargs, eta=eta)


def _after_rollback(session: Session) -> None:
    session.info.pop(QUEUED, None)


def _after_soft_rollback(session: Session, previous_transaction) -> None:
    # the outermost transaction of this session rolled back, even if the connection's real
    # transaction belongs to someone else (a session joined to an outer transaction)
    if previous_transaction.parent is None:
        session.info.pop(QUEUED, None)


_installed = False


def init_app(app: Flask) -> None:
    global _installed
    app.extensions["jobs"] = JobsExtension(app)
    if not _installed:
        event.listen(Session, "after_commit", _after_commit)
        event.listen(Session, "after_rollback", _after_rollback)
        event.listen(Session, "after_soft_rollback", _after_soft_rollback)
        _installed = True
