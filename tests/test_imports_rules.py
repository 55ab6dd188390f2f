"""The dependency rules of the layout, read from the source: no import cycle between modules, no api
module importing another slice's api module, no Flask in services and models."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("shop", "search", "payments")
# Modules that are the web or command layer (they may use Flask): blueprints, commands, app wiring.
WEB_LAYER = {"api", "cli", "web", "guard", "request_session", "extensions", "health", "settings", "__init__"}
WEB_LAYER |= {"cors", "http_cache"}  # HTTP concerns of every answer: CORS headers, ETags and caching
# the worker's entry points: like a command, each runs a job inside the app and commits once
WEB_LAYER |= {"celery_app", "runner", "registry", "supervise", "worker"}
# the server-rendered pages are web layer through and through (they call the services)
PAGES = "shop.web_pages"


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


MODULES = _modules()


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(name: str, *, top_level_only: bool, exact: bool = False) -> set[str]:
    """The modules of ours `name` imports (`top_level_only`: those imported when it is imported).
    `exact`: `from package import module` names the module only, not the package's __init__ (whose
    running is no dependency on what it wires, e.g. `from shop import clock` on create_app)."""
    tree = ast.parse(MODULES[name].read_text(encoding="utf-8"))
    package = name if MODULES[name].name == "__init__.py" else name.rpartition(".")[0]
    nodes = []
    if top_level_only:
        stack = list(tree.body)
        while stack:
            node = stack.pop()
            if isinstance(node, ast.If) and not _is_type_checking(node):
                stack.extend(node.body + node.orelse)
            elif isinstance(node, ast.Try):
                stack.extend(node.body + node.orelse + node.finalbody)
            else:
                nodes.append(node)
    else:
        skipped = {
            id(inner)
            for node in ast.walk(tree)
            if isinstance(node, ast.If) and _is_type_checking(node)
            for inner in ast.walk(node)
        }
        nodes = [node for node in ast.walk(tree) if id(node) not in skipped]
    targets: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(
                    package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else [])
                )
            for alias in node.names:
                module = f"{base}.{alias.name}"
                if not (exact and module in MODULES):
                    targets.add(base)
                targets.add(module)
    return {t for t in targets if t in MODULES and t != name}


def _slice(name: str) -> str:
    """The vertical slice a module belongs to: shop.orders, payments, search, or shop itself."""
    parts = name.split(".")
    return ".".join(parts[:2]) if parts[0] == "shop" and len(parts) > 2 else parts[0]


def _is_api(name: str) -> bool:
    last = name.rsplit(".", 1)[-1]
    return last == "api" or last.endswith("_api")


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    # A package's __init__ importing its own submodules is how a package exposes them, not a cycle.
    graph = {
        name: {t for t in targets if not (MODULES[name].name == "__init__.py" and t.startswith(name + "."))}
        for name, targets in graph.items()
    }
    cycles, state = [], {}

    def visit(node: str, path: list[str]) -> None:
        state[node] = "open"
        for target in sorted(graph[node]):
            if state.get(target) == "open":
                cycles.append([*path[path.index(target) :], target])
            elif target not in state:
                visit(target, [*path, target])
        state[node] = "done"

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    return cycles


def test_no_import_cycle_between_modules():
    cycles = _cycles({name: _imports(name, top_level_only=True) for name in MODULES})
    assert cycles == [], "import cycles: " + "; ".join(" → ".join(c) for c in cycles)


def test_no_import_cycle_hidden_in_functions():
    """An import inside a function hides a cycle from the interpreter, not from the design: with the
    imports in function bodies counted too, the modules still form no cycle."""
    cycles = _cycles({name: _imports(name, top_level_only=False, exact=True) for name in MODULES})
    assert cycles == [], "import cycles: " + "; ".join(" → ".join(c) for c in cycles)


def test_api_modules_import_no_other_slice_api():
    wrong = [
        f"{name} imports {target}"
        for name in MODULES
        if _is_api(name)
        for target in _imports(name, top_level_only=False)
        if _is_api(target) and _slice(target) != _slice(name)
    ]
    assert wrong == []


def test_commands_import_no_blueprint():
    wrong = [
        f"{name} imports {target}"
        for name in MODULES
        if name.rsplit(".", 1)[-1] == "cli"
        for target in _imports(name, top_level_only=False)
        if _is_api(target)
    ]
    assert wrong == []


def test_services_and_models_import_no_flask():
    wrong = []
    for name, path in MODULES.items():
        if path.stem in WEB_LAYER or _is_api(path.stem) or path.stem == "schemas" or name.startswith(PAGES):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            modules = (
                [alias.name for alias in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            wrong += [f"{name} imports {m}" for m in modules if m.split(".")[0] in ("flask", "flask_smorest")]
    assert wrong == []


def test_schemas_read_no_request_state():
    """Schemas shape data; who may see what is decided before dumping (e.g. orders.disclosure)."""
    wrong = []
    for name, path in MODULES.items():
        if path.stem != "schemas":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module == "flask":
                wrong += [f"{name} imports flask.{alias.name}" for alias in node.names]
            elif isinstance(node, ast.Import):
                wrong += [f"{name} imports flask" for alias in node.names if alias.name == "flask"]
    assert wrong == []


def test_api_modules_build_no_settings_per_request():
    """Settings are built once (shop/settings.py) and read with `current()`; the JWT lifetimes are
    flask-jwt-extended's own configuration, read where tokens are answered."""
    readers = set()
    for name, path in MODULES.items():
        if not _is_api(path.stem):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Attribute)
                and node.attr == "config"
                and isinstance(node.value, ast.Name)
                and node.value.id == "current_app"
            ):
                readers.add(name)
    assert readers <= {"shop.auth.api"}


def test_the_rules_see_the_layout():
    """The rules would pass vacuously if the walk found nothing: it finds the slices and their rooms."""
    assert {"shop.orders.service", "shop.orders.api", "payments.payables", "payments.api", "search.api"} <= set(MODULES)
    assert "shop.orders.service" in _imports("shop.orders.api", top_level_only=True)
    assert _slice("shop.orders.api") == "shop.orders" and _slice("payments.api") == "payments"
    # create_app imports the blueprints in its body: seen by the walk into functions only
    assert "shop.procurement.api" in _imports("shop", top_level_only=False, exact=True)
    assert "shop.procurement.api" not in _imports("shop", top_level_only=True)
