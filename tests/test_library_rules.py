"""The suite is a library: test modules share helpers only through factories and conftest modules."""

import ast
import pathlib

TESTS = pathlib.Path(__file__).parent
SHARED = {"factories", "conftest", "stripe_peer", "readme_tour", "worker_jobs"}  # modules meant to be imported by tests


def _imports(path: pathlib.Path):
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            yield node.module, [alias.name for alias in node.names]
        elif isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, []


def test_no_test_module_imports_another_test_module():
    offenders = [
        f"{path.relative_to(TESTS)} imports {module}"
        for path in TESTS.rglob("*.py")
        for module, _names in _imports(path)
        if module.startswith("tests.") and module.rsplit(".", 1)[-1] not in SHARED
    ]
    assert offenders == []


def test_no_test_imports_a_private_name():
    offenders = [
        f"{path.relative_to(TESTS)} imports {module}.{name}"
        for path in TESTS.rglob("*.py")
        for module, names in _imports(path)
        for name in names
        if name.startswith("_") and module != "__future__"
    ]
    assert offenders == []


def test_each_helper_is_defined_once():
    defined: dict[str, list[str]] = {}
    for path in TESTS.rglob("*.py"):
        if path.stem.startswith("test_"):
            continue
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.FunctionDef) and not node.name.startswith("_"):
                is_fixture = any("fixture" in ast.unparse(d) for d in node.decorator_list)
                if not is_fixture:
                    defined.setdefault(node.name, []).append(str(path.relative_to(TESTS)))
    assert {name: where for name, where in defined.items() if len(where) > 1} == {}
