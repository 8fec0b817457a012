"""Every audit action has a label (core.extensions.add_audit_actions): the audit log says what
happened in the coordinator's language, not ``auth.login`` (outside walk, on a phone in Spanish).

The actions are read from the source, every call to ``audit(...)``, so an action added without
a label fails here, and so does a label left behind for an action nobody writes any more."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import get_args

from django.utils import translation

from vecinos.core import extensions
from vecinos.onboarding import imports

ROOT = Path(__file__).resolve().parents[2] / "vecinos"

# The actions whose code is computed, by the file and the expression that computes it: each is
# expanded to every code it can be. A new computed action fails the scan until it is listed here.
KINDS = get_args(imports.Kind)
COMPUTED: dict[tuple[str, str], set[str]] = {
    ("onboarding/imports.py", "f'import.{kind}'"): {f"import.{kind}" for kind in KINDS},
    ("onboarding/imports.py", "f'import.{kind}.counts'"): {
        f"import.{kind}.counts" for kind in KINDS
    },
}


def _called_audit(node: ast.Call) -> bool:
    func = node.func
    name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
    return name == "audit"


def _codes(expr: ast.expr, where: str) -> set[str]:
    if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
        return {expr.value}
    if isinstance(expr, ast.IfExp):  # "language.reviewed" if reviewed else "language.needs_review"
        return _codes(expr.body, where) | _codes(expr.orelse, where)
    key = (where, ast.unparse(expr))
    assert key in COMPUTED, f"{where}: audit({key[1]}, ...): list the codes it can be in COMPUTED"
    return COMPUTED[key]


def audit_actions_in_source() -> dict[str, list[str]]:
    """Every action code written with ``audit(...)`` under vecinos/, and where."""
    found: dict[str, list[str]] = {}
    for path in sorted(ROOT.rglob("*.py")):
        where = path.relative_to(ROOT).as_posix()
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.Call) and _called_audit(node) and node.args:
                for code in _codes(node.args[0], where):
                    found.setdefault(code, []).append(f"{where}:{node.lineno}")
    return found


def test_the_scan_finds_the_actions_it_must():
    # A scan that finds nothing would pass everything below.
    found = audit_actions_in_source()
    assert len(found) >= 85
    for code in (
        "auth.login",
        "alert.send",
        "tree.view",
        "import.texted",
        "import.members",
        "import.subscribers.counts",
        "language.reviewed",
        "language.needs_review",
    ):
        assert code in found, code


def test_every_audit_action_written_has_a_label():
    labelled = extensions.audit_actions()
    missing = {code: at for code, at in audit_actions_in_source().items() if code not in labelled}
    assert not missing, f"add a label with add_audit_actions in the app's apps.py: {missing}"


def test_no_label_is_left_for_an_action_nobody_writes():
    stale = set(extensions.audit_actions()) - set(audit_actions_in_source())
    assert not stale


def test_a_label_is_words_in_the_active_language_and_an_unknown_code_is_itself():
    with translation.override("es"):
        assert extensions.audit_action_label("auth.login") == "Inició sesión"
    with translation.override("en"):
        assert extensions.audit_action_label("auth.login") == "Signed in"
    assert extensions.audit_action_label("no.such.action") == "no.such.action"
    assert extensions.audit_action_label("") == ""
