"""learn's local session-analyzer: it reads the chunk's elements (sessions.py: ``<user>``, ``<assistant>``,
``<tool_use name="...">`` holding ``key: value`` lines, ``<tool_result>``). A tool_result answers the
oldest tool_use not yet answered. Its *error line* is its first line holding ``error``, ``exception``,
``failed``, ``traceback`` or ``fatal`` (any case) once phrases such as "0 errors" or "no failures" are
removed; a ``Traceback (most recent call last):`` header gives way to a later error line. For tools whose
result is content (Read, Grep, Glob...: CONTENT_TOOLS) only a line holding Claude Code's
``tool_use_error`` wrapper or starting with ``Error`` counts, since the content may say anything. Errors
are grouped by tool name and error line (from the word holding the first error word, digits ignored, any
case); a group is resolved when a later result of the same tool has no error line, and a group seen 2+
times is a tripwire candidate. A user correction is a ``<user>`` text holding ``no,``, ``don't``, ``do
not``, ``instead``, ``wrong`` or ``actually`` as words (any case). Patterns are the tools by number of
calls; documentation opportunities are the files named by the ``file_path``/``notebook_path``/``path`` of
Edit, MultiEdit, Write and NotebookEdit calls.
"""

import html
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass

from ..agents import SESSION
from .text import SEP, basename, code, cut, document

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
    return cut(re.sub(r"[0-9]+", "N", line[start:]).lower(), 160)


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


def analyse_session(title: str, inputs: Mapping[str, str]) -> str:
    calls: list[_Call] = []
    users: list[str] = []
    names = []
    for path in sorted(inputs):
        found_calls, found_users = _session_elements(inputs[path])
        calls += found_calls
        users += found_users
        names.append(basename(path).removesuffix(".xml"))

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
        what = f"`{group.tool}` ({code(group.first.subject, 80)}) failed {times} with {code(group.line)}"
        if group.fix is not None:
            errors.append(
                f"{what}; resolved: a later `{group.tool}` call ({code(group.fix.subject, 80)}) succeeded."
            )
            advice = f"what worked was {code(group.fix.subject, 80)}."
        else:
            errors.append(f"{what}; not resolved in this chunk.")
            advice = "it was not resolved in the session: find the cause before retrying."
        if group.count >= 2:
            tripwires.append(
                f"Using `{group.tool}` for {code(group.first.subject, 80)}{SEP}It failed {group.count} "
                f"times with {code(group.line)}; {advice}"
            )

    corrections = []
    for text in users:
        match = _CORRECTION.search(text)
        if match and (item := f"“{cut(text)}” (matched “{match[0].lower()}”)") not in corrections:
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
            found = (
                call.params.get("file_path") or call.params.get("notebook_path") or call.params.get("path")
            )
            if found:
                path = found
                touched[path] += 1
                touched_by.setdefault(path, set()).add(call.tool)
    opportunities = [
        f"{code(path, 160)}{SEP}changed by {count} {'/'.join(sorted(touched_by[path]))} "
        f"call{'s' if count != 1 else ''}; check that its docs say what changed and why."
        for path, count in sorted(touched.items())
    ]
    return document(
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
