"""What every log line of a request or a job carries: its request id, user id, job name."""

from __future__ import annotations

import contextvars
from contextlib import contextmanager

request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
user_id: contextvars.ContextVar[int | None] = contextvars.ContextVar("user_id", default=None)
job: contextvars.ContextVar[str | None] = contextvars.ContextVar("job", default=None)


@contextmanager
def bound(**values):
    tokens = [(globals()[name], globals()[name].set(value)) for name, value in values.items()]
    try:
        yield
    finally:
        for var, token in reversed(tokens):
            var.reset(token)


def current() -> dict:
    return {
        key: value
        for key, value in (("request_id", request_id.get()), ("user_id", user_id.get()), ("job", job.get()))
        if value is not None
    }
