"""Operations are plug-ins: outside ``runs/operations/`` no module imports an operation's own modules or
compares an operation's name, and no template outside an operation's package names one. Read from the
source with ``ast`` (and, for templates, as text), so a new leak fails here before anyone meets it."""

import ast
import re
from pathlib import Path

import pytest

from runs.operations import operation_names

ROOT = Path(__file__).resolve().parent.parent
# Where operation-specific code belongs, or is allowed: the operations themselves (each with its own
# simulator player), the tests and the migrations (history).
EXEMPT = ("runs/operations/", "tests/", "runs/migrations/", "examples/")
# What every module may import from the operations package: the registry, the two interfaces and the
# template loader.
SHARED = {
    "runs.operations",
    "runs.operations.base",
    "runs.operations.presentation",
    "runs.operations.templates",
}
NAMES = set(operation_names()) | {"audit-doc"}  # the next operation, before it exists


def sources() -> list[Path]:
    found = []
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if rel.startswith((".venv/", "var/", "node_modules/")) or rel.startswith(EXEMPT):
            continue
        found.append(path)
    return found


def _module_of(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imported(node: ast.AST, path: Path) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if isinstance(node, ast.ImportFrom):
        base = node.module or ""
        if node.level:
            package = _module_of(path).split(".")
            if path.name != "__init__.py":
                package = package[:-1]
            package = package[: len(package) - (node.level - 1)]
            base = ".".join([*package, base] if base else package)
        # ``from runs.operations import learn`` imports a module too.
        return [base] + [f"{base}.{alias.name}" for alias in node.names]
    return []


def _is_operation_module(module: str) -> bool:
    """A module of one operation's package (``runs.operations.learn...``), not a shared one."""
    parts = module.split(".")
    if parts[:2] != ["runs", "operations"] or len(parts) < 3 or ".".join(parts[:3]) in SHARED:
        return False
    folder = ROOT / "runs" / "operations"
    return (folder / parts[2]).is_dir() or (folder / f"{parts[2]}.py").is_file()


def _leaks(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = []
    for node in ast.walk(tree):
        for module in _imported(node, path):
            if _is_operation_module(module):
                found.append(f"line {node.lineno}: imports {module}")
        if isinstance(node, ast.Compare):
            for operand in [node.left, *node.comparators]:
                values = operand.elts if isinstance(operand, ast.Tuple | ast.List | ast.Set) else [operand]
                for value in values:
                    if isinstance(value, ast.Constant) and value.value in NAMES:
                        found.append(f"line {node.lineno}: compares with the operation name {value.value!r}")
        if isinstance(node, ast.match_case) and isinstance(node.pattern, ast.MatchValue):
            value = node.pattern.value
            if isinstance(value, ast.Constant) and value.value in NAMES:
                found.append(f"line {node.pattern.lineno}: matches the operation name {value.value!r}")
    return found


@pytest.mark.parametrize("path", sources(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_no_module_outside_the_operations_knows_one(path):
    assert _leaks(path) == []


def test_the_scan_sees_a_leak():
    """The scanner itself: each kind of leak it must find, in a module written for the purpose."""
    leaky = ROOT / "runs" / "_leak_probe.py"
    leaky.write_text(
        "from .operations.learn import comparison\n"
        "import runs.operations.audit_scan.scoring\n"
        "from runs.operations import audit_scan\n"
        "from runs.operations import get_operation\n"
        "def f(run):\n"
        "    if run.operation == 'learn':\n"
        "        return 1\n"
        "    return run.operation in ('audit-scan', 'x')\n",
        encoding="utf-8",
    )
    try:
        assert _leaks(leaky) == [
            "line 1: imports runs.operations.learn",
            "line 1: imports runs.operations.learn.comparison",
            "line 2: imports runs.operations.audit_scan.scoring",
            "line 3: imports runs.operations.audit_scan",
            "line 6: compares with the operation name 'learn'",
            "line 8: compares with the operation name 'audit-scan'",
        ]
    finally:
        leaky.unlink()


TEMPLATE_NAME = re.compile("[\"'](" + "|".join(re.escape(n) for n in sorted(NAMES)) + ")[\"']")


def test_no_page_template_names_an_operation():
    found = []
    for path in sorted((ROOT / "templates").rglob("*.html")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if TEMPLATE_NAME.search(line):
                found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()[:100]}")
    assert found == []
