"""The parsers the report and the comparisons read verified learn files with: the gap analysis's rows, the
tripwire candidates, the plan's documentation items.
"""

import re
from dataclasses import dataclass
from typing import Any

from .agents import (
    CANDIDATE_FIELDS,
    GAP_COLUMNS,
    ITEMS_HEADING,
    PLAN_ITEMS_HEADING,
    PRIORITIES,
)
from .drift import repair
from .markdown import bare, find_section, find_tables, gap_table, level2_sections

_SUB_HEADING = re.compile(r" {0,3}(#{3,6})(?:[ \t]+(.*))?$")
_LIST_ITEM = re.compile(r"([ \t]*)(?:[-*+]|[0-9]{1,9}[.)])[ \t]+(\S.*)")
_NUMBERING = re.compile(r"[0-9]{1,9}[.)][ \t]+")
_PRIORITY_PHRASE = re.compile(
    r"\bpriority\b\W{0,4}(high|medium|low)\b|\b(high|medium|low)\W{0,4}priority\b", re.IGNORECASE
)
_PRIORITY_WORD = re.compile(r"(?<![\w-])(HIGH|MEDIUM|LOW|High|Medium|Low)(?![\w-])")


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


def parse_gap_items(text: str) -> list[GapItem]:
    """The rows of the gap analysis's Enumerated Items table, with bare classification and priority."""
    found = find_section(level2_sections(text), ITEMS_HEADING)
    table = gap_table(found) if found else None
    if table is None:
        return []
    items = []
    for cells in table.rows:
        number, item, classification, priority, source = (cells + [""] * len(GAP_COLUMNS))[:5]
        items.append(GapItem(number, item, bare(classification), bare(priority), source))
    return items


def parse_candidates(text: str) -> list[Candidate]:
    """The tripwire candidates of a verified file; drift is repaired the same way, so either text works."""
    data, _ = repair(text)
    if not isinstance(data, dict) or not isinstance(data.get("candidates"), list):
        raise ValueError("not a verified tripwire-candidates file")
    return [Candidate(**{field: c[field] for field in CANDIDATE_FIELDS}) for c in data["candidates"]]


def normalize_action(action: str) -> str:
    """The spec's matching rule for candidates: lower-cased, white space collapsed and stripped."""
    return " ".join(action.split()).lower()


def _priority_in(text: str) -> str | None:
    for pattern in (_PRIORITY_PHRASE, _PRIORITY_WORD):
        match = pattern.search(text)
        if match:
            return str(next(group for group in match.groups() if group)).upper()
    return None


def _group_priority(heading: str) -> str | None:
    """HIGH for sub-headings such as "HIGH Priority", "High priority items (3)" or "Priority: HIGH"."""
    words: list[str] = re.findall(r"[A-Za-z]+", re.sub(r"\(.*?\)", " ", heading))
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
    found = find_section(level2_sections(text), PLAN_ITEMS_HEADING)
    if found is None:
        return []
    lines = [line for line, fenced in zip(found.body, found.fenced, strict=True) if not fenced]
    matches = [(i, _SUB_HEADING.match(line)) for i, line in enumerate(lines)]
    headings = [(i, len(m[1]), (m[2] or "").strip(" \t#")) for i, m in matches if m]
    item_levels = [level for _, level, name in headings if not _group_priority(name)]
    if item_levels:
        return _heading_items(lines, headings, min(item_levels))
    return _list_items(lines, headings)


def _heading_items(lines: list[str], headings: list[Any], item_level: int) -> list[PlanItem]:
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


def _list_items(lines: list[str], headings: list[Any]) -> list[PlanItem]:
    fenced = [False] * len(lines)
    table_at = {table.start: table for table in find_tables(lines, fenced)}
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
            header = [bare(cell).lower() for cell in table.header]
            column = header.index("priority") if "priority" in header else None
            for cells in table.rows:
                priority = None
                if column is not None and column < len(cells):
                    priority = bare(cells[column]).upper()
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
