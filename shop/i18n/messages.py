"""Every English message a client can read in an error, found in the code: the message ids of the
catalogues (`flask i18n extract` writes them into each `.po`; a test fails when one lacks a translation).

Found by reading our packages:
- each DomainError subclass's `message`;
- the message given where an error is raised or built: `SomeError("…")`, `super().__init__("…")` in an
  error class, `error_response(status, code, "…")`, `ValidationError("…")`, a validator's `error="…"`,
  and the texts of `fields={"name": ["…"]}`; an f-string becomes an id with `{placeholders}`;
- the HTTP layer's: werkzeug's descriptions and status phrases, marshmallow's and webargs' messages.
"""

from __future__ import annotations

import ast
import http
import importlib
import inspect
import pkgutil
from collections.abc import Iterator
from pathlib import Path

import marshmallow as ma
from werkzeug import exceptions as http_errors

from shop.errors import DomainError

PACKAGES = ("shop", "payments", "search")
# calls whose argument at this position (or keyword) is a message a client reads
MESSAGE_CALLS = {
    "error_response": (2, "message"),
    "ValidationError": (0, "message"),
    "_invalid": (1, "message"),
    "unauthorized": (0, "message"),  # the JWT loaders' answers (shop.auth.guard)
}
VALIDATORS = {
    name for name, cls in inspect.getmembers(ma.validate, inspect.isclass) if issubclass(cls, ma.validate.Validator)
}
# statuses the API answers (shop.web._HTTP_CODES and the readiness probe's 503)
HTTP_STATUSES = (400, 401, 403, 404, 405, 409, 413, 415, 422, 429, 500, 503)


def modules() -> list:
    found = []
    for package_name in PACKAGES:
        package = importlib.import_module(package_name)
        found.append(package)
        for info in pkgutil.walk_packages(package.__path__, package_name + "."):
            found.append(importlib.import_module(info.name))
    return found


def error_classes() -> list[type[DomainError]]:
    """Every DomainError subclass in our packages (they are all imported first)."""
    modules()
    found, pending = [], [DomainError]
    while pending:
        cls = pending.pop()
        found.append(cls)
        pending.extend(cls.__subclasses__())
    return [cls for cls in found if cls.__module__.split(".", 1)[0] in PACKAGES]


def class_messages() -> dict[str, str]:
    """message → the error class that declares it."""
    return {cls.__dict__["message"]: cls.__qualname__ for cls in error_classes() if "message" in cls.__dict__}


def text_of(node: ast.expr) -> str | None:
    """A string literal's text; an f-string's with `{expression}` placeholders; None for anything else."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        parts = []
        for value in node.values:
            if isinstance(value, ast.Constant):
                parts.append(str(value.value))
            elif isinstance(value, ast.FormattedValue):
                parts.append("{" + ast.unparse(value.value) + "}")
        return "".join(parts)
    return None


def _field_texts(node: ast.expr) -> Iterator[str]:
    if isinstance(node, ast.Dict):
        for value in node.values:
            yield from _field_texts(value)
    elif isinstance(node, ast.List | ast.Tuple):
        for item in node.elts:
            text = text_of(item)
            if text is not None:
                yield text
            else:
                yield from _field_texts(item)


def _message_position(cls: type[DomainError]) -> int | None:
    parameters = list(inspect.signature(cls.__init__).parameters)[1:]
    return parameters.index("message") if "message" in parameters else None


def _call_name(node: ast.Call) -> str | None:
    if isinstance(node.func, ast.Name):
        return node.func.id
    if isinstance(node.func, ast.Attribute):
        return node.func.attr
    return None


def _is_super_init(node: ast.AST) -> bool:
    """`super().__init__(...)`: inside an error class, its first argument is the message."""
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "__init__"
        and isinstance(node.func.value, ast.Call)
        and _call_name(node.func.value) == "super"
    )


def _argument(node: ast.Call, position: int | None, keyword: str) -> ast.expr | None:
    for kw in node.keywords:
        if kw.arg == keyword:
            return kw.value
    if position is not None and len(node.args) > position:
        return node.args[position]
    return None


def source_messages() -> dict[str, str]:
    """message → where it is first found (`path:line`), read from the source of our packages."""
    errors = {cls.__name__: cls for cls in error_classes()}
    root = Path(importlib.import_module("shop").__file__).resolve().parent.parent
    found: dict[str, str] = {}

    def add(text: str | None, path: Path, node: ast.AST) -> None:
        if text and text.strip():
            found.setdefault(text, f"{path.relative_to(root)}:{node.lineno}")

    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for klass in [n for n in ast.walk(tree) if isinstance(n, ast.ClassDef) and n.name in errors]:
                for node in ast.walk(klass):
                    if _is_super_init(node):
                        message = _argument(node, 0, "message")
                        add(text_of(message) if message is not None else None, path, node)
            for node in ast.walk(tree):
                if not isinstance(node, ast.Call):
                    continue
                name = _call_name(node)
                if name in errors:
                    message = _argument(node, _message_position(errors[name]), "message")
                    add(text_of(message) if message is not None else None, path, node)
                elif name in MESSAGE_CALLS:
                    message = _argument(node, *MESSAGE_CALLS[name])
                    add(text_of(message) if message is not None else None, path, node)
                for kw in node.keywords:
                    if kw.arg == "fields" and name in errors:
                        for text in _field_texts(kw.value):
                            add(text, path, node)
                    elif kw.arg == "error" and name in VALIDATORS:
                        add(text_of(kw.value), path, node)
    return found


def http_layer_messages() -> dict[str, str]:
    """What werkzeug, marshmallow and webargs say, and the request rules' own field messages."""
    from shop import web

    found: dict[str, str] = {}
    for status in HTTP_STATUSES:
        found.setdefault(http.HTTPStatus(status).phrase, "http status")
        error = http_errors.default_exceptions.get(status)
        if error is not None and error.description:
            found.setdefault(error.description, "werkzeug")
    for _name, field in inspect.getmembers(ma.fields, inspect.isclass):
        if issubclass(field, ma.fields.Field):
            for text in getattr(field, "default_error_messages", {}).values():
                found.setdefault(text, "marshmallow")
    for _name, validator in inspect.getmembers(ma.validate, inspect.isclass):
        text = getattr(validator, "default_message", None)
        if isinstance(text, str):
            found.setdefault(text, "marshmallow")
    for text in ma.validate.Length.message_min, ma.validate.Length.message_max, ma.validate.Length.message_all:
        found.setdefault(text, "marshmallow")
    found.setdefault(ma.validate.Length.message_equal, "marshmallow")
    for text in _range_messages():
        found.setdefault(text, "marshmallow")
    for text in ma.Schema._default_error_messages.values():
        found.setdefault(text, "marshmallow")
    # concrete forms of messages marshmallow formats with a type name
    for obj_type in ("datetime", "date", "time", "aware datetime", "naive datetime"):
        found.setdefault(f"Not a valid {obj_type}.", "marshmallow")
    for text in (web.CONTROL_MESSAGE, "Must be 1 to 100 characters.", "A JSON body is required.", "Invalid JSON body."):
        found.setdefault(text, "shop.web")
    return found


def _range_messages() -> Iterator[str]:
    r = ma.validate.Range
    for low in (r.message_gte, r.message_gt):
        yield r.message_min.format(min_op=low)
        for high in (r.message_lte, r.message_lt):
            yield r.message_all.format(min_op=low, max_op=high)
    for high in (r.message_lte, r.message_lt):
        yield r.message_max.format(max_op=high)


def all_messages() -> dict[str, str]:
    """Every message id, with where it comes from."""
    found = {message: f"class {name}" for message, name in class_messages().items()}
    for message, where in {**source_messages(), **http_layer_messages()}.items():
        found.setdefault(message, where)
    return found
