"""One line of an audit file's Findings or Collateral, read and written (specs/audit-doc.md).

A finding is ``- <STATUS> <kind> <subject>[: evidence]``. Settled here: the subject of an ``import``,
``symbol`` or ``path`` finding is one code span (text between single backticks), because verification
checks a path finding's subject against the repository and must know exactly where it ends; a
``claim``'s subject is plain text up to the first ``: ``, or a code span too. Evidence, when present,
follows ``: `` and is not blank.

A collateral finding is ``- [TAG] path[:line]: what is wrong``; the location may be in backticks.
Collateral is shown to the user and never applied, so its path is not checked.
"""

import re
from dataclasses import dataclass
from typing import Any

from .printable import printable as shown
from .verdict import KINDS, STATUSES

COLLATERAL_TAGS: dict[str, str] = {
    "SC": "stale comment",
    "SD": "stale docstring",
    "BX": "broken cross-reference",
    "CD": "contradicting doc",
    "OS": "obsolete system",
    "CF": "conceptual drift",
    "SF": "stale flow",
}
SPAN_KINDS = frozenset({"import", "symbol", "path"})

_FINDING = re.compile(
    r"- (?P<status>" + "|".join(STATUSES) + r") (?P<kind>" + "|".join(KINDS) + r") (?P<rest>.+)"
)
_COLLATERAL = re.compile(r"- \[(?P<tag>[A-Za-z]{2})\] (?P<rest>.+)")
_LINE_SUFFIX = re.compile(r"(?P<path>.+?):(?P<line>[0-9]{1,9})")


class LineError(ValueError):
    """A line that is not what its section holds; the message says what is wrong with it."""


@dataclass(frozen=True)
class Finding:
    status: str
    kind: str
    subject: str
    evidence: str = ""

    def line(self) -> str:
        """The line as written; ValueError when the subject could not be read back as it is."""
        if self.subject != one_line(self.subject) or not self.subject:
            raise ValueError(f"a finding's subject is one non-blank line, not {self.subject!r}")
        spanned = self.kind in SPAN_KINDS or ": " in self.subject or self.subject.startswith("`")
        if spanned and "`" in self.subject:
            raise ValueError(f"a subject in backticks cannot hold a backtick: {self.subject!r}")
        subject = f"`{self.subject}`" if spanned else self.subject
        text = f"- {self.status} {self.kind} {subject}"
        return f"{text}: {one_line(self.evidence)}" if self.evidence.strip() else text

    def data(self) -> dict[str, Any]:
        return {"status": self.status, "kind": self.kind, "subject": self.subject, "evidence": self.evidence}


@dataclass(frozen=True)
class Collateral:
    tag: str
    path: str
    line_number: int | None
    text: str

    def line(self) -> str:
        if not self.path or self.path != one_line(self.path) or ": " in self.path or "`" in self.path:
            raise ValueError(f"a collateral path is one line without ': ' or backticks: {self.path!r}")
        where = self.path if self.line_number is None else f"{self.path}:{self.line_number}"
        return f"- [{self.tag}] {where}: {one_line(self.text)}"

    def data(self) -> dict[str, Any]:
        return {"tag": self.tag, "path": self.path, "line": self.line_number, "text": self.text}


def one_line(text: str) -> str:
    """``text`` as one line of the file: each line break becomes a space, the ends are stripped, and
    nothing else changes (a subject's own spacing is kept, so it reads back as it was)."""
    return " ".join(text.splitlines()).strip()


def _span(rest: str) -> tuple[str, str]:
    """(the code span's text, what follows it) for ``rest`` that starts with a backtick."""
    closing = rest.find("`", 1)
    if closing == -1:
        raise LineError("its subject's backtick is never closed")
    subject = rest[1:closing]
    if not subject.strip():
        raise LineError("its subject is empty")
    return subject, rest[closing + 1 :]


def _evidence(tail: str) -> str:
    if not tail:
        return ""
    if not tail.startswith(": ") or not tail[2:].strip():
        raise LineError('after the subject comes nothing, or ": " and the evidence')
    return tail[2:].strip()


def parse_finding(line: str) -> Finding:
    match = _FINDING.fullmatch(line)
    if not match:
        raise LineError(f'is not "- STATUS kind subject[: evidence]": {shown(line)}')
    status, kind, rest = match["status"], match["kind"], match["rest"]
    if rest.startswith("`"):
        subject, tail = _span(rest)
        return Finding(status, kind, subject, _evidence(tail))
    if kind in SPAN_KINDS:
        raise LineError(f"the subject of a {kind} finding must be in backticks: {shown(line)}")
    subject, _sep, evidence = rest.partition(": ")
    if not subject.strip():
        raise LineError("its subject is empty")
    if _sep and not evidence.strip():
        raise LineError('after the subject comes nothing, or ": " and the evidence')
    return Finding(status, kind, subject.strip(), evidence.strip())


def parse_collateral(line: str) -> Collateral:
    match = _COLLATERAL.fullmatch(line)
    if not match:
        raise LineError(f'is not "- [TAG] path[:line]: what is wrong": {shown(line)}')
    tag, rest = match["tag"], match["rest"]
    if tag not in COLLATERAL_TAGS:
        raise LineError(f"[{shown(tag)}] is not a collateral tag ({', '.join(COLLATERAL_TAGS)})")
    if rest.startswith("`"):
        where, tail = _span(rest)
        suffix = re.match(r":([0-9]{1,9})", tail)
        if suffix:
            where, tail = f"{where}:{suffix[1]}", tail[suffix.end() :]
        if not tail.startswith(": "):
            raise LineError(f'is not "- [TAG] path[:line]: what is wrong": {shown(line)}')
        text = tail[2:]
    else:
        where, sep, text = rest.partition(": ")
        if not sep:
            raise LineError(f'is not "- [TAG] path[:line]: what is wrong": {shown(line)}')
    located = _LINE_SUFFIX.fullmatch(where)
    path, number = (located["path"], int(located["line"])) if located else (where, None)
    if not path.strip():
        raise LineError("names no path")
    return Collateral(tag, path.strip(), number, text.strip())
