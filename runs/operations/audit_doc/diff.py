"""A proposed change as a diff against the current doc: rows for a side-by-side table (laptop width) and
lines for a unified listing (a phone), both from one line matching (difflib).

Pure text in, plain values out: the template escapes every line (they are the doc's and an agent's).
Long unchanged runs are folded to CONTEXT lines either side; at most MAX_ROWS rows are shown.
"""

import difflib
from dataclasses import dataclass, field

CONTEXT = 3
MAX_ROWS = 2000


@dataclass(frozen=True)
class Row:
    """One row of the side-by-side table; a side is None where it has no line (added or removed)."""

    kind: str  # same, changed, added, removed, fold
    left_number: int | None = None
    left: str | None = None
    right_number: int | None = None
    right: str | None = None


@dataclass(frozen=True)
class Line:
    """One line of the unified listing: its mark (' ', '-', '+', or '…' for a fold) and text."""

    mark: str
    text: str
    kind: str


@dataclass
class Diff:
    rows: list[Row] = field(default_factory=list)
    lines: list[Line] = field(default_factory=list)
    added: int = 0
    removed: int = 0
    cut: bool = False  # rows beyond MAX_ROWS were left out

    @property
    def changed(self) -> bool:
        return bool(self.added or self.removed)


def _fold(count: int) -> tuple[Row, Line]:
    text = f"{count} unchanged line{'s' if count != 1 else ''}"
    return Row("fold", left=text, right=text), Line("…", text, "fold")


def diff(old: str, new: str) -> Diff:
    a, b = old.splitlines(), new.splitlines()
    out = Diff()
    opcodes = difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes()
    for n, (tag, i1, i2, j1, j2) in enumerate(opcodes):
        if tag == "equal":
            first, last = n == 0, n == len(opcodes) - 1
            keep = range(i2 - i1)
            head = 0 if first else CONTEXT
            tail = 0 if last else CONTEXT
            if i2 - i1 > head + tail + 1:
                shown = [*keep[:head], None, *keep[len(keep) - tail :]]
            else:
                shown = list(keep)
            for offset in shown:
                if offset is None:
                    row, line = _fold(i2 - i1 - head - tail)
                    out.rows.append(row)
                    out.lines.append(line)
                    continue
                text = a[i1 + offset]
                out.rows.append(Row("same", i1 + offset + 1, text, j1 + offset + 1, text))
                out.lines.append(Line(" ", text, "same"))
            continue
        left, right = a[i1:i2], b[j1:j2]
        out.removed += len(left)
        out.added += len(right)
        for k in range(max(len(left), len(right))):
            has_left, has_right = k < len(left), k < len(right)
            kind = "changed" if has_left and has_right else ("removed" if has_left else "added")
            out.rows.append(
                Row(
                    kind,
                    i1 + k + 1 if has_left else None,
                    left[k] if has_left else None,
                    j1 + k + 1 if has_right else None,
                    right[k] if has_right else None,
                )
            )
        out.lines += [Line("-", text, "removed") for text in left]
        out.lines += [Line("+", text, "added") for text in right]
    if len(out.rows) > MAX_ROWS or len(out.lines) > MAX_ROWS:
        out.rows, out.lines, out.cut = out.rows[:MAX_ROWS], out.lines[:MAX_ROWS], True
    return out
