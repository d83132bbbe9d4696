"""The batch file: one block of 13 ``key: value`` lines per doc (specs/audit-scan.md, Phase 3 and 4).

Writing and reading live together so that what ``local`` writes is, by construction, what verification
accepts. Reading is strict because the file is an LLM's output: a batch passes only when every value is
the right kind and the blocks cover exactly the assigned docs. The few tolerances are the ones that do
not change a single value: CRLF line endings, blank (or whitespace-only) lines before, after and between
blocks, and keys in any order within a block.
"""

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from .signals import BOOL_KEYS, INT_KEYS, SIGNAL_KEYS

MISSING_FILE = "missing file"  # checked by the caller, which knows whether the file exists
EMPTY_FILE = "empty file"

_KEY_VALUE = re.compile(r"([A-Za-z0-9_]+): (.*)")
# ASCII digits only (no sign, no Unicode digits), and at most 18 of them: every count a doc can have fits,
# and so does the sum of a run's, in the 64-bit integers databases store (a longer number of digits is
# agent output gone wrong, and Python's int() refuses one of over 4,300 digits).
_WHOLE_NUMBER = re.compile(r"[0-9]{1,18}")
_KNOWN_KEYS = frozenset(SIGNAL_KEYS)


class BatchFileError(ValueError):
    """A batch file that fails verification; ``reason`` names the first problem, for the user."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def _render(key: str, value: object) -> str:
    if key in BOOL_KEYS:
        if not isinstance(value, bool):
            raise ValueError(f"{key} must be a bool, not {value!r}")
        return "true" if value else "false"
    if key in INT_KEYS:
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"{key} must be a whole number, not {value!r}")
        return str(value)
    # A value that could not be read back would fail the batch later, far from its cause.
    if not isinstance(value, str) or value.splitlines() != [value]:
        raise ValueError(f"{key} must be a non-empty one-line string, not {value!r}")
    return value


def format_block(record: dict[str, Any]) -> str:
    """The 13 ``key: value`` lines of one doc, in SIGNAL_KEYS order, without a trailing newline."""
    return "\n".join(f"{key}: {_render(key, record[key])}" for key in SIGNAL_KEYS)


def format_batch(records: Iterable[dict[str, Any]]) -> str:
    return "\n\n".join(format_block(record) for record in records) + "\n"


def _blocks(text: str) -> list[list[str]]:
    blocks: list[list[str]] = []
    current: list[str] = []
    for line in text.split("\n"):
        line = line.removesuffix("\r")
        if line.strip():
            current.append(line)
        elif current:
            blocks.append(current)
            current = []
    if current:
        blocks.append(current)
    return blocks


def _parse_value(where: str, key: str, value: str) -> int | bool | str:
    if key in INT_KEYS:
        if not _WHOLE_NUMBER.fullmatch(value):
            raise BatchFileError(f"{where}: {key} is not a whole number")
        return int(value)
    if key in BOOL_KEYS:
        if value not in ("true", "false"):
            raise BatchFileError(f"{where}: {key} is not true or false")
        return value == "true"
    if not value:
        # Not only `path`: frontmatter values are written as `none` or `""`, never as nothing.
        raise BatchFileError(f"{where}: {key} is empty")
    return value


def _parse_block(number: int, lines: list[str]) -> dict[str, Any]:
    where = f"block {number}"
    record: dict[str, Any] = {}
    for line_number, line in enumerate(lines, start=1):
        match = _KEY_VALUE.fullmatch(line)
        if not match:
            raise BatchFileError(f'{where}: line {line_number} is not "key: value"')
        key, value = match.groups()
        if key not in _KNOWN_KEYS:
            raise BatchFileError(f"{where}: unknown key {key}")
        if key in record:
            raise BatchFileError(f"{where}: duplicate key {key}")
        record[key] = _parse_value(where, key, value)
    for key in SIGNAL_KEYS:
        if key not in record:
            raise BatchFileError(f"{where}: missing key {key}")
    return {key: record[key] for key in SIGNAL_KEYS}


def parse_batch(text: str, expected: Sequence[str]) -> list[dict[str, Any]]:
    """The typed records of a batch file that covers exactly ``expected``; else BatchFileError.

    Line numbers in reasons count from the first line of their block. Coverage is checked only once
    every block parses, in this order: duplicates, then docs outside the batch, then missing docs.
    """
    if not text.strip():
        raise BatchFileError(EMPTY_FILE)
    records = [_parse_block(number, lines) for number, lines in enumerate(_blocks(text), start=1)]
    counts = Counter(record["path"] for record in records)
    wanted = set(expected)
    problems = (
        ("duplicate", sorted(path for path, n in counts.items() if n > 1)),
        ("unexpected", sorted(path for path in counts if path not in wanted)),
        ("missing", sorted(path for path in wanted if path not in counts)),
    )
    for label, paths in problems:
        if paths:
            raise BatchFileError(f"{label}: {', '.join(paths)}")
    return records
