"""The markdown of learn's agent files as the checks and parsers read it: lines, fenced code, level-2
sections, tables and their cells.

- Lines end in LF or CRLF. Lines inside fenced code blocks (```` ``` ```` or ``~~~``, closed by a fence of
  the same character at least as long; an unclosed fence runs to the end) are never headings or tables.
- A level-2 heading is ``## Name`` at column 0; its name drops a closing run of ``#`` and surrounding
  blanks. Names are compared case-sensitively: ``## Errors resolved`` does not count as ``Errors
  Resolved`` (the prompt gives the exact names, and only the spec's listed drift is repaired).
"""

import re
from dataclasses import dataclass

_FENCE_OPEN = re.compile(r" {0,3}(`{3,}(?=[^`]*$)|~{3,})")
FENCE_CLOSE = re.compile(r" {0,3}(`{3,}|~{3,})[ \t]*$")
_HEADING = re.compile(r"(#{1,2})(?!#)(?:[ \t]+(.*))?$")  # level 1 or 2, at column 0
_CLOSING_HASHES = re.compile(r"(?:^|[ \t]+)#+[ \t]*$")
_SEPARATOR_CELL = re.compile(r":?-+:?")
# A pipe and the whole run of backslashes right before it. The look-behind and the possessive run keep
# the search linear on a long run of backslashes that ends in no pipe.
_PIPE = re.compile(r"(?<!\\)(\\*+)\|")


def split_lines(text: str) -> list[str]:
    return [line.removesuffix("\r") for line in text.split("\n")]


def fenced_lines(lines: list[str]) -> list[bool]:
    """Per line: whether it is a fence delimiter or inside a fenced code block."""
    flags: list[bool] = []
    fence: tuple[str, int] | None = None
    for line in lines:
        if fence is None:
            match = _FENCE_OPEN.match(line)
            if match:
                fence = (match[1][0], len(match[1]))
            flags.append(bool(match))
            continue
        flags.append(True)
        match = FENCE_CLOSE.match(line)
        if match and match[1][0] == fence[0] and len(match[1]) >= fence[1]:
            fence = None
    return flags


@dataclass
class Section:
    name: str
    body: list[str]
    fenced: list[bool]


def _heading(line: str) -> tuple[int, str] | None:
    match = _HEADING.match(line)
    if not match:
        return None
    name = _CLOSING_HASHES.sub("", match[2] or "").strip()
    return len(match[1]), name


def level2_sections(text: str) -> list[Section]:
    """The level-2 sections in file order; each body runs to the next level-1 or level-2 heading."""
    lines = split_lines(text)
    sections: list[Section] = []
    current: Section | None = None
    for line, fenced in zip(lines, fenced_lines(lines), strict=True):
        found = None if fenced else _heading(line)
        if found:
            level, name = found
            current = Section(name, [], []) if level == 2 else None
            if current:
                sections.append(current)
        elif current:
            current.body.append(line)
            current.fenced.append(fenced)
    return sections


def find_section(sections: list[Section], heading: str) -> Section | None:
    return next((s for s in sections if s.name == heading), None)


def section(text: str, heading: str) -> str | None:
    """The body of the first level-2 section named ``heading``, without surrounding blank lines."""
    found = find_section(level2_sections(text), heading)
    if found is None:
        return None
    body = list(found.body)
    while body and not body[0].strip():
        body.pop(0)
    while body and not body[-1].strip():
        body.pop()
    return "\n".join(body)


def row_cells(line: str) -> list[str]:
    """The cells of a table row: split at every pipe not escaped (one escaped has an odd number of
    backslashes before it); in a cell, ``2k+1`` backslashes and a pipe read as ``k`` backslashes and a
    pipe, the inverse of ``runs.markdown.table_cell``. Leading and trailing pipes are optional."""
    row = line.strip()
    if "\\" not in row:  # nothing escaped: the common case, and the fast one
        row = row.removeprefix("|")
        row = row.removesuffix("|")
        return [cell.strip() for cell in row.split("|")]
    cells: list[str] = []
    current: list[str] = []
    start = 0
    closed = False  # whether the row ends with a separating pipe
    for match in _PIPE.finditer(row):
        backslashes = len(match[1])
        current.append(row[start : match.start()] + "\\" * (backslashes // 2))
        if backslashes % 2:  # an escaped pipe
            current.append("|")
        else:
            cells.append("".join(current))
            current = []
        closed = not backslashes % 2 and match.end() == len(row)
        start = match.end()
    cells.append("".join(current) + row[start:])
    if row.startswith("|"):
        cells = cells[1:]
    if closed and cells:
        cells = cells[:-1]
    return [cell.strip() for cell in cells]


def _is_separator(line: str) -> bool:
    return "|" in line and all(_SEPARATOR_CELL.fullmatch(cell) for cell in row_cells(line))


def bare(cell: str) -> str:
    """A cell without enclosing backticks or emphasis: `` `HIGH` ``, ``**HIGH**`` and ``*HIGH*`` are HIGH."""
    for _ in range(2):
        for mark in ("`", "**", "*"):
            inner = cell[len(mark) : -len(mark)]
            enclosed = len(cell) > 2 * len(mark) and cell.startswith(mark) and cell.endswith(mark)
            if enclosed and mark[0] not in inner:
                cell = inner.strip()
                break
    return cell


@dataclass
class Table:
    start: int  # index of the header row within the lines searched
    end: int  # index after the last row
    header: list[str]
    rows: list[list[str]]


def find_tables(lines: list[str], fenced: list[bool]) -> list[Table]:
    tables: list[Table] = []
    i = 0
    while i + 1 < len(lines):
        if fenced[i] or fenced[i + 1] or "|" not in lines[i] or not _is_separator(lines[i + 1]):
            i += 1
            continue
        end = i + 2
        while end < len(lines) and not fenced[end] and lines[end].strip() and "|" in lines[end]:
            end += 1
        tables.append(Table(i, end, row_cells(lines[i]), [row_cells(line) for line in lines[i + 2 : end]]))
        i = end
    return tables


def gap_table(found: Section) -> Table | None:
    tables = find_tables(found.body, found.fenced)
    return tables[0] if tables else None
