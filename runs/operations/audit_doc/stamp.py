"""The frontmatter stamp an applied audit leaves: ``last_audited`` and ``audit_result`` (specs/audit-doc.md,
"Applying").

The frontmatter is edited as text, never re-dumped: a YAML dump would reorder keys, restyle quotes and
drop comments, and the doc is the user's. Only the two keys' own lines (with the lines that continue
their values) are replaced, or added at the end of the block; every other line stays byte for byte.
The result is read back with audit-scan's reader and must hold exactly the old keys with the old values
plus the two new ones; a frontmatter whose layout this cannot edit safely (a flow mapping, an indented
block) is refused rather than guessed at.
"""

import math
import re
from datetime import datetime
from zoneinfo import ZoneInfo

from runs.operations.audit_scan.docs import parse_doc

PACIFIC = ZoneInfo("America/Los_Angeles")
EDITED = "edited"
CLEAN = "clean"
STAMPED_KEYS = ("last_audited", "audit_result")

_KEY_LINE = re.compile(r"""(?P<quote>["']?)(?P<key>last_audited|audit_result)(?P=quote)[ \t]*:(?:[ \t]|$)""")


class StampError(ValueError):
    """A frontmatter that cannot be stamped without rewriting it."""


def stamp_time(now: datetime) -> str:
    """``YYYY-MM-DD HH:MM PT``: ``now`` in US Pacific time (PST or PDT, as the date has it), to the minute."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("the time of applying must be timezone-aware")
    return now.astimezone(PACIFIC).strftime("%Y-%m-%d %H:%M") + " PT"


def _same(a: object, b: object) -> bool:
    # NaN is not equal to itself; the same text read twice still means the same value.
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return bool(a == b)


def readable(text: str) -> str:
    """The text as audit-scan reads the same bytes (bad UTF-8 as U+FFFD): ``text`` may carry the bytes
    that were not UTF-8 as surrogate escapes, so that writing it back keeps them. Line breaks are the
    same in both, so line numbers agree."""
    try:
        return text.encode("utf-8", errors="surrogateescape").decode("utf-8", errors="replace")
    except UnicodeEncodeError:  # a surrogate that escapes no byte
        return text.encode("utf-8", errors="surrogatepass").decode("utf-8", errors="replace")


def _continues(line: str) -> bool:
    """Whether a frontmatter line belongs to the value of the key above it: indented, a block sequence
    entry at column 0, or blank (trailing blank lines are given back to the block)."""
    return not line.strip() or line[0] in " \t" or line.startswith("-")


def _ending(line: str) -> str:
    return line[len(line.rstrip("\r\n")) :] or "\n"


def _replace(block: list[str], values: dict[str, str], newline: str) -> list[str]:
    out: list[str] = []
    placed: set[str] = set()
    index = 0
    while index < len(block):
        line = block[index]
        match = _KEY_LINE.match(line)
        if not match:
            out.append(line)
            index += 1
            continue
        end = index + 1
        while end < len(block) and _continues(block[end]):
            end += 1
        while end > index + 1 and not block[end - 1].strip():
            end -= 1  # a blank line before the next key is the block's, not the value's
        key = match["key"]
        if key not in placed:  # a repeated key goes: YAML would have read only one of them
            out.append(f"{key}: {values[key]}{newline}")
            placed.add(key)
        index = end
    if out and not out[-1].endswith(("\n", "\r")):
        out[-1] += newline
    out += [f"{key}: {values[key]}{newline}" for key in STAMPED_KEYS if key not in placed]
    return out


def stamp(text: str, *, last_audited: str, audit_result: str) -> str:
    """``text`` with its frontmatter stamped; a doc without one (audit-scan's reading) gets one first."""
    if audit_result not in (EDITED, CLEAN):
        raise ValueError(f"audit_result is {EDITED} or {CLEAN}, not {audit_result!r}")
    values = {"last_audited": f'"{last_audited}"', "audit_result": audit_result}
    old = parse_doc(readable(text)).frontmatter
    kept = text.splitlines(keepends=True)
    if old is None:
        newline = _ending(kept[0]) if kept else "\n"
        head = ["---" + newline, *(f"{key}: {values[key]}{newline}" for key in STAMPED_KEYS), "---" + newline]
        stamped = "".join(head) + text
    else:
        plain = readable(text).splitlines()
        closing = plain.index("---", 1)
        newline = _ending(kept[0])
        block = _replace(kept[1:closing], values, newline)
        stamped = "".join([kept[0], *block, *kept[closing:]])
    new = parse_doc(readable(stamped)).frontmatter
    expected = {**(old or {}), "last_audited": last_audited, "audit_result": audit_result}
    if new is None or set(new) != set(expected) or not all(_same(new[k], expected[k]) for k in expected):
        raise StampError("its frontmatter's layout cannot be stamped without rewriting it")
    return stamped
