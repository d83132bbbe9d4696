"""The ``local`` executor of audit-doc: a deterministic heuristic, no LLM (specs/audit-doc.md, "The local
executor"). Its audits are labelled as such; they are a baseline, not ground truth.

Every decision is made from what two tools answer (``path_exists`` and ``search_code``), so the
simulator's player, which sees only tool results, writes the same file: ``checks`` says what to ask,
``audit`` turns the answers into an audit. Settled here, where the spec leaves it open:

- Findings, in the order the doc first mentions them: an ``import`` per import line in a code block
  (imports.py); a ``path`` per distinct path reference as audit-scan finds them (``file_path_refs``'s
  regex, in backticks or not, trailing ``.,:;/`` removed), VERIFIED when it exists under the repo root,
  else BROKEN; a ``symbol`` per distinct code span in prose that audit-scan counts as a symbol
  (CamelCase or snake_case, a trailing ``()`` dropped) or that is a ``_private`` name: VERIFIED with the
  first ``def NAME``, ``class NAME`` or whole-word NAME line outside markdown files, else MISSING.
- A code block appears "line for line in a repo file" when it has at least two non-blank lines and one
  file that is not markdown holds every one of them (stripped, as search_code shows them) at rising
  line numbers.
- Section rules are the spec's, in its order; they read prose lines only (the heading included), apart
  from the code blocks the EXAMPLES rule compares. A table is a row followed by a ``---`` row.
- The revised document replaces each such code block with one sentence pointing to the file (and the
  first name it defines), and marks each broken path in prose ``(broken path)``; everything else,
  frontmatter included, is the doc's own text.
"""

import itertools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from runs.operations.audit_scan.signals import CAMEL_CASE, CODE_SPAN, PATH_REF, PATH_REF_TRAILING, SNAKE_CASE
from runs.operations.audit_scan.signals import line_number_refs as count_line_refs
from runs.tools import ToolError

from . import imports
from .findings import Finding
from .record import Audit, SectionRow, exists_in, format_audit, make_audit
from .search import MAX_QUERY_CHARS, NO_MATCHES, SHOWN_LINE, CodeSearch, Match, parse_results
from .sections import DocSections, code_mask, doc_sections, is_fence
from .verdict import (
    BAD,
    BROKEN,
    BROKEN_STATUSES,
    CONTEXTUAL,
    DRIFT_RISK,
    EXAMPLES,
    GOOD,
    HIGH_VALUE,
    INACCURATE,
    MISSING,
    VERIFIED,
)

LABEL = "Heuristic audit by erkweb's local executor (no LLM)"
BROKEN_MARK = " (broken path)"
DOC_SUFFIXES = (".md", ".markdown", ".mdx", ".rst")
_PRIVATE = re.compile(r"(?:^|\.)_[A-Za-z0-9][A-Za-z0-9_]*$")
_HIGH_VALUE_WORD = re.compile(r"\b(?:why|because|instead|trade-offs?|tripwires?)\b", re.IGNORECASE)
_DEFINES = re.compile(r"^\s*(?:async\s+)?(?:def|class)\s+([A-Za-z_][A-Za-z0-9_]*)")
_ACTIONS = {
    "CONSIDER DELETING": "Little of it is worth keeping as it stands, so consider deleting it.",
    "REPLACE WITH CODE REFS": "Replace what it copies from the code with pointers to the code.",
    "SIMPLIFY": "Keep its reasoning and cut what the code already says.",
    "KEEP": "Nothing needs to change.",
}


@dataclass(frozen=True)
class Block:
    fence: int  # index of the opening fence line
    end: int  # index after its last line (the closing fence included)
    code: tuple[int, ...]  # indices of its non-blank code lines


@dataclass
class Reading:
    """What the heuristic reads in a doc, before asking anything."""

    sections: DocSections
    prose: list[int]  # indices of prose lines (body lines outside code blocks)
    blocks: list[Block]
    imports: list[imports.Import]
    paths: dict[str, list[int]]  # path -> lines that mention it, in order of first mention
    symbols: dict[str, list[int]]


@dataclass(frozen=True)
class Checks:
    paths: tuple[str, ...]  # for path_exists
    queries: tuple[str, ...]  # for search_code


def _symbol(span: str) -> str | None:
    name = span.removesuffix("()")
    if CAMEL_CASE.match(name) or SNAKE_CASE.match(name) or ("." not in name and _PRIVATE.search(name)):
        return name
    return None


def read(text: str) -> Reading:
    sections = doc_sections(text)
    lines, start = sections.lines, sections.body_start
    mask = code_mask(lines[start:])
    prose = [start + offset for offset, code in enumerate(mask) if not code]
    blocks: list[Block] = []
    index = start
    while index < len(lines):
        if mask[index - start] and is_fence(lines[index]):
            end = index + 1
            while end < len(lines) and not is_fence(lines[end]):
                end += 1
            code = tuple(i for i in range(index + 1, end) if lines[i].strip())
            blocks.append(Block(index, min(end + 1, len(lines)), code))
            index = end + 1
        else:
            index += 1
    found = []
    for block in blocks:
        for i in block.code:
            parsed = imports.parse_import(lines, i, block.end)
            if parsed is not None:
                found.append(parsed)
    paths: dict[str, list[int]] = {}
    for i in range(start, len(lines)):
        for match in PATH_REF.finditer(lines[i]):
            paths.setdefault(match.group(0).rstrip(PATH_REF_TRAILING), []).append(i)
    symbols: dict[str, list[int]] = {}
    for i in prose:
        for span in CODE_SPAN.findall(lines[i]):
            name = _symbol(span)
            if name:
                symbols.setdefault(name, []).append(i)
    return Reading(sections, prose, blocks, found, paths, symbols)


def _block_queries(reading: Reading, block: Block) -> list[str]:
    lines = reading.sections.lines
    queries = [lines[i].strip() for i in block.code]
    if len(queries) < 2 or any(len(q) > MAX_QUERY_CHARS or "\x00" in q for q in queries):
        return []
    return queries


def checks(text: str) -> Checks:
    """Every path_exists and search_code call the heuristic needs for this doc, each once, in order."""
    reading = read(text)
    paths = [p for found in reading.imports for p in imports.paths_to_check(found)] + list(reading.paths)
    queries = [q for found in reading.imports for q in imports.queries(found)]
    queries += [q for name in reading.symbols for q in imports.name_queries(name)]
    queries += [q for block in reading.blocks for q in _block_queries(reading, block)]
    # A query search_code would refuse is not asked: its answer is "no matches" either way.
    queries = [query for query in queries if len(query) <= MAX_QUERY_CHARS]
    return Checks(tuple(dict.fromkeys(paths)), tuple(dict.fromkeys(queries)))


def _code_matches(search: Callable[[str], str], query: str) -> list[Match]:
    return [m for m in parse_results(search(query)) if not m.path.lower().endswith(DOC_SUFFIXES)]


def _symbol_finding(name: str, search: Callable[[str], str]) -> Finding:
    word = re.compile(rf"(?<![A-Za-z0-9_]){re.escape(name)}(?![A-Za-z0-9_])")
    for query in imports.name_queries(name):
        for match in _code_matches(search, query):
            if query != name or word.search(match.text):
                return Finding(VERIFIED, "symbol", name, f"{match.path}:{match.line}")
    return Finding(MISSING, "symbol", name, "")


def _verbatim_in(reading: Reading, block: Block, search: Callable[[str], str]) -> str | None:
    """The first file (in path order) that holds the block line for line, or None."""
    queries = _block_queries(reading, block)
    if not queries:
        return None
    found = [_code_matches(search, query) for query in queries]
    for path in sorted({match.path for match in found[0]}):
        last = 0
        for query, matches in zip(queries, found, strict=True):
            lines = [
                m.line for m in matches if m.path == path and m.text == query[:SHOWN_LINE] and m.line > last
            ]
            if not lines:
                break
            last = min(lines)
        else:
            return str(path)
    return None


def _is_table_row(line: str) -> bool:
    return line.strip().startswith("|")


def _is_separator(line: str) -> bool:
    row = line.strip()
    return row.startswith("|") and "---" in row and set(row) <= set("|-: ")


def _category(
    reading: Reading,
    lines: range,
    findings: Sequence[tuple[Finding, list[int]]],
    verbatim: dict[int, str],
) -> tuple[str, str]:
    """(category, note) of the section covering ``lines``, by the spec's rules in order."""
    text = reading.sections.lines
    for finding, where in findings:
        if finding.status in BROKEN_STATUSES and any(i in lines for i in where):
            return INACCURATE, f"{finding.status} {finding.kind} `{finding.subject}`"
    for block in reading.blocks:
        if block.fence in lines and block.fence in verbatim:
            return EXAMPLES, f"code repeats {verbatim[block.fence]}"
    prose = [i for i in reading.prose if i in lines]
    if count_line_refs([text[i] for i in prose]):
        return DRIFT_RISK, "line numbers"
    spans = [span.removesuffix("()") for i in prose for span in CODE_SPAN.findall(text[i])]
    private = [span for span in spans if _PRIVATE.search(span)]
    if private:
        return DRIFT_RISK, f"private name `{private[0]}`"
    for i, following in itertools.pairwise(prose):
        if following == i + 1 and _is_table_row(text[i]) and _is_separator(text[following]):
            return HIGH_VALUE, "table"
    words = [m.group(0).lower() for i in prose for m in _HIGH_VALUE_WORD.finditer(text[i])]
    if words:
        return HIGH_VALUE, "tripwire" if words[0].startswith("tripwire") else f"says {words[0]}"
    return CONTEXTUAL, ""


def _pointer(reading: Reading, block: Block, path: str) -> str:
    names = [m[1] for i in block.code if (m := _DEFINES.match(reading.sections.lines[i]))]
    if names:
        return f"This example repeats the source: see `{names[0]}` in `{path}`."
    return f"This example repeats the source: see `{path}`."


def _mark(line: str, broken: set[str]) -> str:
    out, last = [], 0
    for match in PATH_REF.finditer(line):
        path = match.group(0).rstrip(PATH_REF_TRAILING)
        if path not in broken:
            continue
        # After a trailing slash (part of how the doc names a folder), before sentence punctuation.
        end = match.start() + len(match.group(0).rstrip(".,:;"))
        if line.startswith("`", end):
            end += 1
        out += [line[last:end], BROKEN_MARK]
        last = end
    return "".join([*out, line[last:]])


def revise(reading: Reading, verbatim: dict[int, str], broken: set[str]) -> str:
    lines = reading.sections.lines
    out: list[str] = []
    prose = set(reading.prose)
    by_fence = {block.fence: block for block in reading.blocks}
    index = 0
    while index < len(lines):
        block = by_fence.get(index)
        if block is not None and index in verbatim:
            out.append(_pointer(reading, block, verbatim[index]))
            index = block.end
            continue
        out.append(_mark(lines[index], broken) if index in prose and broken else lines[index])
        index += 1
    return "\n".join(out) + "\n"


def summary(audit_verdict: str, findings: Sequence[Finding], bad: int, good: int) -> str:
    """Two to three sentences: what the heuristic found, the shares, the verdict and what to do."""
    verified = sum(f.status == VERIFIED for f in findings)
    broken = [f for f in findings if f.status in BROKEN_STATUSES]
    action = _ACTIONS.get(audit_verdict)
    if action is None:
        action = "Fix the sections that no longer match the code."
        if broken:
            action = "Fix what no longer matches the code: " + ", ".join(f"`{f.subject}`" for f in broken[:3])
            action += "."
    return (
        f"{LABEL}: {verified} of {len(findings)} findings verified, {len(broken)} broken or missing; "
        f"{bad}% of the doc's lines are {'/'.join(sorted(BAD))} and {good}% {'/'.join(sorted(GOOD))}, "
        f"so the verdict is {audit_verdict}. {action}"
    )


@dataclass(frozen=True)
class Assessment:
    """What the heuristic decided, before the rules turn it into an audit."""

    rows: tuple[SectionRow, ...]
    findings: tuple[Finding, ...]
    revised: str  # the revision, whether or not the verdict will take it


def assess(text: str, *, exists: Callable[[str], bool], search: Callable[[str], str]) -> Assessment:
    """The heuristic's sections and findings for a doc, from the answers ``exists`` (path_exists) and
    ``search`` (search_code) give to the calls ``checks(text)`` lists."""
    reading = read(text)
    located: list[tuple[Finding, list[int]]] = []
    for found in reading.imports:
        located.append((imports.finding(found, exists, search), [found.line]))
    for path, where in reading.paths.items():
        located.append((Finding(VERIFIED if exists(path) else BROKEN, "path", path), where))
    for name, where in reading.symbols.items():
        located.append((_symbol_finding(name, search), where))
    located.sort(key=lambda pair: pair[1][0])  # stable: the doc's order, imports first on a tie
    verbatim = {
        block.fence: held
        for block in reading.blocks
        if (held := _verbatim_in(reading, block, search)) is not None
    }
    rows = []
    for section in reading.sections.sections:
        span = range(section.start, section.start + section.size)
        category, note = _category(reading, span, located, verbatim)
        rows.append(SectionRow(section.name, category, note, section.size))
    findings = tuple(finding for finding, _where in located)
    broken = {f.subject for f in findings if f.kind == "path" and f.status in BROKEN_STATUSES}
    return Assessment(tuple(rows), findings, revise(reading, verbatim, broken))


def audit_of(doc: str, rows: Sequence[SectionRow], findings: Sequence[Finding], revised: str) -> Audit:
    """The audit the rules make of these rows and findings, with the heuristic's summary."""
    draft = make_audit(doc, rows, findings, summary="", revised=revised)
    text = summary(draft.verdict, findings, draft.bad, draft.good)
    return make_audit(doc, rows, findings, summary=text, revised=revised)


def audit(doc: str, text: str, *, exists: Callable[[str], bool], search: Callable[[str], str]) -> Audit:
    found = assess(text, exists=exists, search=search)
    return audit_of(doc, found.rows, found.findings, found.revised)


def local_audit_text(doc: str, text: str, repo_root: Path) -> str:
    """The audit file ``local`` writes for ``doc`` (its text as the agent would be given it)."""
    code = CodeSearch(repo_root)

    def search(query: str) -> str:
        # As the player reads a refused query's error result (players/audit_doc.py).
        try:
            return code.search_code(query)
        except ToolError:
            return NO_MATCHES

    return format_audit(audit(doc, text, exists=exists_in(repo_root), search=search))
