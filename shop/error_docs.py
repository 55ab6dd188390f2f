"""Which error codes an operation can answer, read from the code it runs.

A view's code and everything it calls in our packages is parsed once; every `raise X(...)` (or
construction of X) where X is a DomainError subclass contributes X's codes under X's status. Calls
are followed through module attributes and names; a method called on an object whose class the
reader cannot know (`order.transition(...)`, `gateway.start(...)`) is followed into every method of
that name defined in our packages, so the list errs on the side of a code too many, never one too
few for the paths it can see. The test suite checks the result against the codes it meets.
"""

from __future__ import annotations

import ast
import builtins
import contextlib
import functools
import http
import importlib
import inspect
import pathlib
import pkgutil
import threading
from collections.abc import Callable, Iterable

from apispec import BasePlugin
from werkzeug.routing import IntegerConverter

from shop.auth.errors import AuthCode
from shop.errors import DomainError, ErrorCode

PACKAGES = ("shop", "payments", "search")


def _ours(obj: object) -> bool:
    module = obj.__name__ if inspect.ismodule(obj) else getattr(obj, "__module__", None) or ""
    return module.split(".", 1)[0] in PACKAGES


@functools.cache
def _methods_by_name() -> dict[str, tuple[Callable, ...]]:
    # Every module of ours, not only those loaded so far: the answer must not depend on import order.
    modules = []
    for package_name in PACKAGES:
        package = importlib.import_module(package_name)
        modules.append(package)
        for info in pkgutil.walk_packages(package.__path__, package_name + "."):
            modules.append(importlib.import_module(info.name))
    index: dict[str, list[Callable]] = {}
    for module in modules:
        name = module.__name__
        for cls in vars(module).values():
            if not inspect.isclass(cls) or cls.__module__ != name:
                continue
            for attr, value in vars(cls).items():
                func = value.fget if isinstance(value, property) else getattr(value, "__func__", value)
                if inspect.isfunction(func):
                    index.setdefault(attr, []).append(func)
    return {name: tuple(funcs) for name, funcs in index.items()}


def _namespace(func: Callable) -> dict:
    names = dict(vars(builtins))
    names.update(func.__globals__)
    for name, cell in zip(func.__code__.co_freevars, func.__closure__ or (), strict=True):
        with contextlib.suppress(ValueError):  # an empty cell: assigned later in the enclosing function
            names[name] = cell.cell_contents
    return names


def _resolve(node: ast.expr, names: dict) -> object | None:
    if isinstance(node, ast.Name):
        return names.get(node.id)
    if isinstance(node, ast.Attribute):
        owner = _resolve(node.value, names)
        # Only modules and classes: an instance's (or a Flask proxy's) attributes are not known here.
        if inspect.ismodule(owner) or inspect.isclass(owner):
            return getattr(owner, node.attr, None)
    return None


def _is_error(obj: object) -> bool:
    return inspect.isclass(obj) and issubclass(obj, DomainError)


def _callable_body(obj: object) -> Callable | None:
    """The function whose source runs when `obj` is called, if it is ours."""
    obj = getattr(obj, "__func__", obj)
    if inspect.isclass(obj):
        init = obj.__dict__.get("__init__")
        return init if inspect.isfunction(init) and _ours(obj) else None
    return obj if inspect.isfunction(obj) and _ours(obj) else None


_PARSING = threading.Lock()


@functools.cache
def _functions_in_file(filename: str) -> dict[int, ast.FunctionDef | ast.AsyncFunctionDef]:
    """The file's function definitions by the first line of their code object (decorators included)."""
    try:
        with _PARSING:  # CPython 3.11's parser is not safe in parallel threads (the spec is made lazily)
            tree = ast.parse(pathlib.Path(filename).read_text(encoding="utf-8"))
    except (OSError, SyntaxError):
        return {}
    index: dict[int, ast.FunctionDef | ast.AsyncFunctionDef] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            index[min([node.lineno, *(decorator.lineno for decorator in node.decorator_list)])] = node
    return index


def _function_node(func: Callable) -> ast.AST | None:
    return _functions_in_file(func.__code__.co_filename).get(func.__code__.co_firstlineno)


FOREIGN = "foreign"  # a local name whose value comes from outside our packages (a regex match, a Session)


def _kind_of_annotation(node: ast.expr, names: dict) -> object | None:
    parts: list[ast.expr] = []
    pending = [node]
    while pending:
        part = pending.pop()
        if isinstance(part, ast.BinOp) and isinstance(part.op, ast.BitOr):
            pending += [part.left, part.right]
        elif not (isinstance(part, ast.Constant) and part.value is None):
            parts.append(part)
    classes = [_resolve(part, names) for part in parts]
    if not classes or not all(inspect.isclass(cls) for cls in classes):
        return None
    if not any(_ours(cls) for cls in classes):
        return FOREIGN
    return classes[0] if len(classes) == 1 else None


def _kind_of_value(node: ast.expr, names: dict) -> object | None:
    if isinstance(node, ast.Constant | ast.JoinedStr | ast.List | ast.Dict | ast.Set | ast.Tuple):
        return FOREIGN
    if isinstance(node, ast.Call):
        target = _resolve(node.func, names)
        if target is not None and not _ours(target):
            return FOREIGN
        if inspect.isclass(target):
            return target
    return None


def _local_kinds(func: Callable, tree: ast.AST, names: dict) -> dict[str, object]:
    """What the reader knows of local names: FOREIGN, or the class of ours they are an instance of."""
    kinds: dict[str, object] = {}
    owner = func.__qualname__.rsplit(".", 1)[0] if "." in func.__qualname__ else None
    if owner and owner in func.__globals__ and inspect.isclass(func.__globals__[owner]):
        kinds["self"] = kinds["cls"] = func.__globals__[owner]
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            arguments = node.args
            for arg in [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]:
                if arg.annotation is not None and arg.arg not in ("self", "cls"):
                    kinds[arg.arg] = _kind_of_annotation(arg.annotation, names)
        elif isinstance(node, ast.Assign | ast.AnnAssign) and isinstance(node.value, ast.expr):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if len(targets) == 1 and isinstance(targets[0], ast.Name):
                kinds[targets[0].id] = _kind_of_value(node.value, names)
        elif isinstance(node, ast.For | ast.comprehension) and isinstance(node.target, ast.Name):
            if _kind_of_value(node.iter, names) is FOREIGN:
                kinds[node.target.id] = FOREIGN
        elif isinstance(node, ast.withitem) and isinstance(node.optional_vars, ast.Name):
            kinds[node.optional_vars.id] = _kind_of_value(node.context_expr, names)
    return kinds


def _subclasses(cls: type) -> list[type]:
    found, pending = [], [cls]
    while pending:
        current = pending.pop()
        found.append(current)
        pending.extend(current.__subclasses__())
    return found


def _methods(receiver: ast.expr, name: str, kinds: dict, names: dict) -> tuple[Callable, ...]:
    """The functions of ours `receiver.name(...)` may run."""
    kind = kinds.get(receiver.id) if isinstance(receiver, ast.Name) else _kind_of_value(receiver, names)
    if kind is FOREIGN:
        return ()
    if inspect.isclass(kind) and not getattr(kind, "_is_protocol", False):
        candidates = [*kind.__mro__, *_subclasses(kind)]
        funcs = [_callable_body(cls.__dict__[name]) for cls in candidates if name in cls.__dict__ and _ours(cls)]
        return tuple(func for func in funcs if func is not None)
    return _methods_by_name().get(name, ())


@functools.cache
def _scan(func: Callable) -> tuple[frozenset[type[DomainError]], tuple[Callable, ...]]:
    """The errors `func` raises itself and the functions of ours it calls."""
    tree = _function_node(func)
    if tree is None:
        return frozenset(), ()
    names = _namespace(func)
    kinds = _local_kinds(func, tree, names)
    errors: set[type[DomainError]] = set()
    callees: list[Callable] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Raise) and node.exc is not None:
            target = _resolve(node.exc.func if isinstance(node.exc, ast.Call) else node.exc, names)
            if _is_error(target):
                errors.add(target)
        elif isinstance(node, ast.Call):
            target = _resolve(node.func, names)
            if _is_error(target):
                errors.add(target)
            elif target is not None:
                body = _callable_body(target)
                if body is not None:
                    callees.append(body)
                    callees.extend(_dispatched(body, node))
            elif isinstance(node.func, ast.Attribute):
                callees.extend(_methods(node.func.value, node.func.attr, kinds, names))
    return frozenset(errors), tuple(callees)


@functools.cache
def _dispatch_parameters(func: Callable) -> list[tuple[object, str]]:
    """`getattr(module, parameter)(...)` in `func`: the module of ours and the parameter naming the function."""
    tree = _function_node(func)
    if tree is None:
        return []
    names = _namespace(func)
    found = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and names.get(node.func.id) is getattr
            and len(node.args) == 2
            and isinstance(node.args[1], ast.Name)
        ):
            owner = _resolve(node.args[0], names)
            if inspect.ismodule(owner) and _ours(owner):
                found.append((owner, node.args[1].id))
    return found


def _dispatched(func: Callable, call: ast.Call) -> list[Callable]:
    """The functions a call of `func` with constant arguments reaches through `getattr(module, name)`."""
    reached = []
    for module, parameter in _dispatch_parameters(func):
        try:
            bound = inspect.signature(func).bind_partial(*[None] * len(call.args))
        except TypeError:
            continue
        positions = list(bound.arguments)
        if parameter in positions:
            argument = call.args[positions.index(parameter)]
            if isinstance(argument, ast.Constant) and isinstance(argument.value, str):
                body = _callable_body(getattr(module, argument.value, None))
                if body is not None:
                    reached.append(body)
    return reached


def _layers(func: Callable) -> Iterable[Callable]:
    """A decorated function and each function it wraps (decorators of ours raise too)."""
    while func is not None:
        yield func
        func = getattr(func, "__wrapped__", None)


@functools.cache
def raised_errors(view: Callable) -> frozenset[type[DomainError]]:
    """Every DomainError class the view, its decorators and what they call can raise."""
    found: set[type[DomainError]] = set()
    seen: set[Callable] = set()
    stack = [layer for layer in _layers(view) if _ours(layer)]
    while stack:
        func = stack.pop()
        if func in seen:
            continue
        seen.add(func)
        errors, callees = _scan(func)
        found |= errors
        stack.extend(layer for callee in callees for layer in _layers(callee) if _ours(layer) and layer not in seen)
    return frozenset(found)


def codes_by_status(view: Callable) -> dict[int, set[str]]:
    by_status: dict[int, set[str]] = {}
    for error in raised_errors(view):
        by_status.setdefault(error.status, set()).update(str(code) for code in error.codes)
    return by_status


# Codes the HTTP layer answers itself (webargs, the id converter, the JWT loaders, the rate limiter)
# for a status an operation declares.
HTTP_LAYER_CODES: dict[int, tuple[str, ...]] = {
    401: (ErrorCode.UNAUTHENTICATED, AuthCode.INVALID_TOKEN, AuthCode.TOKEN_EXPIRED, AuthCode.TOKEN_REVOKED),
    404: (ErrorCode.NOT_FOUND,),
    413: (ErrorCode.PAYLOAD_TOO_LARGE,),
    422: (ErrorCode.INVALID_INPUT,),
    429: (ErrorCode.RATE_LIMITED,),
}


def error_response_doc(status: int, codes: Iterable[str]) -> dict:
    """An error response in our one shape, with the codes this operation answers under this status."""
    return {
        "description": http.HTTPStatus(status).phrase,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["error"],
                    "additionalProperties": False,
                    "properties": {
                        "error": {
                            "type": "object",
                            "required": ["code", "message", "details"],
                            "properties": {
                                "code": {"type": "string", "enum": sorted({str(code) for code in codes})},
                                "message": {"type": "string"},
                                "details": {"type": "object"},
                            },
                        }
                    },
                }
            }
        },
    }


def declare_codes(operation: dict, view: Callable) -> None:
    """Replace each error status an OpenAPI operation declares by one that lists the codes it can answer."""
    responses = operation.get("responses", {})
    found = codes_by_status(view)
    for status in [status for status in responses if str(status).isdigit() and int(status) >= 400]:
        codes = found.get(int(status), set()) | set(HTTP_LAYER_CODES.get(int(status), ()))
        if codes:
            responses[status] = error_response_doc(int(status), codes)


class ErrorCodesPlugin(BasePlugin):
    """An apispec plugin: each operation's error responses list the codes its view can answer.

    Reading the code takes seconds, so it runs when the spec is first written out (`declare_pending`),
    not when the app starts: the operation dicts kept here are the ones the spec holds."""

    def __init__(self, app):
        self.app = app
        self.pending: list[tuple[dict, Callable]] = []
        self._declaring = threading.Lock()

    def operation_helper(self, path=None, operations=None, **kwargs):
        rule = kwargs.get("rule")
        if rule is None or not operations:
            return
        view = self.app.view_functions[rule.endpoint]
        if any(not isinstance(converter, IntegerConverter) for converter in rule._converters.values()):
            # a text in the path may carry a control character: the request rules answer 422
            for operation in operations.values():
                if isinstance(operation, dict):
                    operation.setdefault("responses", {}).setdefault("422", error_response_doc(422, {"invalid_input"}))
        self.pending.extend((operation, view) for operation in operations.values() if isinstance(operation, dict))

    def declare_pending(self) -> None:
        # Held until every operation is declared: a second first reader (requests in parallel) must
        # not write out the operations the first has popped and not yet declared.
        with self._declaring:
            while self.pending:
                operation, view = self.pending.pop()
                declare_codes(operation, view)
