"""learn's session preprocessing (specs/learn.md, "Preprocessing"): Claude Code logs into XML chunks.

This module finds the logs, reads them, and keeps or drops each session; chunks.py writes the XML.

Settled beyond the spec:

- A session's id is its file's stem (Claude Code names the file ``<sessionId>.jsonl``). Lines without a
  ``sessionId``, or with another one (sub-agents and resumed sessions write the parent's id), are dropped.
- A renamed log (``session-<sessionId>.jsonl``, say) is read as the session its lines name: when no
  ``user`` or ``assistant`` line carries the stem and all that carry an id carry one and the same, that
  id is the session's, and its figures say so in ``note``. Only an id that can name a chunk file is
  taken (letters, digits, ``.``, ``_``, ``-``; a UUID is one), since the id comes from the file's text.
- Every session left out says why in ``dropped``; when none is left, the error names each file and why.
- "User text" is any non-blank text in a kept ``user`` line; a user line carrying only ``tool_result``
  blocks has none. A session without user text is a warm-up: it is dropped, with no chunk.
- Lines are split on ``\\n`` only: JSON strings may hold U+2028 and other characters that
  ``str.splitlines`` would break on. Blank lines are skipped and not counted as read; undecodable bytes
  are replaced (Claude Code writes UTF-8, a damaged byte should not lose a whole session).
- Figures per session: ``lines_read`` non-blank lines, ``lines_kept`` lines passing the type and id
  filter, ``chars_before`` characters of the file, ``chars_after`` characters of its chunks (0 for a
  warm-up), and the ``note`` and ``dropped`` texts (empty when there is nothing to say).
"""

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runs.errors import InputError
from runs.gather_bounds import GatherBounds

from .chunks import KEPT_TYPES, Chunk, chunk_elements, to_xml

SESSION_SUFFIX = ".jsonl"
AGENT_PREFIX = "agent-"  # Claude Code's sub-agent logs, next to the main sessions
_SESSION_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")


@dataclass(frozen=True)
class SessionStats:
    session_id: str
    path: str
    lines_read: int
    lines_kept: int
    chars_before: int
    chars_after: int
    chunks: int
    warmup: bool
    note: str = ""  # how the session was read, when that is not the plain way (a renamed file)
    dropped: str = ""  # why the session has no chunk, when it has none


# --- finding the logs ---------------------------------------------------------------------------------


def default_sessions_dir(repo_root: Path, home: Path | None = None) -> Path:
    """``~/.claude/projects/<repo root>``, every ``/`` and ``.`` of the absolute path replaced by ``-``."""
    home = Path.home() if home is None else home
    # resolve: Claude Code names the folder after its working directory, which the OS reports resolved.
    absolute = str(Path(repo_root).resolve())
    return home / ".claude" / "projects" / absolute.replace("/", "-").replace(".", "-")


def _folder_sessions(folder: Path) -> list[Path]:
    # Bounded like audit-scan's gather: a folder of a million entries typed by mistake gets a message.
    bounds = GatherBounds(folder, "sessions", pick="the folder of the session logs itself")
    found = []
    for path in folder.iterdir():
        bounds.see()
        if path.name.endswith(SESSION_SUFFIX) and not path.name.startswith(AGENT_PREFIX) and path.is_file():
            found.append(path)
    return sorted(found, key=lambda path: path.name)


def discover_sessions(paths: Sequence[Path] | None, repo_root: Path, home: Path | None = None) -> list[Path]:
    """The session files to read: given files as they are, given folders' main ``*.jsonl`` files sorted.

    No paths means Claude Code's folder for the repo (default_sessions_dir). A file given twice (say
    alone and through its folder) is read once, where it first appears. A missing path, a file that is
    not ``.jsonl``, and a folder without a session file are input errors.
    """
    if not paths:
        folder = default_sessions_dir(repo_root, home)
        if not folder.is_dir():
            raise InputError(f"no session file found in {folder} (the folder does not exist)", "sessions")
        given: Iterable[Path] = [folder]
    else:
        given = [Path(path) for path in paths]
    found: list[Path] = []
    seen: set[Path] = set()
    for path in given:
        if path.is_dir():
            try:
                files = _folder_sessions(path)
            except OSError as exc:
                raise InputError(f"cannot list {path}: {exc.strerror}", "sessions") from exc
            if not files:
                raise InputError(f"no session file found in {path}", "sessions")
        elif path.exists():
            if not path.name.endswith(SESSION_SUFFIX):
                raise InputError(f"{path} is not a session log: its name must end in .jsonl", "sessions")
            files = [path]
        else:
            raise InputError(f"session path does not exist: {path}", "sessions")
        for file in files:
            key = file.resolve()
            if key not in seen:
                seen.add(key)
                found.append(file)
    return found


# --- reading a log ------------------------------------------------------------------------------------


def _read_text(path: Path) -> str:
    try:
        return Path(path).read_bytes().decode("utf-8", errors="replace")
    except OSError as exc:
        raise InputError(f"cannot read session file {path}: {exc.strerror}", "sessions") from exc


def _parse_lines(text: str, path: Path) -> list[dict[str, Any]]:
    records = []
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError as exc:
            raise InputError(
                f"{path} is not JSON lines: line {number} is not valid JSON ({exc})", "sessions"
            ) from exc
        if not isinstance(record, dict):
            raise InputError(f"{path} is not JSON lines: line {number} is not a JSON object", "sessions")
        records.append(record)
    return records


def read_session(path: Path) -> list[dict[str, Any]]:
    """Every non-blank line of a session log as a dict; an input error names the first bad line."""
    return _parse_lines(_read_text(path), path)


def _line_ids(records: Sequence[dict[str, Any]]) -> list[str]:
    """The session ids the user and assistant lines carry, in order of first appearance."""
    ids = (r.get("sessionId") for r in records if r.get("type") in KEPT_TYPES)
    return list(dict.fromkeys(i for i in ids if isinstance(i, str) and i))


def session_id_of(path: Path, records: Sequence[dict[str, Any]]) -> str:
    """The session's id: the file's stem, since Claude Code names each log ``<sessionId>.jsonl``.

    A log holds lines of other sessions too (a resumed session repeats its parent's), so while any line
    carries the stem, the file name says which session the file is. A renamed file's lines do not carry
    its stem: when they all carry one id, that is the session (module docstring).
    """
    stem = Path(path).name.removesuffix(SESSION_SUFFIX)
    ids = _line_ids(records)
    if stem not in ids and len(ids) == 1 and _SESSION_ID.fullmatch(ids[0]):
        return ids[0]
    return stem


def _dropped(records: Sequence[dict[str, Any]], session_id: str, lines_kept: int) -> str:
    if lines_kept:
        return "no user text: a warm-up"
    ids = _line_ids(records)
    if not ids:
        return "no user or assistant line with a session id"
    shown = ", ".join(ids[:3]) + (f" and {len(ids) - 3} more" if len(ids) > 3 else "")
    return f"no line of session {session_id} (its lines are of {shown})"


# --- all sessions -------------------------------------------------------------------------------------


def preprocess(paths: Sequence[Path]) -> tuple[list[Chunk], list[SessionStats]]:
    """Every session file into chunks, with its figures; warm-ups are dropped, with their figures kept."""
    if not paths:
        raise InputError("no session file given", "sessions")
    chunks: list[Chunk] = []
    stats: list[SessionStats] = []
    owners: dict[str, Path] = {}
    for path in paths:
        text = _read_text(path)
        records = _parse_lines(text, path)
        session_id = session_id_of(path, records)
        if session_id in owners:
            # Chunk files are named by session id: two logs with one id would overwrite each other.
            raise InputError(
                f"{owners[session_id]} and {path} hold the same session id {session_id}", "sessions"
            )
        owners[session_id] = path
        elements, counts = to_xml(records, session_id)
        warmup = counts.user_texts == 0
        own = [] if warmup else chunk_elements(elements, session_id)
        chunks.extend(own)
        stem = Path(path).name.removesuffix(SESSION_SUFFIX)
        stats.append(
            SessionStats(
                session_id=session_id,
                path=str(path),
                lines_read=len(records),
                lines_kept=counts.lines_kept,
                chars_before=len(text),
                chars_after=sum(len(chunk.text) for chunk in own),
                chunks=len(own),
                warmup=warmup,
                note=f"renamed: {Path(path).name} holds session {session_id}" if session_id != stem else "",
                dropped=_dropped(records, session_id, counts.lines_kept) if warmup else "",
            )
        )
    if not chunks:
        reasons = "; ".join(f"{s.path}: {s.dropped}" for s in stats)
        raise InputError(f"no session is left to analyse: {reasons}", "sessions")
    return chunks, stats
