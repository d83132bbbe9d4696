"""The ``search_code`` tool: a literal string, or a ``def NAME`` / ``class NAME`` query, over the repo
root's files (specs/audit-doc.md, "Tools").

Agent input is hostile and the repository may be large, so the search is bounded and confined:

- Only regular files that are not symlinks are read (a symlink is never followed, in or out of the
  root; whatever it points to inside the root is searched under its own name). Folders named in
  SKIPPED_FOLDERS (version control, caches, virtual environments, node_modules) are not entered.
- A file over MAX_FILE_BYTES, or with a NUL byte in its first 8 KiB (a binary), is skipped; text that
  is not UTF-8 is read with replacement characters. At most MAX_FILES files are searched.
- A name that could not be shown on one line of the result (a line break, text that is not UTF-8) is
  skipped, so every result line reads back as ``path:line: text``.
- Files are searched in the order of their relative paths as plain strings, lines in order, so the same
  tree always gives the same answer. At most MAX_MATCHES matches are returned; each line is shown with
  its surrounding whitespace removed and cut to SHOWN_LINE characters.

A literal query matches a line that holds it (case-sensitive, as code is). ``def NAME`` matches a
line that defines the function or method NAME (``def NAME`` or ``async def NAME``, followed by ``(``,
``[`` or whitespace), ``class NAME`` a class definition; NAME must be a Python identifier, else the
query is a literal string.
"""

import os
import re
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from runs.paths import is_utf8, shown
from runs.tools import ToolError

MAX_MATCHES = 50
MAX_FILE_BYTES = 1024 * 1024
MAX_FILES = 20_000
MAX_QUERY_CHARS = 500
CACHED_CHARS = 64 * 1024 * 1024
SHOWN_LINE = 200
BINARY_SNIFF = 8192
NO_MATCHES = "no matches"
SKIPPED_FOLDERS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        "__pycache__",
        "node_modules",
        ".venv",
        "venv",
        ".tox",
        ".nox",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
    }
)

_DEFINITION_QUERY = re.compile(r"(def|class)\s+([A-Za-z_][A-Za-z0-9_]*)")
_RESULT_LINE = re.compile(r"(?P<path>.+?):(?P<line>[0-9]+): (?P<text>.*)")

SEARCH_CODE_SCHEMA = {
    "name": "search_code",
    "description": (
        "Search the repository's text files. `query` is a literal string (case-sensitive), or "
        "`def NAME` / `class NAME` for where a function or class is defined. Answers up to "
        f"{MAX_MATCHES} matches, one per line as `path:line: text` (the path relative to the repo root), "
        f"or '{NO_MATCHES}'."
    ),
    "input_schema": {
        "type": "object",
        "properties": {
            "query": {"type": "string", "description": "a literal string, or def NAME / class NAME"}
        },
        "required": ["query"],
    },
}


@dataclass(frozen=True)
class Match:
    path: str  # relative to the repo root, with / separators
    line: int  # from 1
    text: str  # the line stripped, cut to SHOWN_LINE characters

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.text}"


def _matcher(query: str) -> Callable[[str], bool]:
    definition = _DEFINITION_QUERY.fullmatch(query)
    if definition:
        keyword, name = definition.groups()
        prefix = r"(?:async\s+)?def" if keyword == "def" else "class"
        pattern = re.compile(rf"^\s*{prefix}\s+{re.escape(name)}(?=[\s(\[:]|$)")
        return lambda line: pattern.search(line) is not None
    return lambda line: query in line


def _showable(name: str) -> bool:
    return is_utf8(name) and name.splitlines() == [name] and name == name.strip()


def files(repo_root: Path) -> Iterator[tuple[str, str]]:
    """(relative path, absolute path) of every file the search reads, in relative-path order."""
    root = os.path.realpath(repo_root)
    found: list[tuple[str, str]] = []
    for folder, subfolders, names in os.walk(root, followlinks=False):
        subfolders[:] = sorted(name for name in subfolders if name not in SKIPPED_FOLDERS and _showable(name))
        for name in sorted(names):
            full = os.path.join(folder, name)
            rel = os.path.relpath(full, root).replace(os.sep, "/")
            if _showable(name) and not os.path.islink(full):
                found.append((rel, full))
        if len(found) >= MAX_FILES:
            break
    found.sort()
    yield from found[:MAX_FILES]


def _lines(full: str) -> list[str] | None:
    try:
        # O_NOFOLLOW: a file swapped for a symlink since the walk is not followed either.
        fd = os.open(full, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        return None
    with os.fdopen(fd, "rb") as fh:
        try:
            info = os.fstat(fh.fileno())
            if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_FILE_BYTES:
                return None
            data = fh.read(MAX_FILE_BYTES + 1)
        except OSError:
            return None
    if len(data) > MAX_FILE_BYTES or b"\x00" in data[:BINARY_SNIFF]:
        return None
    return data.decode("utf-8", errors="replace").splitlines()


class CodeSearch:
    """search_code over one repo root. The file list and the files' lines are read once and kept (up to
    CACHED_CHARS characters), so the many queries of one audit do not read the tree again each time;
    a tree that changes meanwhile is seen as it was at the first query."""

    def __init__(self, repo_root: Path):
        self.repo_root = repo_root
        self._files: list[tuple[str, str]] | None = None
        self._lines: dict[str, list[str] | None] = {}
        self._cached = 0

    def _read(self, rel: str, full: str) -> list[str] | None:
        if rel in self._lines:
            return self._lines[rel]
        lines = _lines(full)
        size = sum(map(len, lines)) if lines else 0
        if self._cached + size <= CACHED_CHARS:
            self._lines[rel] = lines
            self._cached += size
        return lines

    def find(self, query: str, limit: int = MAX_MATCHES) -> tuple[list[Match], bool]:
        """The first ``limit`` matches of an already-checked query, and whether there were more."""
        if self._files is None:
            self._files = list(files(self.repo_root))
        matches = _matcher(query)
        found: list[Match] = []
        for rel, full in self._files:
            lines = self._read(rel, full)
            for number, line in enumerate(lines or (), start=1):
                if matches(line):
                    if len(found) == limit:
                        return found, True
                    found.append(Match(rel, number, line.strip()[:SHOWN_LINE]))
        return found, False

    def search_code(self, query: object) -> str:
        """The tool's answer: one ``path:line: text`` line per match, or ``no matches``; ToolError for a
        bad query. A search that stopped early says so on a last line."""
        query = check_query(query)
        found, more = self.find(query)
        if not found:
            return NO_MATCHES
        lines = [str(match) for match in found]
        if more:
            lines.append(f"(stopped at {MAX_MATCHES} matches)")
        return "\n".join(lines)


def check_query(query: object) -> str:
    if not isinstance(query, str) or not query.strip():
        raise ToolError("query must be a non-empty string")
    query = query.strip()
    if "\x00" in query or not is_utf8(query):
        raise ToolError(f"query must be UTF-8 text without NUL: {shown(query)}")
    if query.splitlines() != [query]:
        raise ToolError("query must be one line: the search matches one line at a time")
    if len(query) > MAX_QUERY_CHARS:
        raise ToolError(f"query is over {MAX_QUERY_CHARS} characters")
    return query


def search_code(repo_root: Path, query: object) -> str:
    """One search_code call over ``repo_root`` (see CodeSearch.search_code)."""
    return CodeSearch(repo_root).search_code(query)


def parse_results(text: str) -> list[Match]:
    """The matches in a search_code answer (what an agent, or the simulator's player, reads back)."""
    matches = []
    for line in text.split("\n"):
        parsed = _RESULT_LINE.fullmatch(line)
        if parsed:
            matches.append(Match(parsed["path"], int(parsed["line"]), parsed["text"]))
    return matches
