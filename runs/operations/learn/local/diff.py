"""learn's local diff-analyzer: it reads ``diff.patch`` (files added/modified/deleted/renamed from ``diff
--git``, ``new file mode``, ``deleted file mode``, ``rename to``; added/removed lines; definitions from
added lines ``def``/``async def``/``class``/``function``) and ``log.txt`` (commit subjects, git.py's
format or one line per commit). One recommended item per added command (a file under a ``commands``
folder) or module (a source file that is not a test, ``__init__.py`` or a migration).
"""

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from ..agents import DIFF, DIFF_FILE, LOG_FILE
from .text import SEP, basename, code, cut, document

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


def analyse_diff(title: str, inputs: Mapping[str, str]) -> str:
    diff = "\n".join(text for path, text in sorted(inputs.items()) if basename(path) == DIFF_FILE)
    log = "\n".join(text for path, text in sorted(inputs.items()) if basename(path) == LOG_FILE)
    files = parse_diff(diff)
    subjects = commit_subjects(log)

    inventory = []
    for change in sorted(files, key=lambda c: c.path):
        line = f"{change.status} {code(change.path, 160)} (+{change.added}/-{change.removed})"
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
        summary += ["", f"Commits ({len(subjects)}):"] + [f"- {cut(s, 160)}" for s in subjects[:20]]
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
                f"{code(change.path, 160)}{SEP}new command `{name}`: document what it does, its options "
                f"and an example{defines}."
            )
        elif change.module:
            items.append(
                f"{code(change.path, 160)}{SEP}new module: document what it is for and how to use it"
                f"{defines}."
            )
    return document(
        f"Diff Analysis: {title}",
        {
            "Inventory": inventory,
            "Documentation Summary": "\n".join(summary),
            "Recommended Documentation Items": items,
        },
        DIFF,
    )
