"""Scoring and tiers (specs/audit-scan.md, Phase 4)."""

from datetime import date

import pytest

from runs.operations.audit_scan.scoring import TIERS, Scored, score, score_all, tier_for

from .factories import quiet_record as quiet

AS_OF = date(2026, 3, 31)


def points(**changes) -> int:
    return score(quiet(**changes), AS_OF)[0]


def labels(**changes) -> list[str]:
    return score(quiet(**changes), AS_OF)[1]


def test_a_quiet_doc_scores_nothing():
    assert score(quiet(), AS_OF) == (0, [])


def test_never_audited_gives_three():
    assert score(quiet(last_audited="none"), AS_OF) == (3, ["no audit"])


def test_an_audit_more_than_30_days_old_gives_two():
    assert score(quiet(last_audited="2026-02-28"), AS_OF) == (2, ["audit >30d"])
    assert score(quiet(last_audited="2025-01-01 09:00 PT"), AS_OF) == (2, ["audit >30d"])


def test_an_audit_exactly_30_days_old_gives_nothing():
    assert points(last_audited="2026-03-01") == 0


def test_a_future_audit_gives_nothing():
    assert points(last_audited="2027-01-01") == 0


def test_a_last_audited_that_is_not_a_date_gives_two():
    for value in ("yesterday", "20260216", "2026-02-30", "true", '""'):
        assert score(quiet(last_audited=value), AS_OF) == (2, ["audit >30d"]), value


@pytest.mark.parametrize(
    ("lines", "expected"),
    [(100, (0, [])), (101, (1, [">100 lines"])), (200, (1, [">100 lines"])), (201, (2, [">200 lines"]))],
)
def test_line_count_boundaries(lines, expected):
    assert score(quiet(lines=lines), AS_OF) == expected


def test_three_code_blocks_give_two():
    assert points(code_blocks=2) == 0
    assert score(quiet(code_blocks=3), AS_OF) == (2, ["3 code blocks"])


def test_five_path_refs_give_two():
    assert points(file_path_refs=4) == 0
    assert score(quiet(file_path_refs=5), AS_OF) == (2, ["5 path refs"])


def test_a_broken_path_gives_three():
    assert score(quiet(broken_paths=1), AS_OF) == (3, ["broken path"])
    assert score(quiet(broken_paths=2), AS_OF) == (3, ["2 broken paths"])


def test_imports_steps_and_line_refs_give_one_each():
    assert score(quiet(import_count=1), AS_OF) == (1, ["imports"])
    assert score(quiet(step_sequences=4), AS_OF) == (1, ["steps"])
    assert score(quiet(line_number_refs=1), AS_OF) == (1, ["line refs"])


def test_dense_claims_need_more_than_one_claim_per_ten_lines():
    assert points(lines=10, behavioral_claims=1) == 0
    assert points(lines=30, behavioral_claims=3) == 0
    assert score(quiet(lines=10, behavioral_claims=2), AS_OF) == (2, ["dense claims"])
    assert points(lines=100, behavioral_claims=11) == 2
    assert points(lines=0, behavioral_claims=0) == 0


def test_a_redirect_takes_two_and_an_edited_audit_takes_one():
    assert score(quiet(has_redirect=True), AS_OF) == (-2, ["redirect"])
    assert score(quiet(audit_result="edited"), AS_OF) == (-1, ["edited"])
    assert points(audit_result="Edited") == 0


def test_labels_follow_the_score_table_order():
    everything = quiet(
        last_audited="none",
        lines=250,
        code_blocks=4,
        file_path_refs=6,
        broken_paths=3,
        import_count=2,
        step_sequences=1,
        behavioral_claims=30,
        line_number_refs=2,
        has_redirect=True,
        audit_result="edited",
    )
    assert score(everything, AS_OF) == (
        3 + 2 + 2 + 2 + 3 + 1 + 1 + 2 + 1 - 2 - 1,
        [
            "no audit",
            ">200 lines",
            "4 code blocks",
            "6 path refs",
            "3 broken paths",
            "imports",
            "steps",
            "dense claims",
            "line refs",
            "redirect",
            "edited",
        ],
    )


def test_the_spec_example_scores_high():
    example = {
        "path": "planning/plan-schema.md",
        "lines": 154,
        "code_blocks": 5,
        "file_path_refs": 8,
        "broken_paths": 2,
        "last_audited": "2026-02-16 14:20 PT",
        "audit_result": "clean",
        "has_redirect": False,
        "import_count": 3,
        "behavioral_claims": 12,
        "step_sequences": 2,
        "line_number_refs": 5,
        "symbol_refs": 8,
    }
    total, reasons = score(example, date(2026, 3, 1))
    assert total == 11
    assert reasons == [
        ">100 lines",
        "5 code blocks",
        "8 path refs",
        "2 broken paths",
        "imports",
        "steps",
        "line refs",
    ]
    assert tier_for(total) == "HIGH"


@pytest.mark.parametrize(
    ("total", "tier"),
    [
        (15, "HIGH"),
        (10, "HIGH"),
        (9, "MODERATE"),
        (6, "MODERATE"),
        (5, "LOW"),
        (3, "LOW"),
        (2, "SKIP"),
        (-3, "SKIP"),
    ],
)
def test_tier_boundaries(total, tier):
    assert tier_for(total) == tier


def test_tiers_are_listed_most_urgent_first():
    assert TIERS == ("HIGH", "MODERATE", "LOW", "SKIP")


def test_score_all_sorts_by_score_then_path():
    records = [
        quiet(path="b.md", last_audited="none"),
        quiet(path="z.md"),
        quiet(path="a.md", last_audited="none"),
        quiet(path="c.md", last_audited="none", broken_paths=1, lines=300, code_blocks=3),
        quiet(path="B.md", last_audited="none"),
    ]
    scored = score_all(records, AS_OF)
    assert [(s.path, s.score, s.tier) for s in scored] == [
        ("c.md", 10, "HIGH"),
        ("B.md", 3, "LOW"),
        ("a.md", 3, "LOW"),
        ("b.md", 3, "LOW"),
        ("z.md", 0, "SKIP"),
    ]
    assert scored[0] == Scored(
        path="c.md",
        score=10,
        tier="HIGH",
        signals=records[3],
        reasons=("no audit", ">200 lines", "3 code blocks", "broken path"),
    )


def test_score_all_of_nothing_is_empty():
    assert score_all([], AS_OF) == []
