"""The twelve signals of one doc, exactly as specs/audit-scan.md defines them.

This is the ground truth that LLM runs are compared against, so each rule is the spec's rule and
nothing more. Regexes are the spec's, with Python ``re`` semantics (``\\w``, ``\\d`` and ``\\s`` are
Unicode-aware). Two readings the spec leaves open are settled here:

- A fence line is one whose text *with leading spaces removed* starts with three backticks: only spaces
  are removed, not tabs.
- Step sequences are runs "among prose lines": fence and code lines are not prose lines, so they neither
  continue nor end a run (a code block inside a numbered list does not split it).
"""

import re
from collections.abc import Callable
from typing import Any

from .docs import Doc, frontmatter_value, parse_doc

SIGNAL_KEYS: tuple[str, ...] = (
    "path",
    "lines",
    "code_blocks",
    "file_path_refs",
    "broken_paths",
    "last_audited",
    "audit_result",
    "has_redirect",
    "import_count",
    "behavioral_claims",
    "step_sequences",
    "line_number_refs",
    "symbol_refs",
)
STR_KEYS = frozenset({"path", "last_audited", "audit_result"})
BOOL_KEYS = frozenset({"has_redirect"})
INT_KEYS = frozenset(SIGNAL_KEYS) - STR_KEYS - BOOL_KEYS

MAX_CHECKED_PATHS = 3

PATH_REF = re.compile(r"(?<![A-Za-z0-9_./-])(?:src|packages|tests|\.claude)/[A-Za-z0-9_./-]+")
PATH_REF_TRAILING = ".,:;/"
IMPORT_LINE = re.compile(r"^\s*(import\s+\S|from\s+\S+\s+import\s)")
CLAIM_WORD = re.compile(r"\b(?:returns|raises|does|will|must|always|never)\b", re.IGNORECASE)
NUMBERED_ITEM = re.compile(r"^\d+[.)]\s")
MIN_STEP_RUN = 3
FILE_LINE_REF = re.compile(r"\b[\w./-]+\.\w+:\d+\b")
LINES_REF = re.compile(r"\b[Ll]ines?\s+\d+")
CODE_SPAN = re.compile(r"`([^`\n]+)`")
CAMEL_CASE = re.compile(r"^[A-Z][a-z0-9]+(?:[A-Z][a-z0-9]*)+$")
SNAKE_CASE = re.compile(r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)+$")

# For the linear scan of FILE_LINE_REF below.
_REF_RUN = re.compile(r"[\w./-]+")
_WORD_CHAR = re.compile(r"\w")


def _is_fence(line: str) -> bool:
    return line.lstrip(" ").startswith("```")


def _split_body(body: list[str]) -> tuple[int, list[str], list[str]]:
    """(code blocks opened, code lines, prose lines) of the body."""
    blocks = 0
    inside = False
    code: list[str] = []
    prose: list[str] = []
    for line in body:
        if _is_fence(line):
            # Any fence line closes an open block, whatever its backtick count: the spec's rule, not
            # CommonMark's. An unclosed block simply runs to the end.
            if not inside:
                blocks += 1
            inside = not inside
        elif inside:
            code.append(line)
        else:
            prose.append(line)
    return blocks, code, prose


def _path_refs(body: list[str]) -> list[str]:
    return [match.group(0) for line in body for match in PATH_REF.finditer(line)]


def _checked_paths(refs: list[str]) -> list[str]:
    checked: list[str] = []
    for ref in refs:
        stripped = ref.rstrip(PATH_REF_TRAILING)
        if stripped not in checked:
            checked.append(stripped)
            if len(checked) == MAX_CHECKED_PATHS:
                break
    return checked


def path_candidates(text: str) -> list[str]:
    """The (at most 3) distinct stripped path references that ``broken_paths`` checks, in order."""
    return _checked_paths(_path_refs(parse_doc(text).body))


def _step_sequences(prose: list[str]) -> int:
    runs = 0
    length = 0
    for line in prose:
        if NUMBERED_ITEM.match(line):
            length += 1
        elif not line.strip() or line[0] in " \t":
            continue  # blank and indented lines belong to the item above: the run goes on
        else:
            if length >= MIN_STEP_RUN:
                runs += 1
            length = 0
    if length >= MIN_STEP_RUN:
        runs += 1
    return runs


def _is_word(line: str, index: int) -> bool:
    return 0 <= index < len(line) and _WORD_CHAR.match(line, index) is not None


def _count_file_line_refs(line: str) -> int:
    """``len(FILE_LINE_REF.findall(line))``, in linear time.

    The plain regex backtracks quadratically on long runs such as ``a.a.a.a...`` (a 32 KB line takes
    seconds, a 1 MiB one hours), and a doc is scanned up to 1 MiB. Every character before the colon
    belongs to [\\w./-], so a match starts inside the maximal run of those characters that the colon
    closes, and ``\\.\\w+`` must be that run's last non-word character and the word characters after it.
    Whether the rest matches does not depend on where in the run the match starts, so the regex itself
    is tried once per run, at the first word boundary before that dot (where findall would find it).
    """
    count = 0
    resume = 0  # findall goes on from the end of the last match, which can lie inside the next run
    for run in _REF_RUN.finditer(line):
        start, end = run.span()
        if line[end : end + 1] != ":":
            continue
        dot = end - 1
        while dot >= start and _is_word(line, dot):
            dot -= 1
        if dot < start or line[dot] != "." or dot == end - 1:
            continue
        for index in range(max(start, resume), dot):
            if _is_word(line, index - 1) != _is_word(line, index):
                match = FILE_LINE_REF.match(line, index)
                if match:
                    count += 1
                    resume = match.end()
                break
    return count


def _line_number_refs(prose: list[str]) -> int:
    return sum(_count_file_line_refs(line) + len(LINES_REF.findall(line)) for line in prose)


def _symbol_refs(prose: list[str]) -> int:
    count = 0
    for line in prose:
        for span in CODE_SPAN.findall(line):
            name = span.removesuffix("()")
            if CAMEL_CASE.match(name) or SNAKE_CASE.match(name):
                count += 1
    return count


def measure_doc(path: str, doc: Doc, exists: Callable[[str], bool]) -> dict[str, Any]:
    blocks, code, prose = _split_body(doc.body)
    refs = _path_refs(doc.body)
    return {
        "path": path,
        "lines": len(doc.text.splitlines()),
        "code_blocks": blocks,
        "file_path_refs": len(refs),
        "broken_paths": sum(not exists(ref) for ref in _checked_paths(refs)),
        "last_audited": frontmatter_value(doc, "last_audited"),
        "audit_result": frontmatter_value(doc, "audit_result"),
        "has_redirect": doc.frontmatter is not None and "redirect_to" in doc.frontmatter,
        "import_count": sum(1 for line in code if IMPORT_LINE.match(line)),
        "behavioral_claims": sum(1 for line in prose if CLAIM_WORD.search(line)),
        "step_sequences": _step_sequences(prose),
        "line_number_refs": _line_number_refs(prose),
        "symbol_refs": _symbol_refs(prose),
    }


def measure(path: str, text: str, exists: Callable[[str], bool]) -> dict[str, Any]:
    """All 13 batch-file values of one doc; ``exists(rel)`` says whether <repo root>/<rel> exists."""
    return measure_doc(path, parse_doc(text), exists)


def line_number_refs(prose: list[str]) -> int:
    """The ``line_number_refs`` count of these prose lines (audit-doc's DRIFT RISK rule counts the same)."""
    return _line_number_refs(prose)
