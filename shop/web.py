"""What every API blueprint shares: the Api class with our error shape, paging, error docs."""

from __future__ import annotations

import http
import logging
from collections.abc import Callable

import marshmallow as ma
from flask import current_app, jsonify
from flask_smorest import Api, Blueprint
from werkzeug.exceptions import HTTPException
from werkzeug.routing import IntegerConverter

from shop.error_docs import ErrorCodesPlugin
from shop.errors import DomainError, error_body

log = logging.getLogger(__name__)

# Headers an HTTP error carries that must survive its conversion to our JSON shape.
KEPT_HEADERS = ("Allow", "WWW-Authenticate", "Retry-After")


# Ids are PostgreSQL integers: a larger number in a path or a body is unknown or bad input, never a
# database error.
MAX_ID = 2**31 - 1


class IdConverter(IntegerConverter):
    """`<int:...>` in every route: a whole number from 1 to MAX_ID, else the URL matches nothing (404)."""

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("min", 1)
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


def id_converter_schema(converter: IdConverter) -> dict:
    return {"type": "integer", "minimum": converter.min, "maximum": converter.max}


class Id(ma.fields.Integer):
    """A row id in a body or a query string: 1 to MAX_ID."""

    def __init__(self, **kwargs):
        extra = kwargs.pop("validate", None)
        extra = [] if extra is None else (list(extra) if isinstance(extra, list | tuple) else [extra])
        super().__init__(validate=[ma.validate.Range(min=1, max=MAX_ID), *extra], **kwargs)


class ErrorDetailSchema(ma.Schema):
    code = ma.fields.String(required=True, metadata={"example": "not_found"})
    message = ma.fields.String(required=True)
    details = ma.fields.Dict(required=True)


class ErrorSchema(ma.Schema):
    error = ma.fields.Nested(ErrorDetailSchema, required=True)


_HTTP_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_input",
    429: "rate_limited",
    500: "internal_error",
}


def error_response(status: int, code: str, message: str, details: dict | None = None, headers=None):
    response = jsonify(error_body(code, message, details))
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


class ShopApi(Api):
    ERROR_SCHEMA = ErrorSchema

    def init_app(self, app, *args, **kwargs):
        super().init_app(app, *args, **kwargs)
        declare_error_codes(self, app)

    def handle_http_exception(self, error: HTTPException):
        data = getattr(error, "data", None) or {}
        details: dict = {}
        message = error.description or http.HTTPStatus(error.code).phrase
        if "messages" in data:  # webargs validation errors: {location: {field: [msgs]}}
            details = {"fields": _flatten_locations(data["messages"])}
            message = "Some fields are not valid."
        elif "message" in data:
            message = data["message"]
        headers = {k: v for k, v in error.get_response().headers.items() if k in KEPT_HEADERS}
        headers.update(data.get("headers") or {})
        code = data.get("code") or _HTTP_CODES.get(error.code, http.HTTPStatus(error.code).name.lower())
        return error_response(error.code, code, message, details, headers)


def _flatten_locations(messages: dict) -> dict:
    fields: dict = {}
    for location_errors in messages.values():
        if isinstance(location_errors, dict):
            fields.update(location_errors)
    return fields


def declare_error_codes(api: Api, app) -> None:
    """Each operation's error responses in OpenAPI list the codes it can answer, per status."""
    plugin = ErrorCodesPlugin(app)
    api.spec.plugins = [*api.spec.plugins, plugin]
    to_dict = api.spec.to_dict

    def to_dict_with_codes() -> dict:
        plugin.declare_pending()
        return to_dict()

    api.spec.to_dict = to_dict_with_codes


def register_error_handlers(app) -> None:
    @app.errorhandler(DomainError)
    def _domain_error(error: DomainError):
        return error_response(error.status, error.code, error.message, error.details, error.headers)

    @app.errorhandler(Exception)
    def _unexpected(error: Exception):
        # HTTP errors have their own handler (ShopApi); this one sees only what nothing caught.
        log.exception("unhandled error")
        return error_response(500, "internal_error", "An unexpected error occurred.")


def documented_errors(*codes: int) -> Callable:
    """Declare in OpenAPI the error statuses an operation can answer, all in our error shape."""

    def decorate(func):
        for code in codes:
            func = Blueprint.alt_response(None, code, response=http.HTTPStatus(code).name)(func)
        return func

    return decorate


class PageArgs(ma.Schema):
    page = ma.fields.Integer(load_default=1, validate=ma.validate.Range(min=1, max=100_000))
    size = ma.fields.Integer(load_default=None, validate=ma.validate.Range(min=1))

    @ma.post_load
    def cap(self, data, **_kwargs):
        cfg = current_app.config
        if data["size"] is None:
            data["size"] = cfg["PAGE_SIZE_DEFAULT"]
        if data["size"] > cfg["PAGE_SIZE_MAX"]:
            raise ma.ValidationError(f"Must be at most {cfg['PAGE_SIZE_MAX']}.", "size")
        return data


def page_body(result: tuple[list, int], paging: dict) -> dict:
    """The body of a page response from a service's (items, total) and the request's paging."""
    items, total = result
    return {"items": items, "total": total, **paging}


def page_schema(item_schema: type[ma.Schema], name: str) -> type[ma.Schema]:
    """A response envelope: items, page, size, total."""
    return ma.Schema.from_dict(
        {
            "items": ma.fields.List(ma.fields.Nested(item_schema), required=True),
            "page": ma.fields.Integer(required=True),
            "size": ma.fields.Integer(required=True),
            "total": ma.fields.Integer(required=True),
        },
        name=name,
    )
