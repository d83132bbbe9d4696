"""Documentation items as learn's later analysers read them: an item's key (the path it names), its target
doc, its priority rank, and the rows of a gap analysis among a batch's inputs.
"""

import re
from collections.abc import Mapping
from pathlib import PurePosixPath

from ..agents import GAPS, OUTPUT_FILE, PRIORITIES
from ..parsers import GapItem, parse_gap_items
from .text import DOCS_PREFIX, STOP, basename

_BACKTICKED = re.compile(r"`([^`]+)`")
_TARGET = re.compile(r"\s*\(target: `?([^)`]+)`?\)\s*$")
PRIORITY_MARK = re.compile(r"^\*\*(HIGH|MEDIUM|LOW)\*\*\s*(?:—|-|:)?\s*")
RANK = {p: i for i, p in enumerate(PRIORITIES)}


def item_key(text: str) -> str:
    """The path an item names (its first backticked token that looks like one), else its words."""
    code = _BACKTICKED.search(text)
    if code and ("/" in code[1] or "." in code[1]) and " " not in code[1].strip():
        return re.sub(r":[0-9]+$", "", code[1].strip()).removeprefix("./")
    return " ".join(re.findall(r"[a-z0-9]+", text.lower()))


def new_doc_path(key: str) -> str:
    """A proposed doc for an item: ``docs/<folder>-<stem>.md`` for a path, else from its words."""
    if "/" in key or "." in key:
        path = PurePosixPath(key)
        parent = path.parent.name if path.parent.name not in ("", ".", "src", "lib") else ""
        parts = [parent, path.stem] if parent and parent != path.stem else [path.stem]
    else:
        parts = [w for w in key.split() if len(w) >= 3 and w not in STOP][:5]
    slug = "-".join(filter(None, (re.sub(r"[^a-z0-9]+", "-", part.lower()).strip("-") for part in parts)))
    return f"{DOCS_PREFIX}{slug or 'notes'}.md"


def strip_target(text: str) -> tuple[str, str | None]:
    match = _TARGET.search(text)
    return (text[: match.start()].rstrip(), match[1].strip()) if match else (text.rstrip(), None)


def is_gaps(path: str) -> bool:
    return basename(path) == OUTPUT_FILE[GAPS]


def gap_items(inputs: Mapping[str, str]) -> list[GapItem]:
    return [item for path in sorted(inputs) if is_gaps(path) for item in parse_gap_items(inputs[path])]
