"""Categories, percentages, the verdict and the finding counts (specs/audit-doc.md, "The output file").

The verdict is a function of the Sections table (each section's category and size) and the Findings'
statuses, nothing else: verification recomputes it from what the file says, and a comparison of two
models can only mean something when both were held to the same rules.
"""

from collections.abc import Iterable, Sequence

DUPLICATIVE = "DUPLICATIVE"
INACCURATE = "INACCURATE"
DRIFT_RISK = "DRIFT RISK"
HIGH_VALUE = "HIGH VALUE"
CONTEXTUAL = "CONTEXTUAL"
REFERENCE_CACHE = "REFERENCE CACHE"
EXAMPLES = "EXAMPLES"

CATEGORIES: tuple[str, ...] = (
    DUPLICATIVE,
    INACCURATE,
    DRIFT_RISK,
    HIGH_VALUE,
    CONTEXTUAL,
    REFERENCE_CACHE,
    EXAMPLES,
)
BAD = frozenset({DUPLICATIVE, INACCURATE, DRIFT_RISK, EXAMPLES})
GOOD = frozenset({HIGH_VALUE, CONTEXTUAL, REFERENCE_CACHE})

CONSIDER_DELETING = "CONSIDER DELETING"
REPLACE_WITH_CODE_REFS = "REPLACE WITH CODE REFS"
SIMPLIFY = "SIMPLIFY"
NEEDS_UPDATE = "NEEDS UPDATE"
KEEP = "KEEP"

VERDICTS: tuple[str, ...] = (CONSIDER_DELETING, REPLACE_WITH_CODE_REFS, SIMPLIFY, NEEDS_UPDATE, KEEP)
# The verdicts whose file must hold a revised document, and no other verdict's may.
REVISING = frozenset({SIMPLIFY, REPLACE_WITH_CODE_REFS, NEEDS_UPDATE})

VERIFIED = "VERIFIED"
BROKEN = "BROKEN"
MISSING = "MISSING"
MISMATCH = "MISMATCH"
CANNOT_VERIFY = "CANNOT VERIFY"
STATUSES: tuple[str, ...] = (VERIFIED, BROKEN, MISSING, MISMATCH, CANNOT_VERIFY)
# The statuses the header's `broken` counts, and that make a doc NEEDS UPDATE.
BROKEN_STATUSES = frozenset({BROKEN, MISSING, MISMATCH})

KINDS: tuple[str, ...] = ("import", "symbol", "path", "claim")


def percentages(rows: Iterable[tuple[str, int]]) -> tuple[int, int]:
    """(bad, good): each a share of all section lines, in whole percent rounded down.

    ``rows`` are (category, size) per section. A doc with no section lines has 0 of each.
    """
    total = bad = good = 0
    for category, size in rows:
        total += size
        if category in BAD:
            bad += size
        elif category in GOOD:
            good += size
    if total == 0:
        return 0, 0
    # Integer arithmetic: floor(100 * bad / total) exactly, with no float rounding at the thresholds.
    return 100 * bad // total, 100 * good // total


def verdict(rows: Sequence[tuple[str, int]], statuses: Iterable[str]) -> str:
    """The first rule that holds, in the spec's order.

    Rounding down never moves a share across a whole-number threshold, so comparing the rounded
    percentage with 80, 60 and 30 is the same as comparing the exact share.
    """
    bad, _good = percentages(rows)
    any_good = any(category in GOOD for category, _size in rows)
    if bad >= 80 and not any_good:
        return CONSIDER_DELETING
    if bad >= 60:
        return REPLACE_WITH_CODE_REFS
    if bad >= 30 and any_good:
        return SIMPLIFY
    if any(category == INACCURATE for category, _size in rows) or any(
        status in BROKEN_STATUSES for status in statuses
    ):
        return NEEDS_UPDATE
    return KEEP


def counts(statuses: Iterable[str]) -> tuple[int, int]:
    """(verified, broken) as the header states them: VERIFIED lines, and BROKEN + MISSING + MISMATCH."""
    verified = broken = 0
    for status in statuses:
        if status == VERIFIED:
            verified += 1
        elif status in BROKEN_STATUSES:
            broken += 1
    return verified, broken


def needs_revision(verdict_name: str) -> bool:
    return verdict_name in REVISING
