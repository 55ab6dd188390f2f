"""Domain errors with stable codes, and the one JSON error shape every response uses.

Services raise these; the web layer turns each into
``{"error": {"code": ..., "message": ..., "details": {...}}}`` with the error's status.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    status = 400
    code = "bad_request"
    message = "The request cannot be processed."

    def __init__(self, message: str | None = None, *, code: str | None = None, **details: Any):
        super().__init__(message or self.message)
        self.message = message or self.message
        if code:
            self.code = code
        self.details = details


class InvalidInput(DomainError):
    status = 422
    code = "invalid_input"
    message = "Some fields are not valid."


class Unauthenticated(DomainError):
    status = 401
    code = "unauthenticated"
    message = "Authentication is required."


class Forbidden(DomainError):
    status = 403
    code = "forbidden"
    message = "You are not allowed to do this."


class NotFound(DomainError):
    status = 404
    code = "not_found"
    message = "Not found."


class Conflict(DomainError):
    status = 409
    code = "conflict"
    message = "The request conflicts with the current state."


class IllegalTransition(Conflict):
    code = "illegal_transition"

    def __init__(self, entity: str, current: str, target: str):
        super().__init__(
            f"A {entity} in state '{current}' cannot move to '{target}'.",
            entity=entity,
            current=current,
            target=target,
        )


def error_body(code: str, message: str, details: dict | None = None) -> dict:
    return {"error": {"code": code, "message": message, "details": details or {}}}
