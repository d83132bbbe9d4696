"""Checking an audit file, ``audit-<N>.md`` (specs/audit-doc.md, "Verification").

record.py writes the format; this reads it back. Reading is strict because the file is an agent's
output, and hostile: whatever it holds, the only exception that leaves ``check_audit`` is
AuditFileError, whose reason names the first problem.

The file is read top to bottom, then cross-checked in the spec's order: the header (four keys, each once,
in any order), the assigned doc, the headings (``## Sections``, ``## Findings``, optional
``## Collateral``, ``## Summary``, then ``## Revised document`` when there is one, in that order), the
Sections table against the doc's own sections, every Findings and Collateral line, the verdict the rules
give, the counts, the path findings against the repository, and the revised document. Settled here:

- Only CRLF line endings and blank lines between parts are tolerated: neither changes a value.
- In a table cell, ``\\|`` stands for ``|`` (a section name may hold one); nothing else is escaped.
- The revised document runs from the line ``~~~markdown`` to the last line that is exactly ``~~~``
  (the doc itself may hold ``~~~`` lines); only blank lines may follow it.
- Its frontmatter is checked when the doc's own frontmatter parses; a doc without one (or with one that
  does not parse) may be revised without one.
"""

from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from runs.operations.audit_scan.docs import MAX_DOC_BYTES, parse_doc

from .findings import LineError, parse_collateral, parse_finding
from .printable import printable as shown
from .record import (
    COLLATERAL,
    FINDINGS,
    HEADER_KEYS,
    REVISED,
    REVISED_CLOSE,
    REVISED_OPEN,
    SECTIONS,
    SUMMARY,
    TABLE_HEADER,
    Audit,
    SectionRow,
    exists_in,
    make_audit,
)
from .sections import DocSections, doc_sections
from .verdict import BROKEN, CATEGORIES, VERDICTS, VERIFIED, counts, needs_revision, verdict

EMPTY_FILE = "empty file"
# The revised document is at most a doc's size; the rest of the file is a few lines per section and
# finding. Anything bigger is not an audit, and is refused before it is read.
MAX_AUDIT_CHARS = 4 * MAX_DOC_BYTES
# What a revised document must keep from the doc's frontmatter when the doc had them.
KEPT_KEYS = ("title", "read_when", "tripwires")
_MAX_DIGITS = 9  # a bigger count cannot match a file of at most MAX_AUDIT_CHARS


class AuditFileError(ValueError):
    """An audit file that fails verification; ``reason`` names the first problem, for the user."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def _split_row(line: str) -> list[str] | None:
    """The cells of ``| a | b | c |``, with ``\\|`` read as ``|``; None when it is not a table row."""
    if not (line.startswith("|") and line.endswith("|") and not line.endswith("\\|")) or len(line) < 2:
        return None
    cells, current, index = [], [], 1
    while index < len(line):
        char = line[index]
        if char == "\\" and line.startswith("|", index + 1):
            current.append("|")
            index += 2
            continue
        if char == "|":
            cells.append("".join(current).strip())
            current = []
        else:
            current.append(char)
        index += 1
    return cells


def _is_separator(cells: list[str]) -> bool:
    return all(cell.strip(":") and set(cell.strip(":")) == {"-"} and len(cell) >= 3 for cell in cells)


class _Reader:
    """The file's lines and the line numbers reasons name."""

    def __init__(self, text: str):
        self.lines = [line.removesuffix("\r") for line in text.split("\n")]

    def fail(self, index: int, what: str) -> AuditFileError:
        return AuditFileError(f"line {index + 1}: {what}")


def _header(reader: _Reader, end: int) -> dict[str, Any]:
    values: dict[str, str] = {}
    for index in range(end):
        line = reader.lines[index]
        if not line.strip():
            continue
        key, sep, value = line.partition(": ")
        if not sep or key not in HEADER_KEYS:
            raise reader.fail(index, f'the header holds only "key: value" lines for {", ".join(HEADER_KEYS)}')
        if key in values:
            raise reader.fail(index, f"header key {key} given twice")
        values[key] = value.strip()
    for key in HEADER_KEYS:
        if key not in values:
            raise AuditFileError(f"header: missing key {key}")
    if values["verdict"] not in VERDICTS:
        raise AuditFileError(
            f"header: verdict {shown(values['verdict'])} is not one of {', '.join(VERDICTS)}"
        )
    for key in ("verified", "broken"):
        value = values[key]
        if not (value.isascii() and value.isdigit() and len(value) <= _MAX_DIGITS):
            raise AuditFileError(f"header: {key} is not a whole number: {shown(value)}")
    return values


def _headings(reader: _Reader) -> list[tuple[str, int]]:
    """The file's ``## `` headings (name, line index), up to and including ``## Revised document``."""
    found = []
    for index, line in enumerate(reader.lines):
        if line.startswith("## "):
            found.append((line[3:].strip(), index))
            if found[-1][0] == REVISED:
                break
    expected = [SECTIONS, FINDINGS, COLLATERAL, SUMMARY, REVISED]
    optional = {COLLATERAL, REVISED}
    position = 0
    for name, index in found:
        while position < len(expected) and expected[position] != name and expected[position] in optional:
            position += 1
        if position == len(expected) or expected[position] != name:
            if position == len(expected):
                raise reader.fail(index, f"found the heading ## {shown(name)} after the Summary")
            raise reader.fail(index, f"found the heading ## {shown(name)}, expected ## {expected[position]}")
        position += 1
    for name in expected:
        if name not in optional and name not in {found_name for found_name, _ in found}:
            raise AuditFileError(f"missing the heading ## {name}")
    return found


def _content(reader: _Reader, start: int, end: int) -> list[tuple[int, str]]:
    return [(index, reader.lines[index]) for index in range(start + 1, end) if reader.lines[index].strip()]


def _table(reader: _Reader, rows: list[tuple[int, str]]) -> list[tuple[int, SectionRow]]:
    if len(rows) < 2:
        raise AuditFileError("Sections: the table needs its header row and its --- row")
    (first, header), (second, separator) = rows[0], rows[1]
    cells = _split_row(header.strip())
    if cells is None or tuple(cell.lower() for cell in cells) != TABLE_HEADER:
        raise reader.fail(first, "the Sections table starts with | section | category | note |")
    cells = _split_row(separator.strip())
    if cells is None or len(cells) != 3 or not _is_separator(cells):
        raise reader.fail(second, "the Sections table's second row is | --- | --- | --- |")
    parsed = []
    for index, line in rows[2:]:
        cells = _split_row(line.strip())
        if cells is None or len(cells) != 3:
            raise reader.fail(index, "a Sections row is | section | category | note | (write | as \\|)")
        name, category, note = cells
        if category not in CATEGORIES:
            raise reader.fail(index, f"{shown(category)} is not a category ({', '.join(CATEGORIES)})")
        parsed.append((index, SectionRow(name=name, category=category, note=note)))
    return parsed


def _covered(reader: _Reader, rows: list[tuple[int, SectionRow]], sections: DocSections) -> list[SectionRow]:
    """The rows with their sizes, when they list every section of the doc exactly once, in order."""
    expected = [section.name for section in sections.sections]
    got = [row.name for _index, row in rows]
    if got != expected:
        want, have, seen = Counter(expected), Counter(got), Counter[str]()
        for index, row in rows:
            seen[row.name] += 1
            if row.name not in want:
                raise reader.fail(index, f"Sections: {shown(row.name)} is not a section of the doc")
            if seen[row.name] > want[row.name]:
                raise reader.fail(
                    index, f"Sections: {shown(row.name)} is listed more often than the doc has it"
                )
        for name in expected:
            if have[name] < want[name]:
                raise AuditFileError(f"Sections: missing {shown(name)}")
        for (index, row), name in zip(rows, expected, strict=True):
            if row.name != name:
                raise reader.fail(
                    index, f"Sections: {shown(row.name)} is out of order (expected {shown(name)})"
                )
    return [
        SectionRow(row.name, row.category, row.note, section.size)
        for (_index, row), section in zip(rows, sections.sections, strict=True)
    ]


def _lines_of[T](
    reader: _Reader, content: Iterable[tuple[int, str]], parse: Callable[[str], T], what: str
) -> list[T]:
    parsed: list[T] = []
    for index, line in content:
        try:
            parsed.append(parse(line.rstrip()))
        except LineError as exc:
            raise reader.fail(index, f"{what} line {exc}") from None
    return parsed


def _revised(reader: _Reader, start: int) -> str:
    lines = reader.lines
    opening = next((i for i in range(start + 1, len(lines)) if lines[i].strip()), None)
    if opening is None or lines[opening].rstrip() != REVISED_OPEN:
        raise reader.fail(
            opening if opening is not None else start, f"the revised document opens with {REVISED_OPEN}"
        )
    closing = next((i for i in range(len(lines) - 1, opening, -1) if lines[i].strip()), None)
    if closing is None or lines[closing].rstrip() != REVISED_CLOSE:
        raise AuditFileError(f"the revised document is not closed with a last line {REVISED_CLOSE}")
    body = lines[opening + 1 : closing]
    if not any(line.strip() for line in body):
        raise AuditFileError("the revised document is empty")
    text = "\n".join(body) + "\n"
    if len(text.encode("utf-8", errors="surrogatepass")) > MAX_DOC_BYTES:
        raise AuditFileError("the revised document is over 1 MiB")
    return text


def _check_revised(revised: str | None, name: str, sections: DocSections) -> None:
    if revised is None:
        if needs_revision(name):
            raise AuditFileError(f"the revised document is missing ({name} needs one)")
        return
    if not needs_revision(name):
        raise AuditFileError(f"a revised document is present, but {name} takes none")
    original = sections.doc.frontmatter
    if original is None:
        return
    new = parse_doc(revised)
    if new.frontmatter is None:
        if revised.startswith("---"):
            raise AuditFileError("the revised document's frontmatter does not parse as a YAML mapping")
        raise AuditFileError("the revised document has no frontmatter (the doc has one)")
    for key in KEPT_KEYS:
        if original.get(key) is not None and new.frontmatter.get(key) is None:
            raise AuditFileError(f"the revised document's frontmatter lost {key}")


def check_audit(text: str, *, doc: str, doc_text: str, repo_root: Path) -> Audit:
    """The parsed audit of ``doc`` (whose text the agent was given), or AuditFileError."""
    if not isinstance(text, str) or not text.strip():
        raise AuditFileError(EMPTY_FILE)
    if len(text) > MAX_AUDIT_CHARS:
        raise AuditFileError(
            f"file too large ({len(text):,} characters; an audit is at most {MAX_AUDIT_CHARS:,})"
        )
    try:
        return _check(_Reader(text), doc=doc, doc_text=doc_text, repo_root=repo_root)
    except AuditFileError:
        raise
    except RecursionError:  # the revised document's frontmatter, nested beyond what YAML can read
        raise AuditFileError("the revised document's frontmatter is nested too deeply to read") from None


def _check(reader: _Reader, *, doc: str, doc_text: str, repo_root: Path) -> Audit:
    sections = doc_sections(doc_text)
    first_heading = next(
        (i for i, line in enumerate(reader.lines) if line.startswith("## ")), len(reader.lines)
    )
    header = _header(reader, first_heading)
    if header["doc"] != doc:
        raise AuditFileError(f"doc is {shown(header['doc'])}, not the assigned {shown(doc)}")
    headings = _headings(reader)
    ends = {
        name: (index, headings[n + 1][1] if n + 1 < len(headings) else len(reader.lines))
        for n, (name, index) in enumerate(headings)
    }
    rows = _covered(reader, _table(reader, _content(reader, *ends[SECTIONS])), sections)
    findings = _lines_of(reader, _content(reader, *ends[FINDINGS]), parse_finding, "a Findings")
    collateral = []
    if COLLATERAL in ends:
        collateral = _lines_of(reader, _content(reader, *ends[COLLATERAL]), parse_collateral, "a Collateral")
    summary = "\n".join(line.rstrip() for _index, line in _content(reader, *ends[SUMMARY]))
    if not summary:
        raise AuditFileError("the Summary is empty")
    revised = _revised(reader, ends[REVISED][0]) if REVISED in ends else None

    statuses = [finding.status for finding in findings]
    rules = verdict([(row.category, row.size) for row in rows], statuses)
    if header["verdict"] != rules:
        raise AuditFileError(
            f"verdict is {header['verdict']}, but the rules give {rules} for this table and findings"
        )
    verified, broken = counts(statuses)
    for key, value in (("verified", verified), ("broken", broken)):
        if int(header[key]) != value:
            raise AuditFileError(f"{key} is {header[key]}, but the Findings have {value}")
    exists = exists_in(repo_root)
    for finding in findings:
        if finding.kind == "path" and finding.status == BROKEN and exists(finding.subject):
            raise AuditFileError(f"BROKEN path {shown(finding.subject)} exists in the repo root")
        if finding.kind == "path" and finding.status == VERIFIED and not exists(finding.subject):
            raise AuditFileError(f"VERIFIED path {shown(finding.subject)} does not exist in the repo root")
    _check_revised(revised, rules, sections)
    return make_audit(doc, rows, findings, collateral=collateral, summary=summary, revised=revised)


def revised_document(text: str) -> str | None:
    """The revised document of an audit file that verification accepted (``Batch.output``), or None
    when it holds none: what applying writes."""
    reader = _Reader(text)
    start = dict(_headings(reader)).get(REVISED)
    return None if start is None else _revised(reader, start)
