"""JSON-lines logs with the request's context, scrubbed of secrets and full phone numbers."""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime

from shop.observability import context

# Attributes every LogRecord has: what is left over was passed with `extra=`.
_STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "taskName"}

_SCRUB = [
    (re.compile(r"eyJ[\w-]{5,}\.[\w-]{5,}\.[\w-]+"), "[jwt]"),
    (re.compile(r"(?i)\b(bearer|basic)\s+[\w.~+/=-]+"), r"\1 [redacted]"),
    (re.compile(r"\b(sk|rk|pk)_(live|test)_\w+"), r"\1_\2_[redacted]"),
    (re.compile(r"\bwhsec_\w+"), "whsec_[redacted]"),
    (
        re.compile(
            r'(?i)("?[\w-]*(?:password|passwd|secret|token|api[_-]?key|authorization|cookie|voucher_code)[\w-]*"?'
            r'\s*[:=]\s*)("[^"]*"|[^"\s,&;}]+)'
        ),
        r'\1"[redacted]"',
    ),
    # Chinese mobile numbers: keep the first three and last four digits.
    (re.compile(r"(?<!\d)(\+?86[\s-]?)?(1[3-9]\d)\d{4}(\d{4})(?!\d)"), r"\1\2****\3"),
]


def scrub(text: str) -> str:
    for pattern, replacement in _SCRUB:
        text = pattern.sub(replacement, text)
    return text


def _plain(value):
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    if isinstance(value, dict | list | tuple):
        return json.loads(json.dumps(value, default=str))
    return str(value)


def _context(record: logging.LogRecord) -> dict:
    captured = getattr(record, "_context", None)
    return captured if captured is not None else context.current()


def capture_context() -> None:
    """Stamp each record with the request or job context when it is made, so a handler that formats
    it later (in another thread, or a test's capture) still knows it. Idempotent."""
    factory = logging.getLogRecordFactory()
    if getattr(factory, "captures_context", False):
        return

    def make_record(*args, **kwargs):
        record = factory(*args, **kwargs)
        record._context = context.current()
        return record

    make_record.captures_context = True
    logging.setLogRecordFactory(make_record)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "timestamp": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            **_context(record),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = _plain(value)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return scrub(json.dumps(entry, ensure_ascii=False, default=str))


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        extra = {k: v for k, v in record.__dict__.items() if k not in _STANDARD and not k.startswith("_")}
        line = f"{datetime.fromtimestamp(record.created, UTC):%H:%M:%S} {record.levelname:<7} {record.getMessage()}"
        fields = {**_context(record), **extra}
        if fields:
            line += " " + " ".join(f"{k}={v}" for k, v in fields.items())
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return scrub(line)


_configured = False


def configure(fmt: str = "json", level: str = "INFO") -> None:
    """One handler on the root logger, writing to stderr (once per process)."""
    global _configured
    if _configured:
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level.upper())
    # Werkzeug's own access lines carry the query string: our request line replaces them.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    _configured = True
