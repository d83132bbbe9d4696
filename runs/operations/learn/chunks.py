"""learn's session chunks (specs/learn.md, "Preprocessing"): a session's kept lines as XML elements, cut
into chunks.

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
- All text is XML-escaped (``&``, ``<``, ``>``, and ``"`` inside attributes); characters XML 1.0 does not
  allow (control characters such as ANSI escapes, lone surrogates) become U+FFFD, so every chunk parses.
- Chunks: ``<session id="<id>" part="<k>">``, a line break, the elements separated by line breaks, a line
  break and ``</session>`` with a final line break. The wrapper counts toward the limit. An element that
  does not fit in an empty chunk gets a chunk of its own, cut to fit and closed with the line
  ``[... element cut: it had N characters ...]`` before its closing tag (never inside an entity).
"""

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape

CHUNK_TOKENS = 20_000
CHARS_PER_TOKEN = 4
PARAM_CHARS = 200
RESULT_HEAD_LINES = 30
ERROR_WORDS = ("error", "exception", "failed", "traceback", "fatal")

KEPT_TYPES = ("user", "assistant")
CUT_MARK = "..."
FOOTER = "\n</session>\n"

# Outside XML 1.0's Char production: C0 controls but tab, LF, CR; lone surrogates; U+FFFE and U+FFFF.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_OPEN_TAG = re.compile(r"<([A-Za-z_]+)[^>]*>")


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


def _text(value: str) -> str:
    return escape(_NOT_XML.sub("\ufffd", value))


def _attr(value: str) -> str:
    return escape(_NOT_XML.sub("\ufffd", value), {'"': "&quot;"})


def _param(value: object) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    if len(text) > PARAM_CHARS:
        text = text[:PARAM_CHARS] + CUT_MARK
    return text.replace("\r\n", "\\n").replace("\n", "\\n").replace("\r", "\\n")


def _tool_use(block: dict[str, Any]) -> str:
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


def _tool_result(block: dict[str, Any]) -> str:
    # Outer line breaks are no lines of output: a result ending in "\n" has no empty last line.
    lines = _result_text(block.get("content")).strip("\n").split("\n")
    body = "\n".join(filter_result_lines(lines))
    return f"<tool_result>{_text(body)}</tool_result>"


def _blocks(content: object) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    if isinstance(content, list):
        return [block for block in content if isinstance(block, dict)]
    return []


def to_xml(records: Iterable[dict[str, Any]], session_id: str) -> tuple[list[str], XmlCounts]:
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
