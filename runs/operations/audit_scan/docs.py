"""Reading one doc: its text, its frontmatter and its body (specs/audit-scan.md, Phase 1).

Every executor must see the same doc, so the rules that the spec leaves open are settled here once:

- A first line of exactly ``---`` with no closing ``---`` line is not a frontmatter block: the doc has no
  frontmatter and its body is every line.
- YAML that fails to parse or is not a mapping (an empty block included) counts as no frontmatter, and
  then the body is every line too: the ``---`` lines were not a frontmatter block after all.
- Timestamps are not converted: ``last_audited: 2026-02-16`` stays the string as written, so the batch
  file shows what the author wrote and the date rule reads its first 10 characters.
"""

import json
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import yaml

# A bigger file is scanned from its first MiB: the agent's read tool returns no more than that either.
MAX_DOC_BYTES = 1024 * 1024

AUTO_GENERATED_MARK = "<!-- AUTO-GENERATED"

_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


class _FrontmatterLoader(yaml.SafeLoader):
    """SafeLoader without the timestamp resolver, so dates stay the strings the author wrote."""


# A copy per first character: editing SafeLoader's own table would change every other YAML user.
_FrontmatterLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


@dataclass(frozen=True)
class Doc:
    text: str
    frontmatter: dict[str, Any] | None
    body: list[str]  # the lines after the frontmatter block; all lines when there is none


def read_text(path: Path) -> tuple[str, bool]:
    """The doc's first MAX_DOC_BYTES bytes as text (bad UTF-8 replaced), and whether it was cut."""
    with open(path, "rb") as fh:
        data = fh.read(MAX_DOC_BYTES + 1)
    truncated = len(data) > MAX_DOC_BYTES
    return data[:MAX_DOC_BYTES].decode("utf-8", errors="replace"), truncated


def parse_doc(text: str) -> Doc:
    # splitlines, because the `lines` signal counts with it: body and line count must agree.
    lines = text.splitlines()
    if not lines or lines[0] != "---":
        return Doc(text=text, frontmatter=None, body=lines)
    try:
        closing = lines.index("---", 1)
    except ValueError:
        return Doc(text=text, frontmatter=None, body=lines)
    try:
        data = yaml.load("\n".join(lines[1:closing]), Loader=_FrontmatterLoader)
    except (yaml.YAMLError, ValueError, TypeError, RecursionError):
        # ValueError/TypeError: explicit tags such as `!!int x` fail in the constructor, not the parser.
        data = None
    if not isinstance(data, dict):
        return Doc(text=text, frontmatter=None, body=lines)
    return Doc(text=text, frontmatter=data, body=lines[closing + 1 :])


def is_auto_generated(doc: Doc) -> bool:
    """After the frontmatter and any blank lines, the first line starts with the generator's mark."""
    for line in doc.body:
        if line.strip():
            return line.startswith(AUTO_GENERATED_MARK)
    return False


def frontmatter_value(doc: Doc, key: str) -> str:
    """The value as one line of text for the batch file: ``none`` when absent or null.

    An empty string is shown as ``""``: a bare ``key:`` line would not be ``key: value``, and calling it
    ``none`` would score it as never audited when the author did write the key.
    """
    if doc.frontmatter is None or doc.frontmatter.get(key) is None:
        return "none"
    value = doc.frontmatter[key]
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, (list, dict)):
        try:
            text = json.dumps(value, ensure_ascii=False, default=str)
        except (TypeError, ValueError):  # keys JSON cannot hold, or a self-referencing YAML anchor
            text = str(value)
    else:
        text = str(value)
    # str.split() also splits on every character that splitlines() breaks lines at, so the value stays
    # on its one line of the batch file.
    text = " ".join(text.split())
    return text or '""'


def parse_audit_date(value: str) -> date | None:
    """The date in the first 10 characters (``YYYY-MM-DD``, ASCII digits), or None when they are not one.

    Stricter than date.fromisoformat, which also takes ``20260216`` and week dates.
    """
    head = value[:10]
    if not _DATE.fullmatch(head):
        return None
    try:
        return date(int(head[:4]), int(head[5:7]), int(head[8:10]))
    except ValueError:
        return None
