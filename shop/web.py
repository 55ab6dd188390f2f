"""What every API blueprint shares: the Api class with our error shape, paging, error docs."""

from __future__ import annotations

import http
import logging
import re
from collections.abc import Callable
from datetime import UTC, datetime

import marshmallow as ma
from flask import current_app, jsonify, request, send_from_directory
from flask_smorest import Api, Blueprint
from werkzeug.exceptions import HTTPException
from werkzeug.routing import IntegerConverter

from shop import i18n
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


INT4_MAX = 2**31 - 1


INT8_MAX = 2**63 - 1
# Ranges for what Int's default (0 to INT4_MAX) does not fit: negative values, BigInteger columns.
SIGNED_INT4 = ma.validate.Range(min=-INT4_MAX - 1, max=INT4_MAX)
BIG = ma.validate.Range(min=0, max=INT8_MAX)
SIGNED_BIG = ma.validate.Range(min=-INT8_MAX - 1, max=INT8_MAX)


def _validators(validate) -> list:
    return [] if validate is None else (list(validate) if isinstance(validate, list | tuple) else [validate])


class Int(ma.fields.Integer):
    """An integer that always declares its bounds: its own Range (which must fit the column and the
    business), else 0 to INT4_MAX, the range of a PostgreSQL integer column. A BigInteger column or a
    negative value needs its Range spelled out."""

    def __init__(self, **kwargs):
        validate = _validators(kwargs.pop("validate", None))
        if not any(isinstance(v, ma.validate.Range) for v in validate):
            validate.insert(0, ma.validate.Range(min=0, max=INT4_MAX))
        super().__init__(validate=validate, **kwargs)


class Id(ma.fields.Integer):
    """A row id in a body or a query string: 1 to MAX_ID."""

    def __init__(self, **kwargs):
        extra = _validators(kwargs.pop("validate", None))
        super().__init__(validate=[ma.validate.Range(min=1, max=MAX_ID), *extra], **kwargs)


class Timestamp(ma.fields.AwareDateTime):
    """A moment in JSON, one form everywhere: RFC 3339 in UTC to the second, `2026-03-01T08:00:00Z`.
    Reads any RFC 3339 moment with an offset; dumps a datetime or an ISO string a service built."""

    def _serialize(self, value, attr, obj, **kwargs):
        if value is None:
            return None
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


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


def error_response(
    status: int, code: str, message: str, details: dict | None = None, headers=None, *, fallbacks: tuple = ()
):
    """The one error answer. `message` and the field messages in `details["fields"]` are English; the
    client gets them in its language (shop.i18n), with `fallbacks` for a message built from data."""
    language = i18n.current_language()
    message = i18n.translate(message, fallbacks, language)
    if details and "fields" in details:
        details = {**details, "fields": i18n.translate_fields(details["fields"], language)}
    response = jsonify(error_body(code, message, details))
    response.status_code = status
    response.headers["Content-Language"] = language
    response.vary.add("Accept-Language")
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def body_required(parameter: dict) -> bool:
    """One rule for every JSON body: required when its schema has a required field; a body whose
    fields all have defaults is optional, and sending none means `{}`."""
    schema = parameter["schema"]
    schema = schema() if isinstance(schema, type) else schema
    return any(field.required for field in schema.fields.values())


class ShopApi(Api):
    ERROR_SCHEMA = ErrorSchema

    def init_app(self, app, *args, **kwargs):
        super().init_app(app, *args, **kwargs)
        declare_error_codes(self, app)

    def register_blueprint(self, blp, **options):
        for methods in blp._docs.values():
            for doc in methods.values():
                for parameter in doc.get("arguments", {}).get("parameters", []) if isinstance(doc, dict) else []:
                    if parameter["in"] == "json":
                        parameter["required"] = body_required(parameter)
        super().register_blueprint(blp, **options)

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
        return error_response(
            error.code, code, message, details, headers, fallbacks=(http.HTTPStatus(error.code).phrase,)
        )


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
        fallbacks = tuple(cls.__dict__["message"] for cls in type(error).__mro__ if "message" in cls.__dict__)
        return error_response(
            error.status, error.code, error.message, error.details, error.headers, fallbacks=fallbacks
        )

    @app.errorhandler(Exception)
    def _unexpected(error: Exception):
        # HTTP errors have their own handler (ShopApi); this one sees only what nothing caught.
        log.exception("unhandled error")
        return error_response(500, "internal_error", "An unexpected error occurred.")


# --- the docs page works offline: Swagger UI from a pinned package, not a CDN -----------------

DOCS_ASSETS_URL = "/api/docs/assets/"


def serve_docs_assets(app) -> None:
    from swagger_ui_bundle import swagger_ui_path

    def docs_asset(filename: str):
        return send_from_directory(str(swagger_ui_path), filename, max_age=86400)

    app.add_url_rule(f"{DOCS_ASSETS_URL}<path:filename>", "docs_asset", docs_asset, methods=["GET"])


# --- rules every request obeys, before any operation reads its input ---------------------------

AUTHENTICATE = "_shop_authenticate"
AUTHENTICATED = "shop.authenticated"

# Headers that operations read as input (besides their JSON body, query string and path).
INPUT_HEADERS = ("Idempotency-Key", "X-Counter-Key")

# Idempotency-Key as every operation that takes it declares it.
IDEMPOTENCY_KEY_SCHEMA = {"type": "string", "minLength": 1, "maxLength": 100}

# The OpenAPI entry of an operation that takes an Idempotency-Key (`@blp.doc(**IDEMPOTENCY)`).
IDEMPOTENCY = {
    "parameters": [
        {
            "in": "header",
            "name": "Idempotency-Key",
            "required": False,
            "description": "Retries with the same key and body return the first result; another body is refused (409)",
            "schema": IDEMPOTENCY_KEY_SCHEMA,
        }
    ]
}

# C0 controls and DEL, and lone surrogates (no encoding can store them). Text in a JSON body may
# hold tab, line feed and carriage return; a query string, a path or a header may not.
_CONTROL_IN_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
_CONTROL_IN_LINE = re.compile("[\x00-\x1f\x7f\ud800-\udfff]")
CONTROL_MESSAGE = "Control characters are not allowed."


def authenticates(check: Callable[[], object]) -> Callable:
    """Mark a view so that `check()` (which raises, or returns an error response) runs before the
    request's input is parsed: a caller without valid credentials gets 401, never a 422."""

    def mark(view):
        setattr(view, AUTHENTICATE, check)
        return view

    return mark


def register_request_rules(app, *, rate_limit: Callable[[], object]) -> None:
    """In this order: credentials, then rate limits (`rate_limit`: shop.extensions.check_rate_limit,
    passed in because extensions import this module), then characters, then a declared-required body."""
    app.before_request(_authenticate_first)
    app.before_request(rate_limit)
    app.before_request(_refuse_control_characters)
    app.before_request(_require_declared_body)


def _view():
    return current_app.view_functions.get(request.endpoint) if request.endpoint else None


def _authenticate_first():
    if request.method == "OPTIONS":
        return None
    check = getattr(_view(), AUTHENTICATE, None)
    if check is None:
        return None
    refused = check()
    if refused is None:
        request.environ[AUTHENTICATED] = True
    return refused


def authenticated_already() -> bool:
    """Whether this request passed its operation's credentials check before its input was parsed."""
    return request.environ.get(AUTHENTICATED, False)


def _invalid(fields: dict, message: str = "Some fields are not valid."):
    return error_response(422, "invalid_input", message, {"fields": fields})


def _refuse_control_characters():
    bad: dict = {}
    for name, value in request.args.items(multi=True):
        if _CONTROL_IN_LINE.search(name) or _CONTROL_IN_LINE.search(value):
            bad[_printable(name)] = [CONTROL_MESSAGE]
    for name, value in (request.view_args or {}).items():
        if isinstance(value, str) and _CONTROL_IN_LINE.search(value):
            bad[name] = [CONTROL_MESSAGE]
    for name in INPUT_HEADERS:
        value = request.headers.get(name)
        if value is not None and _CONTROL_IN_LINE.search(value):
            bad[name] = [CONTROL_MESSAGE]
    key = request.headers.get("Idempotency-Key")
    if key is not None and not IDEMPOTENCY_KEY_SCHEMA["minLength"] <= len(key) <= IDEMPOTENCY_KEY_SCHEMA["maxLength"]:
        bad.setdefault("Idempotency-Key", []).append("Must be 1 to 100 characters.")
    form = request.form.items(multi=True) if _body_parameters("form", "files") else ()
    for name, value in form:
        if _CONTROL_IN_LINE.search(name) or _CONTROL_IN_TEXT.search(value):
            bad[_printable(name)] = [CONTROL_MESSAGE]
    if _body_parameters("json") and request.is_json:
        _walk_json(request.get_json(silent=True), "", bad)
    return _invalid(bad) if bad else None


def _walk_json(value, path: str, bad: dict) -> None:
    if isinstance(value, str):
        if _CONTROL_IN_TEXT.search(value):
            bad[path or "body"] = [CONTROL_MESSAGE]
    elif isinstance(value, dict):
        for key, item in value.items():
            where = f"{path}.{_printable(key)}" if path else _printable(key)
            if _CONTROL_IN_LINE.search(key):
                bad[where] = [CONTROL_MESSAGE]
            _walk_json(item, where, bad)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _walk_json(item, f"{path}.{index}" if path else str(index), bad)


def _printable(name: str) -> str:
    return _CONTROL_IN_LINE.sub("?", name)


def _body_parameters(*locations: str) -> list[dict]:
    """The body arguments the operation parses: an operation that reads its raw body (and may limit
    its size first) is left alone."""
    parameters = getattr(_view(), "_apidoc", {}).get("arguments", {}).get("parameters", [])
    return [p for p in parameters if p["in"] in locations]


def _require_declared_body():
    """An operation whose JSON body is required (see body_required) refuses a request without one,
    or with one that is not JSON, before anything reads it."""
    if request.method in ("GET", "HEAD", "OPTIONS", "DELETE"):
        return None
    if not any(body_required(p) for p in _body_parameters("json")):
        return None
    if request.get_json(silent=True) is None:
        if request.is_json and request.get_data(cache=True).strip():
            return error_response(400, "bad_request", "The body is not valid JSON.")
        return _invalid({"body": ["A JSON body is required."]}, "A JSON body is required.")
    return None


def documented_errors(*codes: int) -> Callable:
    """Declare in OpenAPI the error statuses an operation can answer, all in our error shape."""

    def decorate(func):
        for code in codes:
            func = Blueprint.alt_response(None, code, response=http.HTTPStatus(code).name)(func)
        return func

    return decorate


PAGE_SIZE_CEILING = 100


class PageArgs(ma.Schema):
    page = Int(load_default=1, validate=ma.validate.Range(min=1, max=100_000))
    # the ceiling every deployment keeps; PAGE_SIZE_MAX may lower it
    size = Int(load_default=None, validate=ma.validate.Range(min=1, max=PAGE_SIZE_CEILING))

    @ma.post_load
    def cap(self, data, **_kwargs):
        cfg = current_app.config
        if data["size"] is None:
            data["size"] = cfg["PAGE_SIZE_DEFAULT"]
        ceiling = min(cfg["PAGE_SIZE_MAX"], PAGE_SIZE_CEILING)
        if data["size"] > ceiling:
            raise ma.ValidationError(f"Must be at most {ceiling}.", "size")
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
            "page": Int(required=True, validate=ma.validate.Range(min=1, max=100_000)),
            "size": Int(required=True, validate=ma.validate.Range(min=1, max=PAGE_SIZE_CEILING)),
            "total": Int(required=True),
        },
        name=name,
    )
