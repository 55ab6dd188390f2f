"""Jobs only the tests register (JOBS_MODULES=tests.jobs.worker_jobs in the worker's environment)."""

from __future__ import annotations

import os
import time
from pathlib import Path

from shop import clock
from shop.db import transaction
from shop.jobs.registry import JobContext, register


@register("test.slow_expire_orders")
def slow_expire_orders(ctx: JobContext, order_ids: list[int], marker: str, pause: float):
    """Expire the orders, then wait before committing: a worker killed meanwhile loses the work."""
    from shop.orders import service

    with transaction(ctx.factory, write=True) as session:
        expired = service.expire_due(session, clock.now(), order_ids=order_ids)
        with open(marker, "a") as out:
            out.write(f"{os.getpid()}:{expired}\n")
        time.sleep(pause)
    return expired


@register("test.tick")
def tick(ctx: JobContext, **_kwargs):
    """Append the period it ran for to TICK_FILE."""
    with open(os.environ["TICK_FILE"], "a") as out:
        out.write(f"{ctx.period}\n")


@register("test.fail")
def fail(ctx: JobContext, **_kwargs):
    """Always fails."""
    raise RuntimeError("this job always fails")


def read_lines(path: str) -> list[str]:
    return Path(path).read_text().split() if Path(path).exists() else []
