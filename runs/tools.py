"""The agent's tools, each confined to its root.

Agent output is untrusted: a path argument is whatever the model wrote. Every path is resolved (which
follows symlinks) and must land inside its root; ``..``, absolute paths and symlinks that leave the root
get a tool error, never a file. The write tool accepts exactly one path, the batch's output file, and
refuses to write through a symlink placed there.

A tool never raises anything but ToolError: whatever it meets on the disk (a file it may not read, a
folder where a file was expected, a path or text that is not UTF-8) goes back to the agent as an error
result, so one odd file costs the agent a turn, never the batch. Every result carries text: an empty
result is refused by the API as an error result and read by an agent as "no answer".
"""

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import paths
from .paths import is_utf8 as is_utf8
from .paths import shown as shown

# The same bound as gather uses for docs: a bigger file is read from its first MiB.
MAX_READ_BYTES = 1024 * 1024
# What read_file returns for an empty file (the simulator's players know this text too).
EMPTY_FILE_RESULT = "(empty file: 0 bytes)"


class ToolError(Exception):
    """A tool call that did not work; its message goes back to the agent as an error result."""


class ToolFailed(ToolError):
    """A well-formed call that met an error on the disk (permissions, a folder, an encoding...)."""


def confine(root: Path, rel: object) -> Path:
    """Resolve ``rel`` under ``root``; refuse anything that ends up outside it."""
    try:
        return paths.confine(root, rel)
    except paths.PathRefused as exc:
        raise ToolError(str(exc)) from None


TOOL_SCHEMAS = [
    {
        "name": "read_file",
        "description": "Read a text file; the path is relative to the read root (audit-scan: the docs root).",
        "input_schema": {
            "type": "object",
            "properties": {"path": {"type": "string", "description": "relative path of the file"}},
            "required": ["path"],
        },
    },
    {
        "name": "path_exists",
        "description": "'true' if a file or folder exists at this path under the repo root, else 'false'",
        "input_schema": {
            "type": "object",
            "properties": {"path": {"type": "string", "description": "path relative to the repo root"}},
            "required": ["path"],
        },
    },
    {
        "name": "write_file",
        "description": "Write your output file: only the batch's output path (absolute, as given).",
        "input_schema": {
            "type": "object",
            "properties": {
                "path": {"type": "string", "description": "the output file's absolute path"},
                "content": {"type": "string", "description": "the whole text to write"},
                "append": {"type": "boolean", "description": "append instead of replacing", "default": False},
            },
            "required": ["path", "content"],
        },
    },
]


SEARCH_DOCS_SCHEMA = {
    "name": "search_docs",
    "description": "Case-insensitive substring search over the existing docs; one match per line as "
    "docs/<path>:<line>: <text>, or 'no matches'.",
    "input_schema": {
        "type": "object",
        "properties": {"query": {"type": "string", "description": "text to look for"}},
        "required": ["query"],
    },
}
DOCS_PREFIX = "docs/"
MAX_SEARCH_MATCHES = 100


@dataclass
class Toolbox:
    """The tools of one batch. ``read_root`` is where read_file looks; with ``docs_root`` set, paths under
    ``docs/`` read the existing docs instead and ``search_docs`` searches them."""

    read_root: Path
    repo_root: Path
    output_path: Path
    docs_root: Path | None = None
    writes: int = 0

    @property
    def schemas(self) -> list[dict[str, Any]]:
        return [*TOOL_SCHEMAS, SEARCH_DOCS_SCHEMA] if self.docs_root else list(TOOL_SCHEMAS)

    def call(self, name: str, args: object) -> str:
        """Run one tool call and return its (never empty) text; raises ToolError, and only ToolError, for
        a refused or malformed call or one that met an error."""
        try:
            text = self._call(name, args)
        except ToolError:
            raise
        except Exception as exc:  # whatever a tool meets goes back to the agent
            what = shown(name)
            if isinstance(args, dict) and isinstance(args.get("path"), str):
                what += f" {shown(args['path'])}"
            reason = (exc.strerror if isinstance(exc, OSError) else None) or shown(str(exc))
            raise ToolFailed(f"{what}: {reason} ({type(exc).__name__})") from None
        return text or "(no output)"

    def _call(self, name: str, args: object) -> str:
        if not isinstance(args, dict):
            raise ToolError("tool input must be an object")
        if name == "read_file":
            return self.read_file(args.get("path"))
        if name == "path_exists":
            return self.path_exists(args.get("path"))
        if name == "write_file":
            return self.write_file(args.get("path"), args.get("content"), bool(args.get("append", False)))
        if name == "search_docs" and self.docs_root:
            return self.search_docs(args.get("query"))
        raise ToolError(f"unknown tool: {shown(name)}")

    def read_file(self, rel: object) -> str:
        if self.docs_root and isinstance(rel, str) and rel.startswith(DOCS_PREFIX):
            path = confine(self.docs_root, rel[len(DOCS_PREFIX) :])
        else:
            path = confine(self.read_root, rel)
        if path.is_dir():
            raise ToolError(f"{shown(rel)} is a folder, not a file")
        if not path.is_file():
            if path.exists():  # a socket, a FIFO (whose open would block the batch), a device
                raise ToolError(f"{shown(rel)} is not a regular file")
            raise ToolError(f"no such file: {shown(rel)}")
        with path.open("rb") as fh:
            data = fh.read(MAX_READ_BYTES)
        if not data:
            return EMPTY_FILE_RESULT
        return data.decode("utf-8", errors="replace")

    def search_docs(self, query: object) -> str:
        if not isinstance(query, str) or not query.strip():
            raise ToolError("query must be a non-empty string")
        needle = query.strip().lower()
        if self.docs_root is None:
            raise ToolError("unknown tool: search_docs")
        root = self.docs_root.resolve()
        matches = []
        for path in sorted(root.rglob("*.md")):
            # rglob follows no symlinked folders, but a symlinked file could still point outside.
            if not paths.inside(root, path) or not path.is_file():
                continue
            text = path.read_bytes()[:MAX_READ_BYTES].decode("utf-8", errors="replace")
            for number, line in enumerate(text.splitlines(), start=1):
                if needle in line.lower():
                    rel = path.relative_to(root).as_posix()
                    matches.append(f"{DOCS_PREFIX}{rel}:{number}: {line.strip()[:200]}")
                    if len(matches) >= MAX_SEARCH_MATCHES:
                        return "\n".join([*matches, f"(stopped at {MAX_SEARCH_MATCHES} matches)"])
        return "\n".join(matches) if matches else "no matches"

    def path_exists(self, rel: object) -> str:
        path = confine(self.repo_root, rel)
        return "true" if path.exists() else "false"

    def write_file(self, path: object, content: object, append: bool) -> str:
        if not isinstance(path, str) or not isinstance(content, str):
            raise ToolError("write_file needs a string path and a string content")
        if not is_utf8(content):
            raise ToolError("write_file content is not valid UTF-8 text (it holds a lone surrogate)")
        target = self.output_path
        if os.path.normpath(path) != str(target):
            raise ToolError(f"write_file may only write {target}, not {shown(path)}")
        # O_NOFOLLOW: a symlink planted at the output path must not redirect the write elsewhere.
        flags = os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | (os.O_APPEND if append else os.O_TRUNC)
        try:
            fd = os.open(target, flags, 0o644)
        except OSError as exc:
            raise ToolFailed(f"cannot write {target}: {exc.strerror}") from None
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(content)
        self.writes += 1
        return f"wrote {len(content)} characters to {target}"


def reader(read_root: Path, repo_root: Path | None = None) -> Callable[[str], str]:
    """``text(rel)``: what read_file gives an agent for ``rel`` under ``read_root`` (an error result's text
    for a file it cannot read): the estimate counts the tokens agents will be sent."""
    box = Toolbox(
        read_root=Path(read_root), repo_root=Path(repo_root or read_root), output_path=Path(os.devnull)
    )

    def text(rel: str) -> str:
        try:
            return box.call("read_file", {"path": rel})
        except ToolError as exc:
            return f"error: {exc}"

    return text
