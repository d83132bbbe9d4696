"""learn's agent files: verification, drift repair, and the parsers the report and comparisons use.

specs/learn.md, "What each file must hold (verification)". Every markdown file must be non-empty and hold
its kind's level-2 headings (``HEADINGS``), in any order, each followed by some text; the gap analysis's
Enumerated Items section holds a table with ``GAP_COLUMNS``; the learn plan starts with its title line;
``tripwire-candidates.json`` is ``{"candidates": [...]}`` of exact ``action``/``warning``/``target_doc_path``
objects. ``check_file`` raises ``OutputRejected`` naming the first problem.

Reading rules and the decisions the spec leaves open:

- Lines end in LF or CRLF. Lines inside fenced code blocks (```` ``` ```` or ``~~~``, closed by a fence of
  the same character at least as long; an unclosed fence runs to the end) are never headings or tables.
- A level-2 heading is ``## Name`` at column 0; its name drops a closing run of ``#`` and surrounding
  blanks. Names are compared case-sensitively: ``## Errors resolved`` does not count as ``Errors
  Resolved`` (the prompt gives the exact names, and only the spec's listed drift is repaired).
- A heading's text is every line up to the next level-1 or level-2 heading; it needs one non-blank line
  (``None found.``, a ``###`` sub-heading or a code block all count).
- Headings other than the required ones are allowed, and may repeat; a required heading that appears twice
  is an error (``duplicate heading: Summary``), since the report could not tell which one to show.
- Order of checks: empty file; the learn plan's first line; duplicate heading (in file order); missing
  heading (in the spec's order); heading with no text (in file order); then the gap table.
- The learn plan's "first line" is its first non-blank line, compared after stripping, with the title
  exactly as given (after stripping its ends).
- The gap table is the first table in Enumerated Items: a row with pipes followed by a separator row
  (cells of ``-`` with optional ``:``). Leading/trailing pipes are optional, cells are stripped, ``\\|``
  is a pipe inside a cell. The table ends at the first blank line or line without a pipe. A header-only
  table (no items) is valid. Every row needs exactly the five cells and a non-empty Item. Column names,
  classifications and priorities are exact (upper case), but a cell wrapped in backticks or ``**``/``*``
  emphasis counts as its bare value, which is what ``parse_gap_items`` returns: the markup changes no
  value.
- ``tripwire-candidates.json``: extra top-level keys are allowed (the spec asks for "the key
  candidates"); a candidate has exactly the three fields. A field that is empty or only white space is
  empty. ``target_doc_path`` must be relative: not starting with ``/``, ``\\``, ``~`` or a drive letter, and
  with no ``..`` part.
- Drift repaired before checking, each repair noted as one warning, in this order: a whole document
  wrapped in one code fence (```` ```json ````) is unwrapped; ``tripwire_candidates`` becomes
  ``candidates`` (only when ``candidates`` is absent); in each candidate without ``action``, the first
  present of ``title``, ``name``, ``trigger_pattern`` becomes ``action`` and the others of the three are
  dropped; ``description`` becomes ``warning`` when ``warning`` is absent. When a drifted key sits beside
  its canonical one nothing is renamed, and the candidate fails as having an unexpected field. Renamed
  keys keep their place. After any repair ``Checked.text`` is the canonical JSON to write back.
"""

import json
import re
from dataclasses import dataclass

from ..base import OutputRejected
from .agents import (
    CLASSIFICATIONS,
    COMMENTS,
    DIFF,
    DOCS,
    GAP_COLUMNS,
    GAPS,
    HEADINGS,
    PLAN,
    PRIORITIES,
    SESSION,
    TRIPWIRES,
)

EMPTY_FILE = "empty file"
MARKDOWN_KINDS = (SESSION, DIFF, DOCS, COMMENTS, GAPS, PLAN)
CANDIDATE_FIELDS = ("action", "warning", "target_doc_path")
ACTION_DRIFT = ("title", "name", "trigger_pattern")  # taken in this order when `action` is absent
PLAN_TITLE_PREFIX = "# Documentation Plan: "
ITEMS_HEADING = "Enumerated Items"
PLAN_ITEMS_HEADING = "Documentation Items"

_FENCE_OPEN = re.compile(r" {0,3}(`{3,}(?=[^`]*$)|~{3,})")
_FENCE_CLOSE = re.compile(r" {0,3}(`{3,}|~{3,})[ \t]*$")
_HEADING = re.compile(r"(#{1,2})(?!#)(?:[ \t]+(.*))?$")  # level 1 or 2, at column 0
_CLOSING_HASHES = re.compile(r"(?:^|[ \t]+)#+[ \t]*$")
_SUB_HEADING = re.compile(r" {0,3}(#{3,6})(?:[ \t]+(.*))?$")
_SEPARATOR_CELL = re.compile(r":?-+:?")
_CELL_SPLIT = re.compile(r"(?<!\\)\|")
_LIST_ITEM = re.compile(r"([ \t]*)(?:[-*+]|[0-9]{1,9}[.)])[ \t]+(\S.*)")
_NUMBERING = re.compile(r"[0-9]{1,9}[.)][ \t]+")
_PRIORITY_PHRASE = re.compile(
    r"\bpriority\b\W{0,4}(high|medium|low)\b|\b(high|medium|low)\W{0,4}priority\b", re.IGNORECASE
)
_PRIORITY_WORD = re.compile(r"(?<![\w-])(HIGH|MEDIUM|LOW|High|Medium|Low)(?![\w-])")
_DRIVE = re.compile(r"[A-Za-z]:")


@dataclass(frozen=True)
class Checked:
    text: str | None  # the repaired file text to write back, or None when unchanged
    warnings: tuple[str, ...]  # protocol warnings, one per drift repair


@dataclass(frozen=True)
class GapItem:
    number: str
    item: str
    classification: str
    priority: str
    source: str


@dataclass(frozen=True)
class Candidate:
    action: str
    warning: str
    target_doc_path: str


@dataclass(frozen=True)
class PlanItem:
    text: str
    priority: str | None


# --- markdown structure ---------------------------------------------------------------------------


def _lines(text: str) -> list[str]:
    return [line.removesuffix("\r") for line in text.split("\n")]


def _fenced(lines: list[str]) -> list[bool]:
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
        match = _FENCE_CLOSE.match(line)
        if match and match[1][0] == fence[0] and len(match[1]) >= fence[1]:
            fence = None
    return flags


@dataclass
class _Section:
    name: str
    body: list[str]
    fenced: list[bool]


def _heading(line: str) -> tuple[int, str] | None:
    match = _HEADING.match(line)
    if not match:
        return None
    name = _CLOSING_HASHES.sub("", match[2] or "").strip()
    return len(match[1]), name


def _sections(text: str) -> list[_Section]:
    """The level-2 sections in file order; each body runs to the next level-1 or level-2 heading."""
    lines = _lines(text)
    sections: list[_Section] = []
    current: _Section | None = None
    for line, fenced in zip(lines, _fenced(lines), strict=True):
        found = None if fenced else _heading(line)
        if found:
            level, name = found
            current = _Section(name, [], []) if level == 2 else None
            if current:
                sections.append(current)
        elif current:
            current.body.append(line)
            current.fenced.append(fenced)
    return sections


def _find(sections: list[_Section], heading: str) -> _Section | None:
    return next((s for s in sections if s.name == heading), None)


def section(text: str, heading: str) -> str | None:
    """The body of the first level-2 section named ``heading``, without surrounding blank lines."""
    found = _find(_sections(text), heading)
    if found is None:
        return None
    body = list(found.body)
    while body and not body[0].strip():
        body.pop(0)
    while body and not body[-1].strip():
        body.pop()
    return "\n".join(body)


# --- tables ---------------------------------------------------------------------------------------


def _cells(line: str) -> list[str]:
    row = line.strip()
    if row.startswith("|"):
        row = row[1:]
    if row.endswith("|") and not row.endswith("\\|"):
        row = row[:-1]
    return [cell.strip().replace("\\|", "|") for cell in _CELL_SPLIT.split(row)]


def _is_separator(line: str) -> bool:
    return "|" in line and all(_SEPARATOR_CELL.fullmatch(cell) for cell in _cells(line))


def _bare(cell: str) -> str:
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
class _Table:
    start: int  # index of the header row within the lines searched
    end: int  # index after the last row
    header: list[str]
    rows: list[list[str]]


def _tables(lines: list[str], fenced: list[bool]) -> list[_Table]:
    tables: list[_Table] = []
    i = 0
    while i + 1 < len(lines):
        if fenced[i] or fenced[i + 1] or "|" not in lines[i] or not _is_separator(lines[i + 1]):
            i += 1
            continue
        end = i + 2
        while end < len(lines) and not fenced[end] and lines[end].strip() and "|" in lines[end]:
            end += 1
        tables.append(_Table(i, end, _cells(lines[i]), [_cells(line) for line in lines[i + 2 : end]]))
        i = end
    return tables


def _gap_table(found: _Section) -> _Table | None:
    tables = _tables(found.body, found.fenced)
    return tables[0] if tables else None


# --- checking markdown ----------------------------------------------------------------------------


def _check_gap_table(sections: list[_Section]) -> None:
    table = _gap_table(_find(sections, ITEMS_HEADING))
    if table is None:
        raise OutputRejected(f"{ITEMS_HEADING} has no table")
    columns = [_bare(cell) for cell in table.header]
    if tuple(columns) != GAP_COLUMNS:
        raise OutputRejected(f"table columns are {', '.join(columns)} not {', '.join(GAP_COLUMNS)}")
    for number, cells in enumerate(table.rows, start=1):
        where = f"row {number}"
        if len(cells) != len(GAP_COLUMNS):
            raise OutputRejected(f"{where}: {len(cells)} cells, not {len(GAP_COLUMNS)}")
        _, item, classification, priority, _ = cells
        classification, priority = _bare(classification), _bare(priority)
        if not item:
            raise OutputRejected(f"{where}: item is empty")
        for field, value, allowed in (
            ("classification", classification, CLASSIFICATIONS),
            ("priority", priority, PRIORITIES),
        ):
            if not value:
                raise OutputRejected(f"{where}: {field} is empty")
            if value not in allowed:
                raise OutputRejected(f"{where}: {field} {value} is not one of {', '.join(allowed)}")


def _check_markdown(kind: str, text: str, title: str) -> None:
    if kind == PLAN:
        expected = f"{PLAN_TITLE_PREFIX}{title.strip()}"
        first = next(line.strip() for line in _lines(text) if line.strip())
        if first != expected:
            raise OutputRejected(f'first line must be "{expected}"')
    required = HEADINGS[kind]
    sections = [s for s in _sections(text) if s.name in required]
    seen: set[str] = set()
    for found in sections:
        if found.name in seen:
            raise OutputRejected(f"duplicate heading: {found.name}")
        seen.add(found.name)
    for heading in required:
        if heading not in seen:
            raise OutputRejected(f"missing heading: {heading}")
    for found in sections:
        if not any(line.strip() for line in found.body):
            raise OutputRejected(f"heading {found.name} has no text")
    if kind == GAPS:
        _check_gap_table(sections)


# --- tripwire-candidates.json ---------------------------------------------------------------------


def _unfence(text: str) -> str | None:
    """The inside of a document that is one fenced code block, else None."""
    lines = _lines(text.strip())
    if len(lines) < 2:
        return None
    opening = re.fullmatch(r"(`{3,}|~{3,})[ \t]*(?:json)?[ \t]*", lines[0].strip(), re.IGNORECASE)
    closing = _FENCE_CLOSE.match(lines[-1])
    if not opening or not closing or opening[1][0] != closing[1][0] or len(closing[1]) < len(opening[1]):
        return None
    if any(_fenced(lines[1:-1])):  # a fence inside: not one simple block
        return None
    return "\n".join(lines[1:-1])


def _repair_candidate(number: int, candidate: dict, warnings: list[str]) -> dict:
    renames: dict[str, str] = {}
    dropped: list[str] = []
    if "action" not in candidate:
        present = [key for key in ACTION_DRIFT if key in candidate]
        if present:
            renames[present[0]] = "action"
            dropped = present[1:]
    if "warning" not in candidate and "description" in candidate:
        renames["description"] = "warning"
    for old, new in renames.items():
        warnings.append(f"repaired drift: candidate {number} {old} → {new}")
        if new == "action":
            warnings.extend(f"repaired drift: candidate {number} {key} dropped" for key in dropped)
    if not renames:
        return candidate
    return {renames.get(key, key): value for key, value in candidate.items() if key not in dropped}


def _repair(text: str) -> tuple[object, list[str]]:
    """The parsed JSON with the spec's drift repaired, and one warning per repair."""
    warnings: list[str] = []
    inner = _unfence(text)
    if inner is not None:
        warnings.append("repaired drift: code fence around the JSON")
        text = inner
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise OutputRejected(f"not JSON: {exc}") from None
    if not isinstance(data, dict):
        return data, warnings
    if "candidates" not in data and "tripwire_candidates" in data:
        warnings.append("repaired drift: tripwire_candidates → candidates")
        data = {("candidates" if key == "tripwire_candidates" else key): v for key, v in data.items()}
    if isinstance(data.get("candidates"), list):
        data["candidates"] = [
            _repair_candidate(number, candidate, warnings) if isinstance(candidate, dict) else candidate
            for number, candidate in enumerate(data["candidates"], start=1)
        ]
    return data, warnings


def _is_relative(path: str) -> bool:
    if path.startswith(("/", "\\", "~")) or _DRIVE.match(path):
        return False
    return ".." not in re.split(r"[/\\]", path)


def _check_candidates(data: object) -> None:
    if not isinstance(data, dict):
        raise OutputRejected("not a JSON object")
    if "candidates" not in data:
        raise OutputRejected("missing key: candidates")
    if not isinstance(data["candidates"], list):
        raise OutputRejected("candidates is not a list")
    for number, candidate in enumerate(data["candidates"], start=1):
        where = f"candidate {number}"
        if not isinstance(candidate, dict):
            raise OutputRejected(f"{where}: not a JSON object")
        for field in CANDIDATE_FIELDS:
            if field not in candidate:
                raise OutputRejected(f"{where}: missing field {field}")
        for key in candidate:
            if key not in CANDIDATE_FIELDS:
                raise OutputRejected(f"{where}: unexpected field {key}")
        for field in CANDIDATE_FIELDS:
            if not isinstance(candidate[field], str):
                raise OutputRejected(f"{where}: {field} is not a string")
            if not candidate[field].strip():
                raise OutputRejected(f"{where}: {field} is empty")
        if not _is_relative(candidate["target_doc_path"]):
            raise OutputRejected(f"{where}: target_doc_path must be relative to the docs root")


def canonical_json(data: object) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


# --- the entry point ------------------------------------------------------------------------------


def check_file(kind: str, text: str, *, title: str) -> Checked:
    """Verify one agent file of ``kind``; raise OutputRejected naming the first problem.

    ``Checked.text`` is the repaired text to write back (tripwire candidates only), else None.
    """
    if kind not in MARKDOWN_KINDS and kind != TRIPWIRES:
        raise ValueError(f"unknown learn agent kind: {kind}")
    if not text.strip():
        raise OutputRejected(EMPTY_FILE)
    if kind != TRIPWIRES:
        _check_markdown(kind, text, title)
        return Checked(text=None, warnings=())
    data, warnings = _repair(text)
    _check_candidates(data)
    return Checked(text=canonical_json(data) if warnings else None, warnings=tuple(warnings))


# --- parsers for the report and comparisons (input: verified text) -------------------------------


def parse_gap_items(text: str) -> list[GapItem]:
    """The rows of the gap analysis's Enumerated Items table, with bare classification and priority."""
    found = _find(_sections(text), ITEMS_HEADING)
    table = _gap_table(found) if found else None
    if table is None:
        return []
    items = []
    for cells in table.rows:
        number, item, classification, priority, source = (cells + [""] * len(GAP_COLUMNS))[:5]
        items.append(GapItem(number, item, _bare(classification), _bare(priority), source))
    return items


def parse_candidates(text: str) -> list[Candidate]:
    """The tripwire candidates of a verified file; drift is repaired the same way, so either text works."""
    data, _ = _repair(text)
    return [Candidate(**{field: c[field] for field in CANDIDATE_FIELDS}) for c in data["candidates"]]


def normalize_action(action: str) -> str:
    """The spec's matching rule for candidates: lower-cased, white space collapsed and stripped."""
    return " ".join(action.split()).lower()


def _priority_in(text: str) -> str | None:
    for pattern in (_PRIORITY_PHRASE, _PRIORITY_WORD):
        match = pattern.search(text)
        if match:
            return next(group for group in match.groups() if group).upper()
    return None


def _group_priority(heading: str) -> str | None:
    """HIGH for sub-headings such as "HIGH Priority", "High priority items (3)" or "Priority: HIGH"."""
    words = re.findall(r"[A-Za-z]+", re.sub(r"\(.*?\)", " ", heading))
    words = [w for w in words if w.lower() not in ("priority", "priorities", "item", "items")]
    if len(words) == 1 and words[0].upper() in PRIORITIES:
        return words[0].upper()
    return None


@dataclass
class _Draft:
    text: str
    body: list[str]
    group: str | None
    priority: str | None = None  # from a table's Priority column

    def finish(self) -> PlanItem:
        priority = self.priority or _priority_in(self.text) or _priority_in("\n".join(self.body))
        return PlanItem(self.text, priority or self.group)


def parse_plan_items(text: str) -> list[PlanItem]:
    """The documentation items of a learn plan, in order, each with its priority if one is found.

    Items are the sub-headings of "## Documentation Items" when it has any that are not priority groups
    (erk's "### HIGH Priority" / "#### 1. <title>" layout; the shallowest such level), else its
    outermost list items (bullets or numbered) and table rows. An item's priority is, first found: its
    table row's Priority cell; a "priority: high"/"HIGH priority" phrase or a HIGH/High-style word in
    its own line; the same in the lines under it; the priority group heading it sits under.
    """
    found = _find(_sections(text), PLAN_ITEMS_HEADING)
    if found is None:
        return []
    lines = [line for line, fenced in zip(found.body, found.fenced, strict=True) if not fenced]
    headings = [(i, _SUB_HEADING.match(line)) for i, line in enumerate(lines)]
    headings = [(i, len(m[1]), (m[2] or "").strip(" \t#")) for i, m in headings if m]
    item_levels = [level for _, level, name in headings if not _group_priority(name)]
    if item_levels:
        return _heading_items(lines, headings, min(item_levels))
    return _list_items(lines, headings)


def _heading_items(lines: list[str], headings: list, item_level: int) -> list[PlanItem]:
    by_line = {i: (level, name) for i, level, name in headings}
    items: list[PlanItem] = []
    group: str | None = None
    draft: _Draft | None = None
    for i, line in enumerate(lines):
        level, name = by_line.get(i, (None, ""))
        if level is not None and level <= item_level:
            if draft:
                items.append(draft.finish())
                draft = None
            priority = _group_priority(name)
            if priority:
                group = priority
            elif level == item_level:
                draft = _Draft(_NUMBERING.sub("", name, count=1), [], group)
        elif draft:
            draft.body.append(line)
    if draft:
        items.append(draft.finish())
    return items


def _list_items(lines: list[str], headings: list) -> list[PlanItem]:
    fenced = [False] * len(lines)
    table_at = {table.start: table for table in _tables(lines, fenced)}
    groups = {i: _group_priority(name) for i, _, name in headings}
    matches = [_LIST_ITEM.fullmatch(line) for line in lines]
    indents = [len(m[1].expandtabs(4)) for m in matches if m]
    top = min(indents) if indents else 0
    items: list[PlanItem] = []
    group: str | None = None
    draft: _Draft | None = None
    i = 0
    while i < len(lines):
        line, match = lines[i], matches[i]
        if i in table_at:
            if draft:
                items.append(draft.finish())
                draft = None
            table = table_at[i]
            header = [_bare(cell).lower() for cell in table.header]
            column = header.index("priority") if "priority" in header else None
            for cells in table.rows:
                priority = None
                if column is not None and column < len(cells):
                    priority = _bare(cells[column]).upper()
                    priority = priority if priority in PRIORITIES else None
                row = " | ".join(cell for cell in cells if cell)
                items.append(_Draft(row, [], group, priority).finish())
            i = table.end
            continue
        if i in groups:
            if draft:
                items.append(draft.finish())
                draft = None
            group = groups[i]
        elif match and len(match[1].expandtabs(4)) == top:
            if draft:
                items.append(draft.finish())
            draft = _Draft(match[2].strip(), [], group)
        elif draft and (not line.strip() or line[:1] in (" ", "\t") or match):
            draft.body.append(line)
        elif draft:
            items.append(draft.finish())
            draft = None
        i += 1
    if draft:
        items.append(draft.finish())
    return items
