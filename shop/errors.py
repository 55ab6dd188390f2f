"""Domain errors with stable codes, and the one JSON error shape every response uses.

Services raise these; the web layer turns each into
``{"error": {"code": ..., "message": ..., "details": {...}}}`` with the error's status.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, ClassVar


class ErrorCode(StrEnum):
    """Codes any slice or the HTTP layer answers; each slice adds its own in its `errors.py`."""

    BAD_REQUEST = "bad_request"
    INVALID_INPUT = "invalid_input"
    UNAUTHENTICATED = "unauthenticated"
    FORBIDDEN = "forbidden"
    NOT_FOUND = "not_found"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    CONFLICT = "conflict"
    ILLEGAL_TRANSITION = "illegal_transition"
    IDEMPOTENCY_KEY_REUSED = "idempotency_key_reused"
    PAYLOAD_TOO_LARGE = "payload_too_large"
    UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type"
    RATE_LIMITED = "rate_limited"
    INTERNAL_ERROR = "internal_error"


class DomainError(Exception):
    """A refusal with a status and a stable code; one class per code, declared in its slice's `errors.py`.

    `codes` lists every code an instance of the class can carry (the OpenAPI declaration reads it);
    it is `(code,)` unless a class chooses its code per instance from a fixed set.
    """

    status = 400
    code: StrEnum = ErrorCode.BAD_REQUEST
    codes: ClassVar[tuple[StrEnum, ...]]
    message = "The request cannot be processed."
    headers: ClassVar[dict[str, str]] = {}  # e.g. how to authenticate, on a 401

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "codes" not in cls.__dict__:
            cls.codes = (cls.code,)

    def __init__(self, message: str | None = None, **details: Any):
        if "code" in details:
            raise TypeError("a code belongs to an error class: raise the class that declares it")
        super().__init__(message or self.message)
        self.message = message or self.message
        self.details = details


DomainError.codes = (DomainError.code,)


class InvalidInput(DomainError):
    status = 422
    code = ErrorCode.INVALID_INPUT
    message = "Some fields are not valid."


class Unauthenticated(DomainError):
    status = 401
    code = ErrorCode.UNAUTHENTICATED
    message = "Authentication is required."
    headers = {"WWW-Authenticate": "Bearer"}


class Forbidden(DomainError):
    status = 403
    code = ErrorCode.FORBIDDEN
    message = "You are not allowed to do this."


class NotFound(DomainError):
    status = 404
    code = ErrorCode.NOT_FOUND
    message = "Not found."


class Conflict(DomainError):
    status = 409
    code = ErrorCode.CONFLICT
    message = "The request conflicts with the current state."


class IllegalTransition(Conflict):
    code = ErrorCode.ILLEGAL_TRANSITION

    def __init__(self, entity: str, current: str, target: str):
        super().__init__(
            f"A {entity} in state '{current}' cannot move to '{target}'.",
            entity=entity,
            current=current,
            target=target,
        )


class IdempotencyKeyReused(Conflict):
    code = ErrorCode.IDEMPOTENCY_KEY_REUSED
    message = "This Idempotency-Key was used with a different request."


def error_body(code: str, message: str, details: dict | None = None) -> dict:
    return {"error": {"code": code, "message": message, "details": details or {}}}
