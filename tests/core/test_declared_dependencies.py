"""Every package the application imports is one pyproject.toml names as a dependency.

A module reached only through another package's dependencies (aiohttp through twilio, requests
through pywebpush) disappears from a fresh install the day that package drops it, and the worker
or a transport fails on a machine that the lock file no longer covers.
"""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _declared(root: Path) -> set[str]:
    project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    return {
        _norm(re.split(r"[<>=!~;\[ ]", spec, maxsplit=1)[0]) for spec in project["dependencies"]
    }


def _type_checking(node: ast.AST) -> bool:
    test = getattr(node, "test", None)
    return isinstance(node, ast.If) and (
        (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING")
        or (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")
    )


def _imports(tree: ast.AST) -> set[str]:
    """Top-level names imported at run time (not under ``if TYPE_CHECKING:``)."""
    found: set[str] = set()
    stack = [tree]
    while stack:
        node = stack.pop()
        if _type_checking(node):
            stack.extend(getattr(node, "orelse", []))
            continue
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
        stack.extend(ast.iter_child_nodes(node))
    return found


def undeclared(root: Path) -> dict[str, list[str]]:
    """{imported module: files} for third-party modules that root/vecinos imports and no
    distribution root/pyproject.toml declares provides."""
    declared = _declared(root)
    providers = packages_distributions()
    missing: dict[str, list[str]] = {}
    for path in sorted((root / "vecinos").rglob("*.py")):
        for top in _imports(ast.parse(path.read_text(), filename=str(path))):
            if top in sys.stdlib_module_names or top == "vecinos":
                continue
            if not {_norm(d) for d in providers.get(top, [])} & declared:
                missing.setdefault(top, []).append(str(path.relative_to(root)))
    return missing


def test_every_imported_package_is_a_declared_dependency():
    assert undeclared(ROOT) == {}


def test_an_import_reached_only_through_another_package_is_found(tmp_path):
    # idna is installed (requests and aiohttp need it) but pyproject.toml does not name it.
    package = tmp_path / "vecinos"
    package.mkdir()
    (package / "mod.py").write_text(
        "from typing import TYPE_CHECKING\n"
        "import idna\n"
        "import django.conf\n"
        "if TYPE_CHECKING:\n"
        "    import django_stubs_ext\n"
    )
    (tmp_path / "pyproject.toml").write_text((ROOT / "pyproject.toml").read_text())
    assert undeclared(tmp_path) == {"idna": ["vecinos/mod.py"]}
