"""Percentages, verdict rules and finding counts (specs/audit-doc.md, "The output file").

Each expected value is worked out by hand from the spec's rules: bad = DUPLICATIVE + INACCURATE +
DRIFT RISK + EXAMPLES lines, good = HIGH VALUE + CONTEXTUAL + REFERENCE CACHE lines, each a share of
all section lines rounded down; the verdict is the first rule that holds.
"""

import pytest

from runs.operations.audit_doc.verdict import (
    CATEGORIES,
    REVISING,
    counts,
    needs_revision,
    percentages,
    verdict,
)


def test_the_seven_categories():
    assert CATEGORIES == (
        "DUPLICATIVE",
        "INACCURATE",
        "DRIFT RISK",
        "HIGH VALUE",
        "CONTEXTUAL",
        "REFERENCE CACHE",
        "EXAMPLES",
    )


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        ([("DUPLICATIVE", 10), ("HIGH VALUE", 20)], (33, 66)),  # 33.3 and 66.7, both rounded down
        ([("EXAMPLES", 1), ("DRIFT RISK", 1), ("INACCURATE", 1), ("REFERENCE CACHE", 1)], (75, 25)),
        ([("CONTEXTUAL", 7)], (0, 100)),
        ([("DUPLICATIVE", 299), ("CONTEXTUAL", 701)], (29, 70)),  # 29.9 and 70.1
        ([], (0, 0)),
    ],
)
def test_percentages_by_lines_rounded_down(rows, expected):
    assert percentages(rows) == expected


@pytest.mark.parametrize(
    ("rows", "statuses", "expected"),
    [
        # Every section bad: 100% and no good section.
        ([("DUPLICATIVE", 3), ("INACCURATE", 1)], [], "CONSIDER DELETING"),
        # 80% bad, but one good section: not rule 1; rule 2 holds.
        ([("DUPLICATIVE", 4), ("CONTEXTUAL", 1)], [], "REPLACE WITH CODE REFS"),
        ([("DUPLICATIVE", 3), ("HIGH VALUE", 2)], [], "REPLACE WITH CODE REFS"),  # exactly 60
        ([("EXAMPLES", 2), ("CONTEXTUAL", 1)], [], "REPLACE WITH CODE REFS"),  # 66
        ([("DUPLICATIVE", 59), ("HIGH VALUE", 41)], [], "SIMPLIFY"),  # 59, with a good section
        ([("DRIFT RISK", 3), ("CONTEXTUAL", 7)], [], "SIMPLIFY"),  # exactly 30
        # 29.9% rounds down to 29: not SIMPLIFY, and nothing is inaccurate or broken.
        ([("DUPLICATIVE", 299), ("CONTEXTUAL", 701)], [], "KEEP"),
        ([("DUPLICATIVE", 299), ("CONTEXTUAL", 701)], ["VERIFIED", "BROKEN"], "NEEDS UPDATE"),
        ([("INACCURATE", 29), ("CONTEXTUAL", 71)], [], "NEEDS UPDATE"),
        ([("CONTEXTUAL", 5)], ["MISSING"], "NEEDS UPDATE"),
        ([("CONTEXTUAL", 5)], ["MISMATCH"], "NEEDS UPDATE"),
        ([("CONTEXTUAL", 5)], ["VERIFIED", "CANNOT VERIFY"], "KEEP"),
        # SIMPLIFY comes before NEEDS UPDATE: a broken finding does not change a 40% bad doc's verdict.
        ([("INACCURATE", 4), ("HIGH VALUE", 6)], ["BROKEN"], "SIMPLIFY"),
        ([], [], "KEEP"),
        ([], ["BROKEN"], "NEEDS UPDATE"),
    ],
)
def test_the_first_rule_that_holds(rows, statuses, expected):
    assert verdict(rows, statuses) == expected


def test_counts_verified_and_broken_missing_mismatch():
    statuses = ["VERIFIED", "VERIFIED", "BROKEN", "MISSING", "MISMATCH", "CANNOT VERIFY"]
    assert counts(statuses) == (2, 3)
    assert counts([]) == (0, 0)


def test_which_verdicts_take_a_revised_document():
    assert {"SIMPLIFY", "REPLACE WITH CODE REFS", "NEEDS UPDATE"} == REVISING
    assert not needs_revision("KEEP") and not needs_revision("CONSIDER DELETING")
