"""Forms become the same input the JSON API takes, checked by the API's own schemas, and a refusal
becomes a message on the page. No rule about the input is written here."""

from __future__ import annotations

import re

import marshmallow as ma
from flask import abort, flash, request

from shop.errors import DomainError
from shop.web_pages.messages import error_text

_WHOLE = re.compile(r"^-?\d{1,12}$")
# C0 controls but tab, line feed and carriage return, DEL and lone surrogates: no column stores them.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


def refuse_control_characters() -> None:
    """A page form never carries control characters (a person cannot type them)."""
    for name, value in request.form.items(multi=True):
        if _CONTROL.search(name) or _CONTROL.search(value):
            abort(400)


def number(value: str | None):
    """A form's digits as an int (the schemas are strict about JSON integers); anything else as given,
    for the schema to refuse."""
    if value is None:
        return None
    value = value.strip()
    return int(value) if _WHOLE.match(value) else value


def text(name: str) -> str | None:
    value = request.form.get(name, "").strip()
    return value or None


def load(schema: ma.Schema, data: dict) -> dict:
    """Load `data` with an API input schema (unknown fields refused, as in the API)."""
    return schema.load({k: v for k, v in data.items() if v is not None})


def refusal(error: Exception) -> str:
    """The sentence a page shows for a refused form."""
    if isinstance(error, ma.ValidationError):
        return "输入有误：" + "；".join(_flatten(error.messages))
    if isinstance(error, DomainError):
        return error_text(error)
    raise error


def flash_refusal(error: Exception) -> None:
    flash(refusal(error), "error")


def _flatten(messages, prefix: str = "") -> list[str]:
    if isinstance(messages, dict):
        out = []
        for key, value in messages.items():
            out += _flatten(value, f"{prefix}{key}." if not isinstance(key, int) else prefix)
        return out
    if isinstance(messages, list):
        out = []
        for value in messages:
            out += _flatten(value, prefix) if isinstance(value, dict | list) else [f"{prefix.rstrip('.')} {value}"]
        return out
    return [f"{prefix.rstrip('.')} {messages}"]
