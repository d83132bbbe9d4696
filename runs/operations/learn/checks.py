"""The check of each learn agent file (specs/learn.md, "What each file must hold (verification)").

Every markdown file must be non-empty and hold its kind's level-2 headings (``HEADINGS``), in any order,
each followed by some text; the gap analysis's Enumerated Items section holds a table with
``GAP_COLUMNS``; the learn plan starts with its title line; ``tripwire-candidates.json`` is
``{"candidates": [...]}`` of exact ``action``/``warning``/``target_doc_path`` objects, after drift.py's
repairs. ``check_file`` raises ``OutputRejected`` naming the first problem.

The decisions the spec leaves open (markdown.py says how the files are read):

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
  is a pipe inside a cell (markdown.row_cells). The table ends at the first blank line or line without a
  pipe. A header-only table (no items) is valid. Every row needs exactly the five cells and a non-empty
  Item. Column names, classifications and priorities are exact (upper case), but a cell wrapped in
  backticks or ``**``/``*`` emphasis counts as its bare value, which is what ``parse_gap_items`` returns:
  the markup changes no value.
- ``tripwire-candidates.json``: extra top-level keys are allowed (the spec asks for "the key candidates");
  a candidate has exactly the three fields. A field that is empty or only white space is empty.
  ``target_doc_path`` must be relative: not starting with ``/``, ``\\``, ``~`` or a drive letter, and with
  no ``..`` part.
"""

from dataclasses import dataclass

from runs.paths import is_relative_path

from ..base import OutputRejected
from .agents import (
    CANDIDATE_FIELDS,
    CLASSIFICATIONS,
    COMMENTS,
    DIFF,
    DOCS,
    GAP_COLUMNS,
    GAPS,
    HEADINGS,
    ITEMS_HEADING,
    PLAN,
    PLAN_TITLE_PREFIX,
    PRIORITIES,
    SESSION,
    TRIPWIRES,
)
from .drift import canonical_json, repair
from .markdown import Section, bare, find_section, gap_table, level2_sections, split_lines

EMPTY_FILE = "empty file"
MARKDOWN_KINDS = (SESSION, DIFF, DOCS, COMMENTS, GAPS, PLAN)


@dataclass(frozen=True)
class Checked:
    text: str | None  # the repaired file text to write back, or None when unchanged
    warnings: tuple[str, ...]  # protocol warnings, one per drift repair


def _check_gap_table(sections: list[Section]) -> None:
    found = find_section(sections, ITEMS_HEADING)
    table = gap_table(found) if found is not None else None
    if table is None:
        raise OutputRejected(f"{ITEMS_HEADING} has no table")
    columns = [bare(cell) for cell in table.header]
    if tuple(columns) != GAP_COLUMNS:
        raise OutputRejected(f"table columns are {', '.join(columns)} not {', '.join(GAP_COLUMNS)}")
    for number, cells in enumerate(table.rows, start=1):
        where = f"row {number}"
        if len(cells) != len(GAP_COLUMNS):
            raise OutputRejected(f"{where}: {len(cells)} cells, not {len(GAP_COLUMNS)}")
        _, item, classification, priority, _ = cells
        classification, priority = bare(classification), bare(priority)
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
        first = next(line.strip() for line in split_lines(text) if line.strip())
        if first != expected:
            raise OutputRejected(f'first line must be "{expected}"')
    required = HEADINGS[kind]
    sections = [s for s in level2_sections(text) if s.name in required]
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
        if not is_relative_path(candidate["target_doc_path"]):
            raise OutputRejected(f"{where}: target_doc_path must be relative to the docs root")


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
    data, warnings = repair(text)
    _check_candidates(data)
    return Checked(text=canonical_json(data) if warnings else None, warnings=tuple(warnings))
