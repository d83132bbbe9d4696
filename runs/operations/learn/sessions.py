"""learn's session preprocessing (specs/learn.md, "Preprocessing"): Claude Code logs into XML chunks.

Claude Code writes one JSON object per line; the lines that matter carry ``type`` ``user`` or
``assistant``, the ``sessionId`` and a ``message`` whose ``content`` is a string or a list of blocks
(``text``, ``thinking``, ``tool_use``, ``tool_result``...). Each kept line becomes zero or more elements,
in order, each one string of XML:

- ``<user>text</user>`` and ``<assistant>text</assistant>``: one per non-blank text block (or string
  content), stripped of surrounding white space.
- ``<tool_use name="Bash">command: ls -la\\ndescription: List files</tool_use>``: one line per input
  parameter, ``name: value``, in the order the log has them; a value that is not a string is written as
  JSON; each value is cut to its first PARAM_CHARS characters, followed by ``...`` when it was cut, and
  line breaks inside a value are written as the two characters ``\\n`` so that a parameter stays one line.
- ``<tool_result>...</tool_result>``: the text of the result (text blocks joined by line breaks), its
  first RESULT_HEAD_LINES lines, then only the later lines holding one of ERROR_WORDS (any case). Each
  run of dropped lines is replaced by one line ``[... N lines omitted ...]``.

Settled beyond the spec:

- ``thinking`` and ``redacted_thinking`` blocks are dropped, and so are blocks that hold no text (images,
  documents). A kept line may so produce no element; it still counts as kept.
- A session's id is its file's stem (Claude Code names the file ``<sessionId>.jsonl``). Lines without a
  ``sessionId``, or with another one (sub-agents and resumed sessions write the parent's id), are dropped.
- "User text" is any non-blank text in a kept ``user`` line; a user line carrying only ``tool_result``
  blocks has none. A session without user text is a warm-up: it is dropped, with no chunk.
- Lines are split on ``\\n`` only: JSON strings may hold U+2028 and other characters that
  ``str.splitlines`` would break on. Blank lines are skipped and not counted as read; undecodable bytes
  are replaced (Claude Code writes UTF-8, a damaged byte should not lose a whole session).
- All text is XML-escaped (``&``, ``<``, ``>``, and ``"`` inside attributes); characters XML 1.0 does not
  allow (control characters such as ANSI escapes, lone surrogates) become U+FFFD, so every chunk parses.
- Chunks: ``<session id="<id>" part="<k>">``, a line break, the elements separated by line breaks, a line
  break and ``</session>`` with a final line break. The wrapper counts toward the limit. An element that
  does not fit in an empty chunk gets a chunk of its own, cut to fit and closed with the line
  ``[... element cut: it had N characters ...]`` before its closing tag (never inside an entity).
- Figures per session: ``lines_read`` non-blank lines, ``lines_kept`` lines passing the type and id
  filter, ``chars_before`` characters of the file, ``chars_after`` characters of its chunks (0 for a
  warm-up).
"""

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

from runs.errors import InputError

CHUNK_TOKENS = 20_000
CHARS_PER_TOKEN = 4
PARAM_CHARS = 200
RESULT_HEAD_LINES = 30
ERROR_WORDS = ("error", "exception", "failed", "traceback", "fatal")

SESSION_SUFFIX = ".jsonl"
AGENT_PREFIX = "agent-"  # Claude Code's sub-agent logs, next to the main sessions
KEPT_TYPES = ("user", "assistant")
CUT_MARK = "..."
FOOTER = "\n</session>\n"

# Outside XML 1.0's Char production: C0 controls but tab, LF, CR; lone surrogates; U+FFFE and U+FFFF.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_OPEN_TAG = re.compile(r"<([A-Za-z_]+)[^>]*>")


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


@dataclass(frozen=True)
class Chunk:
    session_id: str
    part: int
    name: str  # session-<id>-part<k>.xml
    text: str


@dataclass(frozen=True)
class XmlCounts:
    """What to_xml found besides the elements: the lines it kept and how many user texts they held."""

    lines_kept: int
    user_texts: int


# --- finding the logs ---------------------------------------------------------------------------------


def default_sessions_dir(repo_root: Path, home: Path | None = None) -> Path:
    """``~/.claude/projects/<repo root>``, every ``/`` and ``.`` of the absolute path replaced by ``-``."""
    home = Path.home() if home is None else home
    # resolve: Claude Code names the folder after its working directory, which the OS reports resolved.
    absolute = str(Path(repo_root).resolve())
    return home / ".claude" / "projects" / absolute.replace("/", "-").replace(".", "-")


def _folder_sessions(folder: Path) -> list[Path]:
    return sorted(
        (
            path
            for path in folder.iterdir()
            if path.name.endswith(SESSION_SUFFIX)
            and not path.name.startswith(AGENT_PREFIX)
            and path.is_file()
        ),
        key=lambda path: path.name,
    )


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


def _parse_lines(text: str, path: Path) -> list[dict]:
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


def read_session(path: Path) -> list[dict]:
    """Every non-blank line of a session log as a dict; an input error names the first bad line."""
    return _parse_lines(_read_text(path), path)


def session_id_of(path: Path, records: Sequence[dict]) -> str:
    """The session's id: the file's stem, since Claude Code names each log ``<sessionId>.jsonl``.

    ``records`` are not consulted: a log holds lines of other sessions too (a resumed session repeats its
    parent's), so the lines cannot say which one the file is; the file name can.
    """
    return Path(path).name.removesuffix(SESSION_SUFFIX)


# --- XML ----------------------------------------------------------------------------------------------


def _text(value: str) -> str:
    return escape(_NOT_XML.sub("\ufffd", value))


def _attr(value: str) -> str:
    return escape(_NOT_XML.sub("\ufffd", value), {'"': "&quot;"})


def _param(value: object) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    if len(text) > PARAM_CHARS:
        text = text[:PARAM_CHARS] + CUT_MARK
    return text.replace("\r\n", "\\n").replace("\n", "\\n").replace("\r", "\\n")


def _tool_use(block: dict) -> str:
    name = block.get("name")
    params = block.get("input")
    if isinstance(params, dict):
        lines = [f"{key}: {_param(value)}" for key, value in params.items()]
    elif params is None:
        lines = []
    else:
        lines = [f"input: {_param(params)}"]
    return f'<tool_use name="{_attr(str(name or ""))}">{_text("\n".join(lines))}</tool_use>'


def _result_text(content: object) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(
            block["text"]
            for block in content
            if isinstance(block, dict) and block.get("type") == "text" and isinstance(block.get("text"), str)
        )
    return ""


def _omitted(count: int) -> str:
    return f"[... {count} line{'s' if count != 1 else ''} omitted ...]"


def filter_result_lines(lines: list[str]) -> list[str]:
    """The first RESULT_HEAD_LINES lines, then the later ones naming an error; a marker per dropped run."""
    kept = lines[:RESULT_HEAD_LINES]
    dropped = 0
    for line in lines[RESULT_HEAD_LINES:]:
        lowered = line.lower()
        if any(word in lowered for word in ERROR_WORDS):
            if dropped:
                kept.append(_omitted(dropped))
                dropped = 0
            kept.append(line)
        else:
            dropped += 1
    if dropped:
        kept.append(_omitted(dropped))
    return kept


def _tool_result(block: dict) -> str:
    # Outer line breaks are no lines of output: a result ending in "\n" has no empty last line.
    lines = _result_text(block.get("content")).strip("\n").split("\n")
    body = "\n".join(filter_result_lines(lines))
    return f"<tool_result>{_text(body)}</tool_result>"


def _blocks(content: object) -> list[dict]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    if isinstance(content, list):
        return [block for block in content if isinstance(block, dict)]
    return []


def to_xml(records: Iterable[dict], session_id: str) -> tuple[list[str], XmlCounts]:
    """The session's elements in order, and the counts of kept lines and user texts (module docstring)."""
    elements: list[str] = []
    kept = user_texts = 0
    for record in records:
        role = record.get("type")
        if role not in KEPT_TYPES or record.get("sessionId") != session_id:
            continue
        kept += 1
        message = record.get("message")
        if not isinstance(message, dict):
            continue
        for block in _blocks(message.get("content")):
            kind = block.get("type")
            if kind == "text" and isinstance(block.get("text"), str):
                text = block["text"].strip()
                if text:
                    elements.append(f"<{role}>{_text(text)}</{role}>")
                    user_texts += role == "user"
            elif kind == "tool_use":
                elements.append(_tool_use(block))
            elif kind == "tool_result":
                elements.append(_tool_result(block))
    return elements, XmlCounts(lines_kept=kept, user_texts=user_texts)


# --- chunks -------------------------------------------------------------------------------------------


def chunk_name(session_id: str, part: int) -> str:
    return f"session-{session_id}-part{part}.xml"


def _header(session_id: str, part: int) -> str:
    return f'<session id="{_attr(session_id)}" part="{part}">\n'


def _cut(element: str, budget: int) -> str:
    """``element`` cut to ``budget`` characters, its closing tag kept and a marker line before it."""
    opening = _OPEN_TAG.match(element)
    if opening is None:
        raise ValueError(f"not an element: {element[:40]!r}")
    close = f"</{opening.group(1)}>"
    marker = f"\n[... element cut: it had {len(element)} characters ...]"
    keep = budget - len(marker) - len(close)
    if keep < opening.end():
        raise ValueError(f"max_chars is too small to hold even the start of an element ({budget} left)")
    body = element[:keep]
    # Never end inside an entity (`&am`): the chunk must stay well-formed XML.
    amp = body.rfind("&")
    if amp >= opening.end() and body.rfind(";") < amp:
        body = body[:amp]
    return body + marker + close


def chunk_elements(
    elements: list[str], session_id: str, max_chars: int = CHUNK_TOKENS * CHARS_PER_TOKEN
) -> list[Chunk]:
    """Elements into chunks of at most ``max_chars`` characters, wrapper included, split between elements."""
    chunks: list[Chunk] = []
    current: list[str] = []
    size = 0  # characters of `current` joined

    def flush() -> None:
        nonlocal current, size
        part = len(chunks) + 1
        text = _header(session_id, part) + "\n".join(current) + FOOTER
        chunks.append(Chunk(session_id, part, chunk_name(session_id, part), text))
        current, size = [], 0

    for element in elements:
        if current:
            wrapper = len(_header(session_id, len(chunks) + 1)) + len(FOOTER)
            if wrapper + size + 1 + len(element) <= max_chars:
                current.append(element)
                size += 1 + len(element)
                continue
            flush()
        budget = max_chars - len(_header(session_id, len(chunks) + 1)) - len(FOOTER)
        if len(element) > budget:
            current, size = [_cut(element, budget)], budget
            flush()
        else:
            current, size = [element], len(element)
    if current:
        flush()
    return chunks


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
            )
        )
    if not chunks:
        names = ", ".join(str(path) for path in paths)
        raise InputError(f"no session has user text (all warm-ups): {names}", "sessions")
    return chunks, stats
