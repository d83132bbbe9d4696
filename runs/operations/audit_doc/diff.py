"""A proposed change as a diff against the current doc: rows for a side-by-side table (laptop width) and
lines for a unified listing (a phone), both from one line matching (difflib).

Pure text in, plain values out: the template escapes every line (they are the doc's and an agent's).
Long unchanged runs are folded to CONTEXT lines either side; at most MAX_ROWS rows are shown.

The work is bounded, because a revision is an agent's (hostile) and the diff is drawn on page views: the
lines the two texts share at the start and the end are taken off first (linear), and difflib's matching of
what is left, which is quadratic or worse on repetitive lines (2,000 lines took 9 s, 5,000 took 109 s), is
given MATCH_BUDGET steps. Beyond that the changed region is shown whole, its lines as removed then added,
and Diff.coarse says so. A page that draws many diffs (the run page, one per doc; a doc's history, one per
applied edit) shares one MatchBudget of PAGE_MATCH_BUDGET among them, so 200 hostile revisions cost what
a few do.
"""

import difflib
from dataclasses import dataclass, field

CONTEXT = 3
MAX_ROWS = 2000
# Line pairs difflib may look at (each line of one text against the equal lines of the other, counted
# before each search, which is not run if it would go over) while matching one diff's changed region:
# about 8 million a second on this machine (the reviewer's worst cases: 0.6 s for one diff, whatever its
# length); a 3,000-line doc with edits all through it needs some 70,000 (blank lines being junk).
MATCH_BUDGET = 5_000_000
# What all the diffs of one page may spend together, well inside a request's timeout: 200 worst-case
# diffs on one page took 2.9 s in all (the matching, then each one's linear work), not 200 x 0.6 s.
PAGE_MATCH_BUDGET = 3 * MATCH_BUDGET
# What a diff may spend when the page's budget is gone: a few milliseconds, enough to match a small change
# exactly (200 docs spend half a second more at most).
MIN_MATCH_STEPS = 50_000


@dataclass
class MatchBudget:
    """Steps left for matching, shared by the diffs of one page (each is also held to MATCH_BUDGET)."""

    left: int = PAGE_MATCH_BUDGET


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
    coarse: bool = False  # matching ran out of MATCH_BUDGET: the changed region is shown whole
    match_steps: int = 0  # the line pairs matching looked at: at most MATCH_BUDGET

    @property
    def changed(self) -> bool:
        return bool(self.added or self.removed)


def _fold(count: int) -> tuple[Row, Line]:
    text = f"{count} unchanged line{'s' if count != 1 else ''}"
    return Row("fold", left=text, right=text), Line("…", text, "fold")


class _OverBudget(Exception):
    pass


class _BudgetedMatcher(difflib.SequenceMatcher[str]):
    """difflib's matcher, counting before each longest-match search the line pairs it will look at (for
    each line of a in the range, the equal lines of b) and stopping before a search would spend more
    than ``allowed``."""

    steps = 0
    allowed = MATCH_BUDGET

    def find_longest_match(
        self, alo: int = 0, ahi: int | None = None, blo: int = 0, bhi: int | None = None
    ) -> difflib.Match:
        # difflib's own attributes (the first text, and each line of the second's positions), which its
        # type stubs leave out.
        a: list[str] = self.a  # type: ignore[attr-defined]
        b2j: dict[str, list[int]] = self.b2j  # type: ignore[attr-defined]
        stop = len(a) if ahi is None else ahi
        self.steps += (stop - alo) + sum(len(b2j.get(a[i], ())) for i in range(alo, stop))
        if self.steps > self.allowed:
            raise _OverBudget
        return super().find_longest_match(alo, ahi, blo, bhi)


Opcode = tuple[str, int, int, int, int]


def _blank(line: str) -> bool:
    return not line.strip()


def _opcodes(a: list[str], b: list[str], out: "Diff", budget: MatchBudget) -> list[Opcode]:
    """The opcodes of a against b: the shared start and end, and between them difflib's matching within
    MATCH_BUDGET and what is left of the page's budget, else one replace of the whole region."""
    start = 0
    limit = min(len(a), len(b))
    while start < limit and a[start] == b[start]:
        start += 1
    end = 0
    while end < limit - start and a[len(a) - 1 - end] == b[len(b) - 1 - end]:
        end += 1
    a_end, b_end = len(a) - end, len(b) - end
    middle: list[Opcode] = []
    if start < a_end or start < b_end:
        # Blank lines are junk, as difflib.IS_LINE_JUNK has them: they do not start a match, only join the
        # ones beside them, so a doc's many blank lines do not multiply the pairs looked at.
        matcher = _BudgetedMatcher(_blank, a[start:a_end], b[start:b_end], autojunk=False)
        matcher.allowed = min(MATCH_BUDGET, max(budget.left, MIN_MATCH_STEPS))
        try:
            found = matcher.get_opcodes()
        except _OverBudget:
            found, out.coarse = [("replace", 0, a_end - start, 0, b_end - start)], True
        out.match_steps = min(matcher.steps, matcher.allowed)  # a search over the allowance is not run
        budget.left -= out.match_steps
        middle = [(tag, i1 + start, i2 + start, j1 + start, j2 + start) for tag, i1, i2, j1, j2 in found]
    head: list[Opcode] = [("equal", 0, start, 0, start)] if start else []
    tail: list[Opcode] = [("equal", a_end, len(a), b_end, len(b))] if end else []
    return head + middle + tail


def diff(old: str, new: str, budget: MatchBudget | None = None) -> Diff:
    """``old`` against ``new``; ``budget`` is the page's, when it draws several diffs."""
    a, b = old.splitlines(), new.splitlines()
    out = Diff()
    opcodes = _opcodes(a, b, out, budget if budget is not None else MatchBudget(MATCH_BUDGET))
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
        # Rows past MAX_ROWS are cut below anyway: not building them keeps a huge region linear and small.
        room = max(0, MAX_ROWS + 1 - len(out.rows))
        left, right = left[:room], right[:room]
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
        out.lines += [Line("-", text, "removed") for text in left[: max(0, MAX_ROWS + 1 - len(out.lines))]]
        out.lines += [Line("+", text, "added") for text in right[: max(0, MAX_ROWS + 1 - len(out.lines))]]
    if len(out.rows) > MAX_ROWS or len(out.lines) > MAX_ROWS:
        out.rows, out.lines, out.cut = out.rows[:MAX_ROWS], out.lines[:MAX_ROWS], True
    return out
