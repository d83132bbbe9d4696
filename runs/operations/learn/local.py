"""The ``local`` executor of learn: a heuristic analyser that fills every agent file without an LLM.

Unlike audit-scan's local executor this is no ground truth: finding what deserves documentation takes
judgement, and simple rules only approximate it. It is useful offline, as a baseline for comparisons, and
as the simulator's answer; every markdown file it writes says so in a line at the top (NOTE).

``analyse(kind, title=..., hints=..., inputs=..., search=...)`` returns the whole file text for one agent.
``inputs`` maps each input path of the batch (relative to the run folder, as the batch message lists
them) to its text; ``search(query)`` answers like the ``search_docs`` tool. The same arguments give the
same bytes: inputs are visited in sorted path order and every list is sorted or kept in input order.

The rules, per agent:

- session-analyzer reads the chunk's elements (sessions.py: ``<user>``, ``<assistant>``,
  ``<tool_use name="...">`` holding ``key: value`` lines, ``<tool_result>``). A tool_result answers the
  oldest tool_use not yet answered. Its *error line* is its first line holding ``error``, ``exception``,
  ``failed``, ``traceback`` or ``fatal`` (any case) once phrases such as "0 errors" or "no failures" are
  removed; a ``Traceback (most recent call last):`` header gives way to a later error line. For tools
  whose result is content (Read, Grep, Glob...: CONTENT_TOOLS) only a line holding Claude Code's
  ``tool_use_error`` wrapper or starting with ``Error`` counts, since the content may say anything. Errors are
  grouped by tool name and error line (from the word holding the first error word, digits ignored,
  any case); a group is resolved when a later result of the
  same tool has no error line, and a group seen 2+ times is a tripwire candidate. A user correction is a
  ``<user>`` text holding ``no,``, ``don't``, ``do not``, ``instead``, ``wrong`` or ``actually`` as
  words (any case). Patterns are the tools by number of calls; documentation opportunities are the files
  named by the ``file_path``/``notebook_path``/``path`` of Edit, MultiEdit, Write and NotebookEdit calls.
- diff-analyzer reads ``diff.patch`` (files added/modified/deleted/renamed from ``diff --git``, ``new file
  mode``, ``deleted file mode``, ``rename to``; added/removed lines; definitions from added lines
  ``def``/``async def``/``class``/``function``) and ``log.txt`` (commit subjects, git.py's format or one
  line per commit). One recommended item per added command (a file under a ``commands`` folder) or
  module (a source file that is not a test, ``__init__.py`` or a migration).
- docs-checker searches every hint; a doc matched by every hint (with 2+ hints) is a duplicate warning;
  it never claims a contradiction (a heuristic cannot tell).
- comments-analyzer: comments whose body holds ``doc``, ``docs``, ``document...``, ``readme`` or
  ``explain...`` are documentation opportunities; every comment is a key insight.
- gap-identifier: one row per bullet of "Recommended Documentation Items" and "Documentation
  Opportunities" (merged when they name the same path, one a suffix of the other, or say the same
  thing) and per "Tripwire Candidates" bullet. UPDATE_EXISTING when a doc of the docs check shares a
  word with the item (that doc is the target), else NEW_DOC with a proposed ``docs/<name>.md``. HIGH for
  an item from 2+ files or a tripwire seen 2+ times, MEDIUM for a diff item, LOW otherwise. Each Item
  cell ends with ``(target: docs/...)``; tripwires target a matching doc or ``docs/tripwires.md``.
- plan-synthesizer: one bullet per NEW_DOC/UPDATE_EXISTING row, one tripwire insight per TRIPWIRE row.
- tripwire-extractor: the TRIPWIRE rows and the plan's Tripwire Insights, merged by action; an item
  ``<action> — <warning> (target: docs/<path>)`` gives ``action``, ``warning`` and ``target_doc_path``
  ``<path>`` (relative to the docs root).
"""

import html
import json
import re
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from .agents import (
    CLASSIFICATIONS,
    COMMENTS,
    COMMENTS_FILE,
    DIFF,
    DIFF_FILE,
    DOCS,
    GAP_COLUMNS,
    GAPS,
    HEADINGS,
    LOG_FILE,
    OUTPUT_FILE,
    PLAN,
    PRIORITIES,
    SESSION,
    TRIPWIRES,
)
from .files import GapItem, canonical_json, normalize_action, parse_gap_items, section

NOTE = (
    "_Written by erkweb's local heuristic analyser, not a model: a baseline from simple rules, "
    "not ground truth._"
)
NONE_FOUND = "None found."
SEP = " — "  # between an item's action and its warning
TRIPWIRES_DOC = "docs/tripwires.md"
DOCS_PREFIX = "docs/"
CUT = 200  # characters of a quoted text

# --- shared helpers -----------------------------------------------------------------------------------


def _cut(text: str, limit: int = CUT) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _code(text: str, limit: int = 120) -> str:
    """Inline code that stays inline code: one line, no backticks of its own."""
    return "`" + _cut(text.replace("`", "'"), limit) + "`"


def _document(title: str, sections: Mapping[str, Sequence[str] | str], kind: str) -> str:
    """A markdown file: the title, the note, then every required heading of ``kind`` with its text."""
    parts = [f"# {title}", "", NOTE, ""]
    for heading in HEADINGS[kind]:
        body = sections.get(heading) or NONE_FOUND
        if not isinstance(body, str):
            body = "\n".join(f"- {line}" for line in body)
        parts += [f"## {heading}", "", body.strip(), ""]
    return "\n".join(parts)


def _lines(text: str, heading: str) -> list[str]:
    """The lines under a level-2 heading (files.section: code fences and the first of a repeat)."""
    body = section(text, heading)
    return body.split("\n") if body else []


_BULLET = re.compile(r"^(?:[-*+]|[0-9]{1,9}[.)])[ \t]+(\S.*)$")


def _bullets(lines: Sequence[str]) -> list[str]:
    """Top-level list items (not indented), without "None found."-style placeholders."""
    items = []
    for line in lines:
        match = _BULLET.match(line)
        if match and match[1].strip().strip("_*").rstrip(".").lower() not in ("none found", "none"):
            items.append(match[1].strip())
    return items


_STOP_WORDS = """
docs doc md py txt json yaml yml rst html learned readme index the and for with from into this that new
add added adds update updated use using used make fix module modules command commands file files
document documentation documented what how why does its their when then than not are was were has have
had should must can will src lib test tests init main run runs target line lines call calls called
"""
# Words too common in paths and items to say that an item and a doc are about the same thing.
_STOP = frozenset(_STOP_WORDS.split())


def _words(text: str) -> set[str]:
    return {w for w in re.split(r"[^a-z0-9]+", text.lower()) if len(w) >= 3 and w not in _STOP}


def _basename(path: str) -> str:
    return path.rsplit("/", 1)[-1]


# --- session analyzer ---------------------------------------------------------------------------------

_ELEMENT = re.compile(r"<(user|assistant|tool_use|tool_result)\b([^>]*)>(.*?)</\1>", re.S)
_NAME_ATTR = re.compile(r'\bname="([^"]*)"')
_PARAM = re.compile(r"^([A-Za-z_][\w-]*): (.*)$")
_ERROR_WORD = re.compile(r"error|exception|failed|traceback|fatal", re.I)
_NOT_AN_ERROR = re.compile(
    r"\b(?:0|no|zero|without)\s+(?:errors?|exceptions?|failed|failures?|fatal errors?)\b", re.I
)
_TRACEBACK = re.compile(r"^traceback \(most recent call last\):?$", re.I)
_CORRECTION = re.compile(r"(?<!\w)(?:no,|don't|don\u2019t|do not|instead|wrong|actually)(?!\w)", re.I)
EDIT_TOOLS = frozenset({"Edit", "MultiEdit", "Write", "NotebookEdit"})
# Tools whose results are content (a file, search hits): the words alone say nothing, only Claude Code's
# own error wrapper does.
CONTENT_TOOLS = frozenset({"Read", "Grep", "Glob", "LS", "NotebookRead", "WebFetch", "WebSearch", "Task"})
_TOOL_ERROR = re.compile(r"tool_use_error|^error\b", re.I)
_MAIN_PARAMS = ("command", "file_path", "notebook_path", "path", "pattern", "query", "url", "description")


@dataclass
class _Call:
    tool: str
    params: dict[str, str]
    result: str | None = None

    @property
    def subject(self) -> str:
        for key in _MAIN_PARAMS:
            if self.params.get(key):
                return self.params[key]
        return next(iter(self.params.values()), "")


def _params(body: str) -> dict[str, str]:
    params: dict[str, str] = {}
    for line in body.split("\n"):
        match = _PARAM.match(line)
        if match:
            params.setdefault(match[1], match[2].replace("\\n", " ").strip())
        elif line.strip() and params:
            last = next(reversed(params))
            params[last] += " " + line.strip()
    return params


def error_line(result: str, tool: str = "") -> str | None:
    """The line that says a tool result went wrong (module docstring), or None."""
    header = None
    for line in result.split("\n"):
        stripped = line.strip()
        if not stripped or not _ERROR_WORD.search(_NOT_AN_ERROR.sub("", stripped)):
            continue
        if tool in CONTENT_TOOLS and not _TOOL_ERROR.search(stripped):
            continue
        if _TRACEBACK.match(stripped):
            header = header or stripped
            continue
        return stripped
    return header


def _signature(line: str) -> str:
    """What makes two error lines the same error: the line from the word holding the first error word
    (so that prefixes such as pytest's ``E   `` do not count), digits ignored, any case."""
    match = _ERROR_WORD.search(line)
    start = line.rfind(" ", 0, match.start()) + 1 if match else 0
    return _cut(re.sub(r"[0-9]+", "N", line[start:]).lower(), 160)


def _session_elements(text: str) -> tuple[list[_Call], list[str]]:
    """The tool calls (each with its result) and the user texts of a chunk, in order."""
    calls: list[_Call] = []
    users: list[str] = []
    waiting: list[_Call] = []
    for match in _ELEMENT.finditer(text):
        tag, attrs, body = match[1], match[2], html.unescape(match[3])
        if tag == "user":
            users.append(body.strip())
        elif tag == "tool_use":
            name = _NAME_ATTR.search(attrs)
            call = _Call(html.unescape(name[1]) if name else "unknown", _params(body))
            calls.append(call)
            waiting.append(call)
        elif tag == "tool_result":
            if waiting:
                waiting.pop(0).result = body
            else:  # a result whose call is in an earlier chunk
                calls.append(_Call("unknown", {}, body))
    return calls, users


@dataclass
class _ErrorGroup:
    tool: str
    line: str
    first: _Call
    count: int = 0
    last_index: int = 0
    fix: _Call | None = None


def _analyse_session(title: str, inputs: Mapping[str, str]) -> str:
    calls: list[_Call] = []
    users: list[str] = []
    names = []
    for path in sorted(inputs):
        found_calls, found_users = _session_elements(inputs[path])
        calls += found_calls
        users += found_users
        names.append(_basename(path).removesuffix(".xml"))

    groups: dict[tuple[str, str], _ErrorGroup] = {}
    for index, call in enumerate(calls):
        line = error_line(call.result, call.tool) if call.result is not None else None
        if line is None:
            continue
        group = groups.setdefault((call.tool, _signature(line)), _ErrorGroup(call.tool, line, call))
        group.count += 1
        group.last_index = index
    for group in groups.values():
        group.fix = next(
            (
                call
                for call in calls[group.last_index + 1 :]
                if call.tool == group.tool
                and call.result is not None
                and error_line(call.result, call.tool) is None
            ),
            None,
        )

    errors, tripwires = [], []
    for group in groups.values():
        times = f"{group.count} times" if group.count > 1 else "once"
        what = f"`{group.tool}` ({_code(group.first.subject, 80)}) failed {times} with {_code(group.line)}"
        if group.fix is not None:
            errors.append(
                f"{what}; resolved: a later `{group.tool}` call ({_code(group.fix.subject, 80)}) succeeded."
            )
            advice = f"what worked was {_code(group.fix.subject, 80)}."
        else:
            errors.append(f"{what}; not resolved in this chunk.")
            advice = "it was not resolved in the session: find the cause before retrying."
        if group.count >= 2:
            tripwires.append(
                f"Using `{group.tool}` for {_code(group.first.subject, 80)}{SEP}It failed {group.count} "
                f"times with {_code(group.line)}; {advice}"
            )

    corrections = []
    for text in users:
        match = _CORRECTION.search(text)
        if match and (item := f"“{_cut(text)}” (matched “{match[0].lower()}”)") not in corrections:
            corrections.append(item)

    tools = Counter(call.tool for call in calls if call.tool != "unknown")
    patterns = [
        f"`{tool}`: {count} call{'s' if count != 1 else ''}"
        for tool, count in sorted(tools.items(), key=lambda pair: (-pair[1], pair[0]))
    ]

    touched: Counter[str] = Counter()
    touched_by: dict[str, set[str]] = {}
    for call in calls:
        if call.tool in EDIT_TOOLS:
            path = call.params.get("file_path") or call.params.get("notebook_path") or call.params.get("path")
            if path:
                touched[path] += 1
                touched_by.setdefault(path, set()).add(call.tool)
    opportunities = [
        f"{_code(path, 160)}{SEP}changed by {count} {'/'.join(sorted(touched_by[path]))} "
        f"call{'s' if count != 1 else ''}; check that its docs say what changed and why."
        for path, count in sorted(touched.items())
    ]
    return _document(
        f"Session Analysis: {', '.join(names) or 'no chunk'}",
        {
            "Patterns Discovered": patterns,
            "Errors Resolved": errors,
            "User Corrections": corrections,
            "Documentation Opportunities": opportunities,
            "Tripwire Candidates": tripwires,
        },
        SESSION,
    )


# --- diff analyzer ------------------------------------------------------------------------------------

_DIFF_GIT = re.compile(r"^diff --git a/(.*) b/(.*)$")
_DEFINITION = re.compile(
    r"^\s*(?:export\s+)?(async\s+def|def|class|(?:async\s+)?function)\s+([A-Za-z_$][\w$]*)"
)
_COMMIT = re.compile(r"^commit [0-9a-f]{7,64}\b")
_SHA_PREFIX = re.compile(r"^[0-9a-f]{7,64}\s+")
_CODE_SUFFIXES = ".py .js .mjs .ts .tsx .jsx .go .rs .rb .java .kt .swift .c .h .cpp .cs .php .sh .lua .ex"
CODE_SUFFIXES = frozenset(_CODE_SUFFIXES.split())


@dataclass
class _FileChange:
    path: str
    status: str = "modified"
    added: int = 0
    removed: int = 0
    definitions: list[tuple[str, str]] = field(default_factory=list)

    @property
    def command(self) -> bool:
        parts = PurePosixPath(self.path).parts
        return "commands" in parts[:-1] and PurePosixPath(self.path).stem != "__init__"

    @property
    def module(self) -> bool:
        path = PurePosixPath(self.path)
        if path.suffix not in CODE_SUFFIXES or path.name == "__init__.py":
            return False
        test = {"test", "tests", "__tests__", "migrations"} & set(path.parts[:-1])
        name = path.name
        return not test and not name.startswith("test_") and not re.search(r"[._]test\.|\.spec\.", name)


def parse_diff(diff: str) -> list[_FileChange]:
    """The files of a ``git diff``, in diff order, with their status, line counts and definitions."""
    files: list[_FileChange] = []
    current: _FileChange | None = None
    in_hunk = False
    for line in diff.split("\n"):
        header = _DIFF_GIT.match(line)
        if header:
            current = _FileChange(header[2])
            files.append(current)
            in_hunk = False
            continue
        if current is None:
            continue
        if line.startswith("@@"):
            in_hunk = True
        elif not in_hunk:
            if line.startswith("new file mode"):
                current.status = "added"
            elif line.startswith("deleted file mode"):
                current.status = "deleted"
            elif line.startswith("rename to "):
                current.status = "renamed"
                current.path = line.removeprefix("rename to ")
        elif line.startswith("+"):
            current.added += 1
            definition = _DEFINITION.match(line[1:])
            if definition:
                kind = " ".join(definition[1].split())
                current.definitions.append((kind, definition[2]))
        elif line.startswith("-"):
            current.removed += 1
    return files


def commit_subjects(log: str) -> list[str]:
    """Commit subjects: the first message line of each ``commit <hash>`` block (git.py's format), or
    else every non-blank line without a leading hash (``git log --oneline``)."""
    lines = log.replace("\r\n", "\n").split("\n")
    if any(_COMMIT.match(line) for line in lines):
        subjects, waiting = [], False
        for line in lines:
            if _COMMIT.match(line):
                waiting = True
            elif waiting and line.startswith("    ") and line.strip():
                subjects.append(line.strip())
                waiting = False
        return subjects
    return [_SHA_PREFIX.sub("", line.strip()) for line in lines if line.strip()]


def _names(definitions: Sequence[tuple[str, str]], limit: int = 6) -> str:
    public = list(dict.fromkeys(name for _, name in definitions if not name.startswith("_")))
    shown = ", ".join(f"`{name}`" for name in public[:limit])
    return shown + (f" and {len(public) - limit} more" if len(public) > limit else "")


def _analyse_diff(title: str, inputs: Mapping[str, str]) -> str:
    diff = "\n".join(text for path, text in sorted(inputs.items()) if _basename(path) == DIFF_FILE)
    log = "\n".join(text for path, text in sorted(inputs.items()) if _basename(path) == LOG_FILE)
    files = parse_diff(diff)
    subjects = commit_subjects(log)

    inventory = []
    for change in sorted(files, key=lambda c: c.path):
        line = f"{change.status} {_code(change.path, 160)} (+{change.added}/-{change.removed})"
        if change.definitions:
            defs = ", ".join(f"`{kind} {name}`" for kind, name in change.definitions[:12])
            more = len(change.definitions) - 12
            line += f"; defines {defs}" + (f" and {more} more" if more > 0 else "")
        inventory.append(line)

    statuses = Counter(change.status for change in files)
    definitions = sum(len(change.definitions) for change in files)
    summary = []
    if files:
        counts = ", ".join(
            f"{statuses[s]} {s}" for s in ("added", "modified", "deleted", "renamed") if statuses[s]
        )
        summary.append(
            f"{len(files)} file{'s' if len(files) != 1 else ''} changed ({counts}), "
            f"+{sum(c.added for c in files)}/-{sum(c.removed for c in files)} lines, "
            f"{definitions} definition{'s' if definitions != 1 else ''} added."
        )
    else:
        summary.append("The diff is empty: no file changed.")
    if subjects:
        summary += ["", f"Commits ({len(subjects)}):"] + [f"- {_cut(s, 160)}" for s in subjects[:20]]
        if len(subjects) > 20:
            summary.append(f"- and {len(subjects) - 20} more")
    else:
        summary.append("No commit messages in the log.")

    items = []
    for change in sorted(files, key=lambda c: c.path):
        if change.status != "added":
            continue
        defines = _names(change.definitions)
        defines = f" (defines {defines})" if defines else ""
        if change.command:
            name = PurePosixPath(change.path).stem
            items.append(
                f"{_code(change.path, 160)}{SEP}new command `{name}`: document what it does, its options "
                f"and an example{defines}."
            )
        elif change.module:
            items.append(
                f"{_code(change.path, 160)}{SEP}new module: document what it is for and how to use it"
                f"{defines}."
            )
    return _document(
        f"Diff Analysis: {title}",
        {
            "Inventory": inventory,
            "Documentation Summary": "\n".join(summary),
            "Recommended Documentation Items": items,
        },
        DIFF,
    )


# --- docs checker -------------------------------------------------------------------------------------

_MATCH = re.compile(r"^(docs/.+?):([0-9]+): ?(.*)$")


def _analyse_docs(title: str, hints: Sequence[str], search: Callable[[str], str]) -> str:
    hints = list(dict.fromkeys(h.strip() for h in hints if h.strip()))
    counts: dict[str, Counter[str]] = {}  # doc -> hint -> matches
    first_line: dict[str, str] = {}
    for hint in hints:
        for line in search(hint).split("\n"):
            match = _MATCH.match(line.strip())
            if match:
                counts.setdefault(match[1], Counter())[hint] += 1
                first_line.setdefault(match[1], f"line {match[2]}: {_cut(match[3], 120)}")
    found = []
    for doc in sorted(counts, key=lambda d: (-sum(counts[d].values()), d)):
        total = sum(counts[doc].values())
        per_hint = ", ".join(f"{h}: {counts[doc][h]}" for h in hints if counts[doc][h])
        found.append(
            f"{_code(doc, 160)}{SEP}{total} match{'es' if total != 1 else ''} ({per_hint}); "
            f"first at {first_line[doc]}"
        )
    duplicates = []
    if len(hints) >= 2:
        duplicates = [
            f"{_code(doc, 160)} matches every hint ({', '.join(hints)}): a new doc may repeat it; "
            "consider updating it instead."
            for doc in sorted(counts)
            if all(counts[doc][h] for h in hints)
        ]
    if hints:
        summary = (
            f"Searched the existing docs for {len(hints)} hint{'s' if len(hints) != 1 else ''} "
            f"({', '.join(hints)}): {len(counts)} doc{'s' if len(counts) != 1 else ''} matched, "
            f"{len(duplicates)} may duplicate the work."
        )
    else:
        summary = "No search hints, so nothing was searched."
    return _document(
        f"Existing Docs Check: {title}",
        {
            "Summary": summary,
            "Existing Documentation Found": found,
            "Duplicate Warnings": duplicates,
            "Contradiction Warnings": f"{NONE_FOUND} (A heuristic cannot tell whether docs contradict "
            "the work.)",
        },
        DOCS,
    )


# --- comments analyzer --------------------------------------------------------------------------------

_DOC_WORD = re.compile(r"\b(?:docs?|document\w*|readme|explain\w*)\b", re.I)


def _analyse_comments(title: str, inputs: Mapping[str, str]) -> str:
    comments: list[dict] = []
    problems = []
    for path in sorted(inputs):
        if _basename(path) != COMMENTS_FILE:
            continue
        try:
            data = json.loads(inputs[path])
        except ValueError as exc:
            problems.append(f"{path} is not JSON ({exc}); nothing read from it.")
            continue
        comments += [c for c in (data if isinstance(data, list) else []) if isinstance(c, dict)]

    def field_of(comment: dict, key: str) -> str:
        value = comment.get(key)
        return "" if value is None else " ".join(str(value).split())

    opportunities, insights = [], []
    for comment in comments:
        path, line = field_of(comment, "path") or "(no path)", field_of(comment, "line")
        author, body = field_of(comment, "author") or "unknown", field_of(comment, "body")
        where = f"{path}:{line}" if line else path
        insights.append(_cut(f"{where} ({author}): {body}"))
        if _DOC_WORD.search(body):
            at = f"line {line}, " if line else ""
            opportunities.append(f"{_code(path, 160)}{SEP}{at}{author} asks: “{_cut(body, 160)}”")
    return _document(
        f"PR Comments Analysis: {title}",
        {"Documentation Opportunities": opportunities, "Key Insights": problems + insights},
        COMMENTS,
    )


# --- gap identifier -----------------------------------------------------------------------------------

_BACKTICKED = re.compile(r"`([^`]+)`")
_DOC_PATH = re.compile(r"docs/[\w./-]*\w")
_TIMES = re.compile(r"\b([0-9]+) times\b")
_TARGET = re.compile(r"\s*\(target: `?([^)`]+)`?\)\s*$")
_PRIORITY_MARK = re.compile(r"^\*\*(HIGH|MEDIUM|LOW)\*\*\s*(?:—|-|:)?\s*")
DOC_ITEM_HEADINGS = ("Recommended Documentation Items", "Documentation Opportunities")
RANK = {p: i for i, p in enumerate(PRIORITIES)}


@dataclass
class _Item:
    key: str
    text: str
    tripwire: bool
    sources: set[str] = field(default_factory=set)
    from_diff: bool = False
    times: int = 0


def _item_key(text: str) -> str:
    """The path an item names (its first backticked token that looks like one), else its words."""
    code = _BACKTICKED.search(text)
    if code and ("/" in code[1] or "." in code[1]) and " " not in code[1].strip():
        return re.sub(r":[0-9]+$", "", code[1].strip()).removeprefix("./")
    return " ".join(re.findall(r"[a-z0-9]+", text.lower()))


def _same(a: str, b: str) -> bool:
    return a == b or a.endswith("/" + b) or b.endswith("/" + a)


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _best_doc(text: str, docs: Sequence[str]) -> str | None:
    """The doc sharing the most words with ``text`` (the first in path order on a tie), if any."""
    words = _words(text)
    scored = sorted((-len(words & _words(doc)), doc) for doc in docs)
    return scored[0][1] if scored and scored[0][0] < 0 else None


def _new_doc_path(key: str) -> str:
    """A proposed doc for an item: ``docs/<folder>-<stem>.md`` for a path, else from its words."""
    if "/" in key or "." in key:
        path = PurePosixPath(key)
        parent = path.parent.name if path.parent.name not in ("", ".", "src", "lib") else ""
        parts = [parent, path.stem] if parent and parent != path.stem else [path.stem]
    else:
        parts = [w for w in key.split() if len(w) >= 3 and w not in _STOP][:5]
    slug = "-".join(filter(None, (re.sub(r"[^a-z0-9]+", "-", part.lower()).strip("-") for part in parts)))
    return f"{DOCS_PREFIX}{slug or 'notes'}.md"


def _strip_target(text: str) -> tuple[str, str | None]:
    match = _TARGET.search(text)
    return (text[: match.start()].rstrip(), match[1].strip()) if match else (text.rstrip(), None)


def _found_docs(text: str) -> set[str]:
    """The docs a docs check lists: the first ``docs/...`` path of each line of its findings."""
    found = set()
    for line in _lines(text, "Existing Documentation Found"):
        match = _DOC_PATH.search(line)
        if match:
            found.add(match[0].rstrip("."))
    return found


def _analyse_gaps(title: str, inputs: Mapping[str, str]) -> str:
    items: list[_Item] = []
    docs: set[str] = set()
    sources = []
    headings = [*((h, False) for h in DOC_ITEM_HEADINGS), ("Tripwire Candidates", True)]
    for path in sorted(inputs):
        source = _basename(path)
        sources.append(source)
        docs |= _found_docs(inputs[path])
        for heading, tripwire in headings:
            for bullet in _bullets(_lines(inputs[path], heading)):
                text, _ = _strip_target(_PRIORITY_MARK.sub("", bullet))
                key = _item_key(text.split(SEP)[0] if tripwire else text)
                item = next((i for i in items if i.tripwire == tripwire and _same(i.key, key)), None)
                if item is None:
                    item = _Item(key, text, tripwire)
                    items.append(item)
                elif len(key) < len(item.key):  # prefer the repo-relative path of the diff
                    item.key, item.text = key, text
                item.sources.add(source)
                item.from_diff = item.from_diff or heading == "Recommended Documentation Items"
                times = _TIMES.search(text)
                item.times = max(item.times, int(times[1]) if times else 1)

    rows = []  # (tripwire, priority rank, item with its target, classification, priority, sources)
    for item in items:
        if item.tripwire:
            priority = "HIGH" if item.times >= 2 or len(item.sources) >= 2 else "LOW"
            target = _best_doc(item.text.split(SEP)[0], sorted(docs)) or TRIPWIRES_DOC
            classification = "TRIPWIRE"
        else:
            priority = "HIGH" if len(item.sources) >= 2 else "MEDIUM" if item.from_diff else "LOW"
            found = _best_doc(item.key, sorted(docs))
            classification = "UPDATE_EXISTING" if found else "NEW_DOC"
            target = found or _new_doc_path(item.key)
        text = f"{item.text.rstrip('.')} (target: {target})"
        rows.append((item.tripwire, RANK[priority], text, classification, priority, sorted(item.sources)))
    rows.sort(key=lambda row: row[:3])

    table = ["| " + " | ".join(GAP_COLUMNS) + " |", "|" + "|".join("---" for _ in GAP_COLUMNS) + "|"]
    for number, (_, _, text, classification, priority, files) in enumerate(rows, start=1):
        cells = (str(number), _cell(text), classification, priority, _cell(", ".join(files)))
        table.append("| " + " | ".join(cells) + " |")
    if not rows:
        table += ["", "No items: the stage-1 files recommend nothing to document."]

    classes = Counter(row[3] for row in rows)
    priorities = Counter(row[4] for row in rows)
    stats = [
        f"Files read: {len(sources)} ({', '.join(sources) if sources else 'none'})",
        f"Items: {len(rows)} (" + ", ".join(f"{c} {classes[c]}" for c in CLASSIFICATIONS) + ")",
        "Priorities: " + ", ".join(f"{p} {priorities[p]}" for p in PRIORITIES),
        f"Existing docs found by the docs check: {len(docs)}",
    ]
    tripwires = [f"**{row[4]}**{SEP}{row[2]}" for row in rows if row[3] == "TRIPWIRE"]
    return _document(
        f"Gap Analysis: {title}",
        {"Summary Statistics": stats, "Enumerated Items": "\n".join(table), "Tripwire Candidates": tripwires},
        GAPS,
    )


# --- plan synthesizer ---------------------------------------------------------------------------------


def _is_gaps(path: str) -> bool:
    return _basename(path) == OUTPUT_FILE[GAPS]


def _gap_items(inputs: Mapping[str, str]) -> list[GapItem]:
    return [item for path in sorted(inputs) if _is_gaps(path) for item in parse_gap_items(inputs[path])]


def _order(item: GapItem) -> tuple[int, int]:
    return (RANK.get(item.priority, len(RANK)), int(item.number) if item.number.isdigit() else 0)


def _analyse_plan(title: str, inputs: Mapping[str, str]) -> str:
    rows = sorted(_gap_items(inputs), key=_order)
    doc_rows = [r for r in rows if r.classification in ("NEW_DOC", "UPDATE_EXISTING")]
    trip_rows = [r for r in rows if r.classification == "TRIPWIRE"]

    items = []
    for row in doc_rows:
        text, target = _strip_target(row.item)
        target = target or _new_doc_path(_item_key(text))
        verb = "update" if row.classification == "UPDATE_EXISTING" else "new doc"
        items.append(f"**{row.priority}**{SEP}{verb}: {text} (target: {target})")
    insights = []
    for row in trip_rows:
        text, target = _strip_target(row.item)
        insights.append(f"**{row.priority}**{SEP}{text} (target: {target or TRIPWIRES_DOC})")

    context = [f"The work: “{title}”."]
    for path in sorted(inputs):
        if _basename(path) == OUTPUT_FILE[DIFF]:
            summary = [line for line in _lines(inputs[path], "Documentation Summary") if line.strip()]
            if summary:
                context.append(f"The diff: {summary[0].strip()}")
    analyses = sorted(_basename(p) for p in inputs if not _is_gaps(p))
    context.append("Built from the gap analysis" + (f" and {', '.join(analyses)}." if analyses else "."))
    priorities = Counter(r.priority for r in doc_rows)
    new = sum(1 for r in doc_rows if r.classification == "NEW_DOC")
    updates = len(doc_rows) - new
    summary = (
        f"{len(doc_rows)} documentation item{'s' if len(doc_rows) != 1 else ''} "
        f"({', '.join(f'{p} {priorities[p]}' for p in PRIORITIES)}): {new} new doc{'s' if new != 1 else ''}, "
        f"{updates} update{'s' if updates != 1 else ''} to existing docs; "
        f"{len(trip_rows)} tripwire insight{'s' if len(trip_rows) != 1 else ''}."
    )
    return _document(
        f"Documentation Plan: {title}",
        {
            "Context": "\n\n".join(context),
            "Summary": summary,
            "Documentation Items": items,
            "Tripwire Insights": insights,
        },
        PLAN,
    )


# --- tripwire extractor -------------------------------------------------------------------------------

_NOT_RELATIVE = re.compile(r"^(?:[/\\~]|[A-Za-z]:)|(?:^|[/\\])\.\.(?:[/\\]|$)")


def _candidate(text: str) -> dict[str, str]:
    text, target = _strip_target(_PRIORITY_MARK.sub("", text.strip()))
    action, sep, warning = text.partition(SEP)
    if not sep:
        action, sep, warning = text.partition(": ")
    action, warning = action.strip(), warning.strip()
    if not action or not warning:
        action = action or warning
        warning = "This went wrong during the work the learn plan comes from; check it before doing this."
    target = (target or TRIPWIRES_DOC).strip().removeprefix(DOCS_PREFIX)
    if not target or _NOT_RELATIVE.search(target):
        target = TRIPWIRES_DOC.removeprefix(DOCS_PREFIX)
    return {"action": action, "warning": warning, "target_doc_path": target}


def _analyse_tripwires(inputs: Mapping[str, str]) -> str:
    texts = [row.item for row in _gap_items(inputs) if row.classification == "TRIPWIRE"]
    for path in sorted(inputs):
        if not _is_gaps(path):
            texts += _bullets(_lines(inputs[path], "Tripwire Insights"))
    candidates: list[dict[str, str]] = []
    seen: set[str] = set()
    for text in texts:
        candidate = _candidate(text)
        key = normalize_action(candidate["action"])
        if key and key not in seen:
            seen.add(key)
            candidates.append(candidate)
    return canonical_json({"candidates": candidates})


# --- entry point --------------------------------------------------------------------------------------


def analyse(
    kind: str,
    *,
    title: str,
    hints: Sequence[str],
    inputs: Mapping[str, str],
    search: Callable[[str], str],
) -> str:
    """The whole output file of one learn agent of ``kind``, from its inputs (module docstring)."""
    title = title.strip()
    if kind == SESSION:
        return _analyse_session(title, inputs)
    if kind == DIFF:
        return _analyse_diff(title, inputs)
    if kind == DOCS:
        return _analyse_docs(title, hints, search)
    if kind == COMMENTS:
        return _analyse_comments(title, inputs)
    if kind == GAPS:
        return _analyse_gaps(title, inputs)
    if kind == PLAN:
        return _analyse_plan(title, inputs)
    if kind == TRIPWIRES:
        return _analyse_tripwires(inputs)
    raise ValueError(f"unknown learn agent kind: {kind}")
