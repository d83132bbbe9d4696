"""The imports in a doc's code blocks, and whether the repository has what they import (the ``local``
executor's import findings, specs/audit-doc.md "The local executor").

An import line is audit-scan's (``import_count``'s regex). Everything is decided from two tools' answers,
so that the simulator's player, which only sees tool results, finds what ``local`` finds:

- ``path_exists``: a module ``a.b`` is the file ``a/b.py`` or the package ``a/b/__init__.py``, at the
  repo root or under ``src/`` (the two layouts a repository's own packages live in). Failing that, a
  folder ``a/b`` is a namespace package. A module whose top-level package is not there either is not
  this repository's (the standard library, a dependency, a package kept elsewhere): CANNOT VERIFY.
- ``search_code``: a name imported from a module is there when ``def NAME``, ``class NAME`` or the
  literal NAME (as a whole word) matches a line of the module's file, or NAME is a submodule.
"""

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from runs.operations.audit_scan.signals import IMPORT_LINE

from .findings import Finding
from .search import parse_results
from .verdict import BROKEN, CANNOT_VERIFY, VERIFIED

BASES = ("", "src/")
_MODULE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_FROM = re.compile(r"from\s+(?P<module>\S+)\s+import\s+(?P<names>.*)")
_IMPORT = re.compile(r"import\s+(?P<modules>.+)")


@dataclass(frozen=True)
class Import:
    line: int  # index of the import line in the doc
    text: str  # the line, stripped: the finding's subject
    modules: tuple[str, ...]  # what it imports from; empty when the line could not be read
    names: tuple[str, ...] = ()  # `from M import a, b`: a, b (without `*`)
    relative: bool = False


def _names(part: str) -> list[str]:
    names = []
    for item in part.replace("(", " ").replace(")", " ").split(","):
        name = item.strip().split(" as ")[0].strip()
        if name:
            names.append(name)
    return names


def parse_import(lines: Sequence[str], index: int, end: int) -> Import | None:
    """The import on ``lines[index]`` (a code line; a parenthesised list may go on up to ``end``)."""
    line = lines[index]
    if not IMPORT_LINE.match(line) or "`" in line:
        return None  # a backtick cannot be in Python, and could not be a finding's subject
    text = line.strip()
    statement = text.split("#", 1)[0].split(";", 1)[0].strip()
    found = _FROM.fullmatch(statement)
    if found:
        module, part = found["module"], found["names"]
        if "(" in part and ")" not in part:
            for more in lines[index + 1 : end]:
                part += " " + more.split("#", 1)[0]
                if ")" in more:
                    break
        names = _names(part)
        if module.startswith("."):
            return Import(index, text, (module,), relative=True)
        if not _MODULE.fullmatch(module) or not all(n == "*" or _NAME.fullmatch(n) for n in names):
            return Import(index, text, ())
        return Import(index, text, (module,), tuple(n for n in names if n != "*"))
    found = _IMPORT.fullmatch(statement)
    modules = _names(found["modules"]) if found else []
    if not modules or not all(_MODULE.fullmatch(module) for module in modules):
        return Import(index, text, ())
    return Import(index, text, tuple(modules))


def _module_files(module: str) -> list[str]:
    path = module.replace(".", "/")
    return [f"{base}{path}{suffix}" for base in BASES for suffix in (".py", "/__init__.py")]


def _folders(module: str) -> list[str]:
    return [f"{base}{module.replace('.', '/')}" for base in BASES]


def _tops(module: str) -> list[str]:
    top = module.split(".")[0]
    return [f"{base}{top}{suffix}" for base in BASES for suffix in ("", ".py")]


def _submodules(module: str, name: str) -> list[str]:
    return [f"{folder}/{name}{suffix}" for folder in _folders(module) for suffix in (".py", "/__init__.py")]


def name_queries(name: str) -> list[str]:
    return [f"def {name}", f"class {name}", name]


def paths_to_check(found: Import) -> list[str]:
    paths: list[str] = []
    if found.relative:
        return paths
    for module in found.modules:
        paths += _module_files(module) + _folders(module) + _tops(module)
        for name in found.names:
            paths += _submodules(module, name)
    return paths


def queries(found: Import) -> list[str]:
    if found.relative or not found.modules:
        return []
    return [query for name in found.names for query in name_queries(name)]


def _has_name(file: str, name: str, search: Callable[[str], str]) -> bool:
    word = re.compile(rf"(?<![A-Za-z0-9_]){re.escape(name)}(?![A-Za-z0-9_])")
    for query in name_queries(name):
        for match in parse_results(search(query)):
            if match.path == file and (query != name or word.search(match.text)):
                return True
    return False


def _resolve(
    module: str, names: Sequence[str], exists: Callable[[str], bool], search: Callable[[str], str]
) -> tuple[str, str]:
    """(status, evidence) of one imported module and the names taken from it."""
    file = next((path for path in _module_files(module) if exists(path)), None)
    folder = next((path for path in _folders(module) if exists(path)), None)
    if file is None and folder is None:
        if any(exists(path) for path in _tops(module)):
            return BROKEN, f"no module {module} in this repository"
        return CANNOT_VERIFY, f"{module.split('.')[0]} is not a package of this repository"
    where = file or folder or module
    absent = [
        name
        for name in names
        if not any(exists(path) for path in _submodules(module, name))
        and not (file is not None and _has_name(file, name, search))
    ]
    if absent:
        return BROKEN, f"{where} has no {', '.join(absent)}"
    return VERIFIED, where


_RANK = {BROKEN: 0, CANNOT_VERIFY: 1, VERIFIED: 2}


def finding(found: Import, exists: Callable[[str], bool], search: Callable[[str], str]) -> Finding:
    if found.relative:
        return Finding(CANNOT_VERIFY, "import", found.text, "a relative import")
    if not found.modules:
        return Finding(CANNOT_VERIFY, "import", found.text, "not an import this heuristic can read")
    results = [_resolve(module, found.names, exists, search) for module in found.modules]
    status = min((status for status, _evidence in results), key=_RANK.__getitem__)
    evidence = "; ".join(evidence for result_status, evidence in results if result_status == status)
    return Finding(status, "import", found.text, evidence)
