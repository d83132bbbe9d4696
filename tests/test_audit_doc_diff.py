"""The proposed change as a diff (runs/operations/audit_doc/diff.py): side-by-side rows and unified lines
from one matching, long unchanged runs folded, counts of lines added and removed. Worked out by hand."""

from runs.operations.audit_doc.diff import CONTEXT, diff

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
