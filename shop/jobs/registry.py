"""The registry of jobs: a name, the function the worker calls, and its period if it is scheduled.

A slice adds its duties with `@register("name", period=seconds)` in a module the worker imports
(`shop.jobs.builtin`, or one named in JOBS_MODULES). A job function takes the JobContext and the
keyword arguments it was enqueued with (ids and plain values, never ORM objects), opens its own
transactions and re-reads what it needs, so running it twice is harmless.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import Flask
from sqlalchemy.orm import Session, sessionmaker


@dataclass
class JobContext:
    app: Flask
    request_id: str | None = None
    period: int | None = None  # the number of the period a scheduled run is for

    @property
    def config(self) -> dict:
        return self.app.config

    @property
    def factory(self) -> sessionmaker[Session]:
        return self.app.extensions["shop"]["sessionmaker"]


@dataclass(frozen=True)
class Job:
    name: str
    func: Callable[..., Any]
    period: int | None = None  # seconds between scheduled runs; None: only when enqueued
    description: str = ""
    max_retries: int | None = None  # None: JOBS_MAX_RETRIES
    options: dict = field(default_factory=dict)


JOBS: dict[str, Job] = {}


def register(name: str, *, period: int | None = None, max_retries: int | None = None):
    def decorate(func):
        doc = (func.__doc__ or "").strip().splitlines()
        JOBS[name] = Job(name, func, period, doc[0] if doc else "", max_retries)
        return func

    return decorate


def load(extra_modules: str = "") -> dict[str, Job]:
    """Import the modules that register jobs; return the registry."""
    importlib.import_module("shop.jobs.builtin")
    for module in filter(None, (m.strip() for m in extra_modules.split(","))):
        importlib.import_module(module)
    return JOBS


def periods(config: dict) -> dict[str, int]:
    """Each scheduled job's period, JOBS_SCHEDULE overriding the registry ("name=seconds,...";
    0 switches a job's schedule off)."""
    result = {name: job.period for name, job in JOBS.items() if job.period}
    for item in filter(None, (i.strip() for i in config.get("JOBS_SCHEDULE", "").split(","))):
        name, _, seconds = item.partition("=")
        if name.strip() not in JOBS:
            raise RuntimeError(f"JOBS_SCHEDULE names an unknown job {name.strip()!r}")
        result[name.strip()] = int(seconds)
    return {name: seconds for name, seconds in result.items() if seconds > 0}
