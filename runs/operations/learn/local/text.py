"""The text helpers every analyser of learn's local executor shares: quoting, the file skeleton (title, NOTE,
every required heading), list items and the words that tie an item to a doc.
"""

import re
from collections.abc import Mapping, Sequence

from ..agents import HEADINGS
from ..markdown import section

NOTE = (
    "_Written by erkweb's local heuristic analyser, not a model: a baseline from simple rules, "
    "not ground truth._"
)
NONE_FOUND = "None found."
SEP = " — "  # between an item's action and its warning
TRIPWIRES_DOC = "docs/tripwires.md"
DOCS_PREFIX = "docs/"
CUT = 200  # characters of a quoted text


def cut(text: str, limit: int = CUT) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def code(text: str, limit: int = 120) -> str:
    """Inline code that stays inline code: one line, no backticks of its own."""
    return "`" + cut(text.replace("`", "'"), limit) + "`"


def document(title: str, sections: Mapping[str, Sequence[str] | str], kind: str) -> str:
    """A markdown file: the title, the note, then every required heading of ``kind`` with its text."""
    parts = [f"# {title}", "", NOTE, ""]
    for heading in HEADINGS[kind]:
        body = sections.get(heading) or NONE_FOUND
        if not isinstance(body, str):
            body = "\n".join(f"- {line}" for line in body)
        parts += [f"## {heading}", "", body.strip(), ""]
    return "\n".join(parts)


def section_lines(text: str, heading: str) -> list[str]:
    """The lines under a level-2 heading (markdown.section: code fences and the first of a repeat)."""
    body = section(text, heading)
    return body.split("\n") if body else []


BULLET = re.compile(r"^(?:[-*+]|[0-9]{1,9}[.)])[ \t]+(\S.*)$")


def bullets(lines: Sequence[str]) -> list[str]:
    """Top-level list items (not indented), without "None found."-style placeholders."""
    items = []
    for line in lines:
        match = BULLET.match(line)
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
STOP = frozenset(_STOP_WORDS.split())


def word_set(text: str) -> set[str]:
    return {w for w in re.split(r"[^a-z0-9]+", text.lower()) if len(w) >= 3 and w not in STOP}


def basename(path: str) -> str:
    return path.rsplit("/", 1)[-1]
