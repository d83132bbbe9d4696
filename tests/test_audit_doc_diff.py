"""The proposed change as a diff (runs/operations/audit_doc/diff.py): side-by-side rows and unified lines
from one matching, long unchanged runs folded, counts of lines added and removed. Worked out by hand."""

from runs.operations.audit_doc.diff import (
    CONTEXT,
    MATCH_BUDGET,
    MAX_ROWS,
    MIN_MATCH_STEPS,
    PAGE_MATCH_BUDGET,
    MatchBudget,
    diff,
)

OLD = "".join(f"line {n}\n" for n in range(1, 21))  # 20 lines


def test_one_changed_line_in_the_middle_is_shown_with_three_lines_of_context_each_side():
    new = OLD.replace("line 10\n", "line ten\n")
    d = diff(OLD, new)
    assert (d.added, d.removed, d.changed, d.cut) == (1, 1, True, False)
    kinds = [row.kind for row in d.rows]
    # lines 1-6 folded, 7-9 context, 10 changed, 11-13 context, 14-20 folded
    assert kinds == ["fold", "same", "same", "same", "changed", "same", "same", "same", "fold"]
    assert d.rows[0].left == "6 unchanged lines" and d.rows[-1].left == "7 unchanged lines"
    changed = d.rows[4]
    assert (changed.left_number, changed.left, changed.right_number, changed.right) == (
        10,
        "line 10",
        10,
        "line ten",
    )
    marks = [(line.mark, line.text) for line in d.lines]
    assert marks[4:6] == [("-", "line 10"), ("+", "line ten")]
    assert len([line for line in d.lines if line.kind == "same"]) == 2 * CONTEXT


def test_added_and_removed_lines_leave_the_other_side_empty():
    d = diff("a\nb\n", "a\nb\nc\nd\n")
    assert [(r.kind, r.left_number, r.right_number, r.right) for r in d.rows] == [
        ("same", 1, 1, "a"),
        ("same", 2, 2, "b"),
        ("added", None, 3, "c"),
        ("added", None, 4, "d"),
    ]
    d = diff("a\nb\nc\n", "a\n")
    assert [(r.kind, r.left, r.right) for r in d.rows] == [
        ("same", "a", "a"),
        ("removed", "b", None),
        ("removed", "c", None),
    ]
    assert (d.added, d.removed) == (0, 2)


def test_no_change_is_one_fold():
    d = diff(OLD, OLD)
    assert not d.changed and [r.kind for r in d.rows] == ["fold"] and d.rows[0].left == "20 unchanged lines"


# The reviewer's worst cases (/tmp/review/difftime*.py): repetitive lines, where difflib's matching is
# quadratic or worse (2,000 lines took 9.4 s, 5,000 took 109 s). The bound is on the work, not the clock.
def _repetitive(n: int) -> tuple[str, str]:
    return "\n".join(f"line {i % 7}" for i in range(n)), "\n".join(f"line {(i * 3) % 11}" for i in range(n))


def test_repetitive_texts_stop_matching_at_the_budget_and_show_the_region_whole():
    for n in (2000, 5000):
        old, new = _repetitive(n)
        d = diff(old, new)
        assert d.coarse and d.cut
        # The steps are counted before each search, which is not run if it would go over.
        assert d.match_steps <= MATCH_BUDGET
        # Line 1 is the same in both ("line 0"); from line 2 on the region is shown removed then added.
        assert (d.rows[0].kind, d.rows[0].left) == ("same", "line 0")
        assert (d.rows[1].kind, d.rows[1].left, d.rows[1].right) == ("changed", "line 1", "line 3")
        assert (d.added, d.removed) == (n - 1, n - 1)  # every line but the first, counted even past the cut
        assert len(d.rows) == len(d.lines) == MAX_ROWS


def test_the_shared_start_and_end_are_not_matched_at_all():
    body = "".join(f"line {i % 7}\n" for i in range(5000))  # repetitive, but the same on both sides
    d = diff(body + "old end\n" + body, body + "new end\n" + body)
    assert not d.coarse and d.match_steps <= 2  # one line against one line
    assert (d.added, d.removed) == (1, 1)
    kinds = [r.kind for r in d.rows]
    assert kinds == ["fold", "same", "same", "same", "changed", "same", "same", "same", "fold"]
    assert d.rows[4].left_number == d.rows[4].right_number == 5001


def test_a_long_doc_with_scattered_edits_is_still_matched_line_by_line():
    # 3,000 lines, one in three blank (many equal lines), every tenth removed and 50 added at the end:
    # within the budget, so the diff is exact: 300 removed, 50 added, no line shown as changed.
    lines = ["" if i % 3 == 0 else f"text {i}" for i in range(3000)]
    new = [line for i, line in enumerate(lines) if i % 10] + ["added"] * 50
    d = diff("\n".join(lines), "\n".join(new))
    assert not d.coarse and d.match_steps <= MATCH_BUDGET
    assert (d.removed, d.added) == (300, 50)


def test_the_diffs_of_one_page_share_its_budget_and_a_small_change_is_still_exact_when_it_is_spent():
    # 20 of the reviewer's 2,000-line worst cases on one page (a run's hostile revisions): together they
    # spend the page's budget, not 20 times one diff's.
    budget = MatchBudget()
    old, new = _repetitive(2000)
    spent = [diff(old, new, budget).match_steps for _ in range(20)]
    assert sum(spent) <= PAGE_MATCH_BUDGET + 20 * MIN_MATCH_STEPS
    assert budget.left <= 0
    # A doc with two lines changed far apart, after that: still matched line by line, not shown whole.
    doc = "".join(f"line {n}\n" for n in range(1, 41))
    d = diff(doc, doc.replace("line 5\n", "line five\n").replace("line 35\n", "line 35!\n"), budget)
    assert not d.coarse and (d.added, d.removed) == (2, 2)
    assert [r.kind for r in d.rows].count("changed") == 2 and "fold" in [r.kind for r in d.rows]
