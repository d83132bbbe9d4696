"""learn's agent files, no database: verification reasons (checks.py), drift repair (drift.py), and the
report's parsers (parsers.py)."""

import json

import pytest

from runs.operations.base import OutputRejected
from runs.operations.learn.agents import (
    COMMENTS,
    DIFF,
    DOCS,
    GAPS,
    HEADINGS,
    PLAN,
    SESSION,
    TRIPWIRES,
)
from runs.operations.learn.checks import Checked, check_file
from runs.operations.learn.markdown import section
from runs.operations.learn.parsers import (
    Candidate,
    GapItem,
    PlanItem,
    normalize_action,
    parse_candidates,
    parse_gap_items,
    parse_plan_items,
)

TITLE = "Add --dry-run flag to erk land"

SESSION_TEXT = """\
## Patterns Discovered

- `erk land` builds its plan before touching git, so a dry run only has to skip `execute()`.

## Errors Resolved

- `AttributeError: 'FakeGit' object has no attribute 'merge_base'`: added `merge_base` to the fake.

## User Corrections

- The user asked to print the plan with `click.echo`, not `print`.

## Documentation Opportunities

- How `erk land` separates planning from execution.

## Tripwire Candidates

None found.
"""

DIFF_TEXT = """\
## Inventory

| File | Change |
| --- | --- |
| src/erk/cli/land.py | `--dry-run` option, `LandPlan.describe()` |
| tests/fakes/git.py | `FakeGit.merge_base` |

## Documentation Summary

One new flag and one new fake method.

## Recommended Documentation Items

1. Document `--dry-run` in docs/learned/cli/land.md.
"""

DOCS_TEXT = """\
## Summary

Two docs mention `erk land`.

## Existing Documentation Found

- docs/cli/land.md: the land workflow, no flags section.
- docs/testing/fakes.md: how fakes mirror gateways.

## Duplicate Warnings

None found.

## Contradiction Warnings

None found.
"""

COMMENTS_TEXT = """\
## Documentation Opportunities

- Reviewer asked why the dry run still fetches: worth a note.

## Key Insights

- A dry run must not push, but it may fetch.
"""

GAPS_TEXT = """\
## Summary Statistics

- Items found: 3
- NEW_DOC: 1, UPDATE_EXISTING: 1, TRIPWIRE: 1

## Enumerated Items

| # | Item | Classification | Priority | Source |
|---|------|:--------------:|----------|--------|
| 1 | `--dry-run` flag of `erk land` | NEW_DOC | HIGH | diff-analysis.md |
| 2 | FakeGit must mirror `merge_base` | UPDATE_EXISTING | MEDIUM | session-abc-part1.md |
| 3 | Never push in a dry run | TRIPWIRE | LOW | pr-comments-analysis.md |

## Tripwire Candidates

- Adding a gateway method without updating the fake.
"""

PLAN_TEXT = f"""\
# Documentation Plan: {TITLE}

## Context

`erk land` gained a `--dry-run` flag that prints the landing plan without executing it.

## Summary

- Total documentation items: 2
- Tripwires to add: 1

## Documentation Items

- **docs/cli/land.md** (UPDATE, HIGH): describe `--dry-run` and what it skips.
- **docs/testing/fakes.md** (UPDATE, MEDIUM): fakes mirror every gateway method.

## Tripwire Insights

Adding a gateway method without updating `FakeGit` breaks every test that lands.
"""

CANDIDATES = {
    "candidates": [
        {
            "action": "Adding a method to the Git gateway",
            "warning": "Add the same method to FakeGit, or tests fail with AttributeError.",
            "target_doc_path": "testing/fakes.md",
        },
        {
            "action": "Pushing from a dry-run code path",
            "warning": "A dry run may fetch but must never push.",
            "target_doc_path": "cli/land.md",
        },
    ]
}
CANDIDATES_TEXT = json.dumps(CANDIDATES, indent=2) + "\n"

VALID = {
    SESSION: SESSION_TEXT,
    DIFF: DIFF_TEXT,
    DOCS: DOCS_TEXT,
    COMMENTS: COMMENTS_TEXT,
    GAPS: GAPS_TEXT,
    PLAN: PLAN_TEXT,
    TRIPWIRES: CANDIDATES_TEXT,
}


def reason(kind: str, text: str, title: str = TITLE) -> str:
    with pytest.raises(OutputRejected) as caught:
        check_file(kind, text, title=title)
    return caught.value.reason


def markdown(headings, body: str = "None found.") -> str:
    return "".join(f"## {heading}\n\n{body}\n\n" for heading in headings)


# --- every kind -----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(VALID))
def test_valid_example_passes_unchanged(kind):
    assert check_file(kind, VALID[kind], title=TITLE) == Checked(text=None, warnings=())


@pytest.mark.parametrize("kind", list(VALID))
@pytest.mark.parametrize("text", ["", "   \n\t\n"])
def test_empty_file(kind, text):
    assert reason(kind, text) == "empty file"


def test_unknown_kind_is_a_programming_error():
    with pytest.raises(ValueError):
        check_file("poet", "## Verse\n\nhi\n", title=TITLE)


# --- headings -------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", [SESSION, DIFF, DOCS, COMMENTS])
def test_minimal_markdown_with_none_found_passes(kind):
    assert check_file(kind, markdown(HEADINGS[kind]), title=TITLE).text is None


def test_headings_in_any_order_with_extra_headings_and_crlf():
    text = markdown(reversed(HEADINGS[COMMENTS])) + "## Notes\n\nx\n\n## Notes\n\ny\n"
    check_file(COMMENTS, text.replace("\n", "\r\n"), title=TITLE)


def test_missing_heading():
    text = SESSION_TEXT.replace("## Errors Resolved", "## Errors Fixed")
    assert reason(SESSION, text) == "missing heading: Errors Resolved"


def test_missing_headings_are_reported_in_spec_order():
    assert reason(DOCS, markdown(["Duplicate Warnings"])) == "missing heading: Summary"


def test_headings_are_case_sensitive():
    text = SESSION_TEXT.replace("## Errors Resolved", "## Errors resolved")
    assert reason(SESSION, text) == "missing heading: Errors Resolved"


@pytest.mark.parametrize("line", ["### Inventory", "#Inventory", " ## Inventory", "**Inventory**"])
def test_only_level_two_headings_at_column_zero_count(line):
    text = DIFF_TEXT.replace("## Inventory", line)
    assert reason(DIFF, text) == "missing heading: Inventory"


@pytest.mark.parametrize("line", ["## Inventory ##", "## Inventory   ", "##\tInventory", "## Inventory #"])
def test_heading_name_drops_closing_hashes_and_blanks(line):
    check_file(DIFF, DIFF_TEXT.replace("## Inventory", line), title=TITLE)


def test_heading_with_no_text_before_the_next_heading():
    text = DIFF_TEXT.replace("One new flag and one new fake method.", "   \n")
    assert reason(DIFF, text) == "heading Documentation Summary has no text"


def test_heading_with_no_text_at_the_end_of_file():
    text = COMMENTS_TEXT.split("## Key Insights")[0] + "## Key Insights\n\n\n"
    assert reason(COMMENTS, text) == "heading Key Insights has no text"


def test_level_one_heading_ends_a_section():
    text = "## Key Insights\n\n# Appendix\n\nlots\n\n## Documentation Opportunities\n\nnone\n"
    assert reason(COMMENTS, text) == "heading Key Insights has no text"


def test_sub_headings_and_code_count_as_text():
    text = "## Key Insights\n\n### Fetching\n\n## Documentation Opportunities\n\n```\nx\n```\n"
    check_file(COMMENTS, text, title=TITLE)


def test_no_text_is_reported_in_file_order():
    text = "## Key Insights\n\n## Documentation Opportunities\n\n"
    assert reason(COMMENTS, text) == "heading Key Insights has no text"


def test_duplicate_required_heading():
    text = DOCS_TEXT + "\n## Summary\n\nAgain.\n"
    assert reason(DOCS, text) == "duplicate heading: Summary"


def test_duplicate_is_reported_before_missing():
    assert (
        reason(COMMENTS, "## Key Insights\n\na\n\n## Key Insights\n\nb\n")
        == "duplicate heading: Key Insights"
    )


def test_heading_inside_code_fence_does_not_count():
    text = "## Documentation Opportunities\n\nExample:\n\n```markdown\n## Key Insights\n\nx\n```\n"
    assert reason(COMMENTS, text) == "missing heading: Key Insights"


def test_heading_inside_tilde_fence_and_longer_fence_does_not_count():
    text = (
        "## Documentation Opportunities\n\n~~~\n## Key Insights\n~~~\n\n"
        "````markdown\n```\n## Key Insights\n```\n````\n"
    )
    assert reason(COMMENTS, text) == "missing heading: Key Insights"


def test_heading_inside_unclosed_fence_does_not_count():
    text = "## Documentation Opportunities\n\n```\n## Key Insights\n\nx\n"
    assert reason(COMMENTS, text) == "missing heading: Key Insights"


def test_fenced_heading_does_not_end_a_section():
    text = COMMENTS_TEXT + "\n```\n## Documentation Opportunities\n```\n"
    check_file(COMMENTS, text, title=TITLE)


# --- learn plan -----------------------------------------------------------------------------------


def test_plan_first_line_must_be_the_title():
    text = PLAN_TEXT.replace(f"# Documentation Plan: {TITLE}", "# Learn Plan: whatever")
    assert reason(PLAN, text) == f'first line must be "# Documentation Plan: {TITLE}"'


def test_plan_title_must_be_exact():
    text = PLAN_TEXT.replace(TITLE, TITLE.lower(), 1)
    assert reason(PLAN, text) == f'first line must be "# Documentation Plan: {TITLE}"'


def test_plan_title_not_first_line():
    text = "Here is the plan.\n\n" + PLAN_TEXT
    assert reason(PLAN, text).startswith("first line must be")


def test_plan_title_compared_after_stripping():
    check_file(PLAN, "\n\n  " + PLAN_TEXT.replace("\n", "  \n", 1), title=f" {TITLE} ")


def test_plan_title_checked_before_headings():
    assert reason(PLAN, "# Nope\n").startswith("first line must be")


def test_plan_missing_heading():
    text = PLAN_TEXT.replace("## Tripwire Insights", "## Tripwires")
    assert reason(PLAN, text) == "missing heading: Tripwire Insights"


# --- gap analysis ---------------------------------------------------------------------------------


def replace_table(table: str) -> str:
    start = GAPS_TEXT.index("| # |")
    end = GAPS_TEXT.index("\n\n## Tripwire Candidates")
    return GAPS_TEXT[:start] + table + GAPS_TEXT[end:]


HEADER = "| # | Item | Classification | Priority | Source |\n| --- | --- | --- | --- | --- |\n"


def test_gap_analysis_without_table():
    assert reason(GAPS, replace_table("None found.")) == "Enumerated Items has no table"


def test_gap_table_needs_a_separator_row():
    text = replace_table("| # | Item | Classification | Priority | Source |\n| 1 | x | SKIP | LOW | d |")
    assert reason(GAPS, text) == "Enumerated Items has no table"


def test_gap_table_inside_a_code_fence_is_no_table():
    assert reason(GAPS, replace_table("```\n" + HEADER + "```")) == "Enumerated Items has no table"


def test_gap_table_in_another_section_does_not_count():
    text = replace_table("See below.") + "\n" + HEADER
    assert reason(GAPS, text) == "Enumerated Items has no table"


def test_gap_table_with_wrong_columns():
    text = replace_table(
        "| # | Item | Kind | Priority | Source |\n|---|---|---|---|---|\n| 1 | x | NEW_DOC | LOW | s |"
    )
    assert reason(GAPS, text) == (
        "table columns are #, Item, Kind, Priority, Source not #, Item, Classification, Priority, Source"
    )


def test_gap_table_with_missing_column():
    text = replace_table("| # | Item | Classification | Priority |\n|---|---|---|---|")
    assert reason(GAPS, text) == (
        "table columns are #, Item, Classification, Priority not #, Item, Classification, Priority, Source"
    )


def test_gap_table_bad_classification():
    rows = "| 1 | a | NEW_DOC | HIGH | s |\n| 2 | b | SKIP | LOW | s |\n| 3 | c | FOO | LOW | s |"
    assert reason(GAPS, replace_table(HEADER + rows)) == (
        "row 3: classification FOO is not one of NEW_DOC, UPDATE_EXISTING, TRIPWIRE, SKIP"
    )


def test_gap_table_bad_priority():
    rows = "| 1 | a | NEW_DOC | HIGH | s |\n| 2 | b | SKIP | URGENT | s |"
    assert (
        reason(GAPS, replace_table(HEADER + rows)) == "row 2: priority URGENT is not one of HIGH, MEDIUM, LOW"
    )


def test_gap_table_values_are_case_sensitive():
    rows = "| 1 | a | NEW_DOC | High | s |"
    assert (
        reason(GAPS, replace_table(HEADER + rows)) == "row 1: priority High is not one of HIGH, MEDIUM, LOW"
    )


def test_gap_table_empty_classification():
    assert reason(GAPS, replace_table(HEADER + "| 1 | a |  | HIGH | s |")) == "row 1: classification is empty"


def test_gap_table_empty_item():
    assert reason(GAPS, replace_table(HEADER + "| 1 |  | SKIP | HIGH | s |")) == "row 1: item is empty"


def test_gap_table_wrong_cell_count():
    assert reason(GAPS, replace_table(HEADER + "| 1 | a | SKIP | HIGH |")) == "row 1: 4 cells, not 5"


def test_gap_table_without_rows_passes():
    check_file(GAPS, replace_table(HEADER.rstrip()), title=TITLE)


def test_gap_table_tolerances():
    table = (
        "| # | Item | Classification | Priority | Source\n"
        ":-: | :--- | ---: | - | --\n"
        "1 | `a \\| b` pipes | `NEW_DOC` | **HIGH** | diff-analysis.md\n"
        "|2|  spaced  |TRIPWIRE|LOW|s|"
    )
    text = replace_table(table)
    check_file(GAPS, text, title=TITLE)
    assert parse_gap_items(text) == [
        GapItem("1", "`a | b` pipes", "NEW_DOC", "HIGH", "diff-analysis.md"),
        GapItem("2", "spaced", "TRIPWIRE", "LOW", "s"),
    ]


def test_gap_table_ends_at_blank_line():
    text = replace_table(HEADER + "| 1 | a | SKIP | LOW | s |\n\nNot | a | row")
    check_file(GAPS, text, title=TITLE)
    assert len(parse_gap_items(text)) == 1


def test_parse_gap_items():
    assert parse_gap_items(GAPS_TEXT) == [
        GapItem("1", "`--dry-run` flag of `erk land`", "NEW_DOC", "HIGH", "diff-analysis.md"),
        GapItem("2", "FakeGit must mirror `merge_base`", "UPDATE_EXISTING", "MEDIUM", "session-abc-part1.md"),
        GapItem("3", "Never push in a dry run", "TRIPWIRE", "LOW", "pr-comments-analysis.md"),
    ]


def test_parse_gap_items_without_table():
    assert parse_gap_items("## Enumerated Items\n\nNone found.\n") == []
    assert parse_gap_items("nothing") == []


# --- tripwire-candidates.json ---------------------------------------------------------------------


def candidates_text(*candidates, key="candidates") -> str:
    return json.dumps({key: list(candidates)})


GOOD = {"action": "Editing a migration", "warning": "Make a new one.", "target_doc_path": "db/migrations.md"}


def test_empty_candidates_pass():
    assert check_file(TRIPWIRES, '{"candidates": []}', title=TITLE) == Checked(text=None, warnings=())


def test_extra_top_level_keys_are_allowed():
    check_file(TRIPWIRES, json.dumps({"candidates": [GOOD], "notes": "x"}), title=TITLE)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "{'candidates': []}",
            "not JSON: Expecting property name enclosed in double quotes: line 1 column 2 (char 1)",
        ),
        ('{"candidates": [}', "not JSON: Expecting value: line 1 column 17 (char 16)"),
        ("Here you go: {}", "not JSON: Expecting value: line 1 column 1 (char 0)"),
        ("[]", "not a JSON object"),
        ('"candidates"', "not a JSON object"),
        ("{}", "missing key: candidates"),
        ('{"tripwires": []}', "missing key: candidates"),
        ('{"candidates": {}}', "candidates is not a list"),
        ('{"candidates": null}', "candidates is not a list"),
        ('{"candidates": ["x"]}', "candidate 1: not a JSON object"),
    ],
)
def test_json_structure_reasons(text, expected):
    assert reason(TRIPWIRES, text) == expected


def test_candidate_missing_field():
    bad = {k: v for k, v in GOOD.items() if k != "warning"}
    assert reason(TRIPWIRES, candidates_text(GOOD, bad)) == "candidate 2: missing field warning"


def test_candidate_unexpected_field():
    assert reason(TRIPWIRES, candidates_text(GOOD, {**GOOD, "foo": 1})) == "candidate 2: unexpected field foo"


def test_candidate_empty_field():
    assert reason(TRIPWIRES, candidates_text({**GOOD, "action": ""})) == "candidate 1: action is empty"
    assert reason(TRIPWIRES, candidates_text({**GOOD, "warning": " \n"})) == "candidate 1: warning is empty"


def test_candidate_field_not_a_string():
    text = candidates_text({**GOOD, "target_doc_path": ["a.md"]})
    assert reason(TRIPWIRES, text) == "candidate 1: target_doc_path is not a string"
    assert (
        reason(TRIPWIRES, candidates_text({**GOOD, "action": None})) == "candidate 1: action is not a string"
    )


@pytest.mark.parametrize(
    "path",
    ["/abs/docs/x.md", "../outside.md", "cli/../../x.md", "~/docs/x.md", "C:\\docs\\x.md", "a\\..\\b.md"],
)
def test_candidate_path_must_be_relative(path):
    text = candidates_text(GOOD, GOOD, {**GOOD, "target_doc_path": path})
    assert reason(TRIPWIRES, text) == "candidate 3: target_doc_path must be relative to the docs root"


@pytest.mark.parametrize("path", ["x.md", "cli/land.md", "./cli/x.md", "a..b.md"])
def test_candidate_relative_paths_pass(path):
    check_file(TRIPWIRES, candidates_text({**GOOD, "target_doc_path": path}), title=TITLE)


def test_first_candidate_problem_wins():
    text = candidates_text({**GOOD, "action": ""}, {"warning": "w"})
    assert reason(TRIPWIRES, text) == "candidate 1: action is empty"


# --- drift repair ---------------------------------------------------------------------------------


def repaired(text: str) -> tuple[dict, tuple[str, ...]]:
    checked = check_file(TRIPWIRES, text, title=TITLE)
    assert checked.text is not None and checked.text.endswith("}\n")
    # The repaired text is canonical and passes unchanged.
    assert checked.text == json.dumps(json.loads(checked.text), indent=2, ensure_ascii=False) + "\n"
    assert check_file(TRIPWIRES, checked.text, title=TITLE) == Checked(text=None, warnings=())
    return json.loads(checked.text), checked.warnings


def test_repair_top_level_key():
    data, warnings = repaired(candidates_text(GOOD, key="tripwire_candidates"))
    assert data == {"candidates": [GOOD]}
    assert warnings == ("repaired drift: tripwire_candidates → candidates",)


def test_top_level_key_is_not_renamed_beside_candidates():
    text = json.dumps({"candidates": [GOOD], "tripwire_candidates": []})
    assert check_file(TRIPWIRES, text, title=TITLE) == Checked(text=None, warnings=())


@pytest.mark.parametrize("key", ["title", "name", "trigger_pattern"])
def test_repair_action(key):
    drifted = {
        key: "Editing a migration",
        "warning": GOOD["warning"],
        "target_doc_path": GOOD["target_doc_path"],
    }
    data, warnings = repaired(candidates_text(GOOD, drifted))
    assert data["candidates"] == [GOOD, GOOD]
    assert list(data["candidates"][1]) == ["action", "warning", "target_doc_path"]  # renamed in place
    assert warnings == (f"repaired drift: candidate 2 {key} → action",)


def test_repair_action_takes_title_then_name_then_trigger_pattern():
    drifted = {"trigger_pattern": "migrations/*.py", "name": "Editing a migration", **GOOD}
    del drifted["action"]
    data, warnings = repaired(candidates_text(drifted))
    assert data["candidates"] == [GOOD]
    assert warnings == (
        "repaired drift: candidate 1 name → action",
        "repaired drift: candidate 1 trigger_pattern dropped",
    )


def test_all_three_action_drifts():
    drifted = {
        "title": "Editing a migration",
        "name": "n",
        "trigger_pattern": "t",
        "warning": "Make a new one.",
    }
    drifted["target_doc_path"] = "db/migrations.md"
    data, warnings = repaired(candidates_text(drifted))
    assert data["candidates"] == [GOOD]
    assert warnings == (
        "repaired drift: candidate 1 title → action",
        "repaired drift: candidate 1 name dropped",
        "repaired drift: candidate 1 trigger_pattern dropped",
    )


def test_action_drift_beside_action_is_unexpected():
    assert reason(TRIPWIRES, candidates_text({**GOOD, "title": "t"})) == "candidate 1: unexpected field title"


def test_repair_warning():
    drifted = {
        "action": GOOD["action"],
        "description": GOOD["warning"],
        "target_doc_path": GOOD["target_doc_path"],
    }
    data, warnings = repaired(candidates_text(drifted))
    assert data["candidates"] == [GOOD]
    assert warnings == ("repaired drift: candidate 1 description → warning",)


def test_description_beside_warning_is_unexpected():
    text = candidates_text({**GOOD, "description": "d"})
    assert reason(TRIPWIRES, text) == "candidate 1: unexpected field description"


def test_repair_code_fence():
    data, warnings = repaired("```json\n" + CANDIDATES_TEXT + "```\n")
    assert data == CANDIDATES
    assert warnings == ("repaired drift: code fence around the JSON",)


def test_repair_bare_code_fence():
    data, warnings = repaired('\n```\n{"candidates": []}\n```')
    assert data == {"candidates": []}
    assert warnings == ("repaired drift: code fence around the JSON",)


def test_prose_around_a_fence_is_not_repaired():
    assert reason(TRIPWIRES, "Here:\n```json\n{}\n```\n").startswith("not JSON: ")


def test_repair_combination():
    first = {
        "title": "Editing a migration",
        "description": "Make a new one.",
        "target_doc_path": "db/migrations.md",
    }
    second = {"name": "Pushing in a dry run", "warning": "Never.", "target_doc_path": "cli/land.md"}
    text = "```json\n" + json.dumps({"tripwire_candidates": [first, second]}, indent=4) + "\n```"
    data, warnings = repaired(text)
    assert data == {
        "candidates": [
            GOOD,
            {"action": "Pushing in a dry run", "warning": "Never.", "target_doc_path": "cli/land.md"},
        ]
    }
    assert warnings == (
        "repaired drift: code fence around the JSON",
        "repaired drift: tripwire_candidates → candidates",
        "repaired drift: candidate 1 title → action",
        "repaired drift: candidate 1 description → warning",
        "repaired drift: candidate 2 name → action",
    )


def test_repaired_text_keeps_non_ascii():
    drifted = {**GOOD, "warning": "Ne modifiez pas — créez-en une."}
    drifted["title"] = drifted.pop("action")
    checked = check_file(TRIPWIRES, candidates_text(drifted), title=TITLE)
    assert "— créez" in checked.text


def test_repair_then_failure_still_fails():
    drifted = {"title": "t", "description": "", "target_doc_path": "x.md"}
    assert (
        reason(TRIPWIRES, candidates_text(drifted, key="tripwire_candidates"))
        == "candidate 1: warning is empty"
    )


# --- parsers --------------------------------------------------------------------------------------


def test_parse_candidates():
    assert parse_candidates(CANDIDATES_TEXT) == [
        Candidate(
            "Adding a method to the Git gateway",
            "Add the same method to FakeGit, or tests fail with AttributeError.",
            "testing/fakes.md",
        ),
        Candidate(
            "Pushing from a dry-run code path", "A dry run may fetch but must never push.", "cli/land.md"
        ),
    ]
    assert parse_candidates('{"candidates": []}') == []


def test_parse_candidates_repairs_drift_too():
    drifted = {
        "name": "Editing a migration",
        "description": "Make a new one.",
        "target_doc_path": "db/migrations.md",
    }
    assert parse_candidates("```json\n" + candidates_text(drifted, key="tripwire_candidates") + "\n```") == [
        Candidate(**GOOD)
    ]


@pytest.mark.parametrize(
    ("action", "expected"),
    [
        ("  Editing   a\tMigration\n", "editing a migration"),
        ("EDITING A MIGRATION", "editing a migration"),
        ("", ""),
    ],
)
def test_normalize_action(action, expected):
    assert normalize_action(action) == expected


def test_section():
    assert section(DOCS_TEXT, "Existing Documentation Found") == (
        "- docs/cli/land.md: the land workflow, no flags section.\n"
        "- docs/testing/fakes.md: how fakes mirror gateways."
    )
    assert section(DOCS_TEXT, "Contradiction Warnings") == "None found."
    assert section(DOCS_TEXT, "Nothing") is None
    assert section("## Empty\n\n## Next\n\nx\n", "Empty") == ""


def test_section_keeps_fenced_headings_and_stops_at_level_one():
    text = "## Context\n\n```\n## Not a heading\n```\n\n# Appendix\n\nx\n"
    assert section(text, "Context") == "```\n## Not a heading\n```"


def test_parse_plan_items_bullets():
    assert parse_plan_items(PLAN_TEXT) == [
        PlanItem("**docs/cli/land.md** (UPDATE, HIGH): describe `--dry-run` and what it skips.", "HIGH"),
        PlanItem("**docs/testing/fakes.md** (UPDATE, MEDIUM): fakes mirror every gateway method.", "MEDIUM"),
    ]


def test_parse_plan_items_numbered_with_nested_details():
    body = (
        "Items in order:\n\n"
        "1. Document `--dry-run` in docs/cli/land.md\n"
        "   - Priority: high\n"
        "   - Covers the low-level plan object\n"
        "2. Explain fakes (Low)\n"
        "3) Mention fetch in dry runs\n"
        "\n"
        "Nothing else.\n"
    )
    text = f"# Documentation Plan: {TITLE}\n\n## Documentation Items\n\n{body}\n## Tripwire Insights\n\nx\n"
    assert parse_plan_items(text) == [
        PlanItem("Document `--dry-run` in docs/cli/land.md", "HIGH"),
        PlanItem("Explain fakes (Low)", "LOW"),
        PlanItem("Mention fetch in dry runs", None),
    ]


def test_parse_plan_items_lowercase_word_alone_is_not_a_priority():
    text = "## Documentation Items\n\n- a low-level helper\n- keep the overhead low\n"
    assert parse_plan_items(text) == [
        PlanItem("a low-level helper", None),
        PlanItem("keep the overhead low", None),
    ]


def test_parse_plan_items_table():
    text = (
        "## Documentation Items\n\n"
        "| Doc | Action | Priority |\n"
        "| --- | --- | --- |\n"
        "| docs/cli/land.md | UPDATE | HIGH |\n"
        "| docs/testing/fakes.md | `a \\| b` | low |\n"
        "| docs/x.md | CREATE |  |\n"
    )
    assert parse_plan_items(text) == [
        PlanItem("docs/cli/land.md | UPDATE | HIGH", "HIGH"),
        PlanItem("docs/testing/fakes.md | `a | b` | low", "LOW"),
        PlanItem("docs/x.md | CREATE", None),
    ]


def test_parse_plan_items_erk_layout():
    text = f"""\
# Documentation Plan: {TITLE}

## Documentation Items

### HIGH Priority

#### 1. Document the dry-run flag

**Location:** `docs/learned/cli/land.md`
**Action:** UPDATE

**Draft Content:**

````markdown
## Dry run

LOW-level detail that is not a priority.
````

---

#### 2. FakeGit parity

**Location:** `docs/learned/testing/fakes.md`

### MEDIUM Priority

#### 1. Fetch in dry runs

### Low priority items (1)

#### 1. Changelog note

## Tripwire Insights

x
"""
    assert parse_plan_items(text) == [
        PlanItem("Document the dry-run flag", "HIGH"),
        PlanItem("FakeGit parity", "HIGH"),
        PlanItem("Fetch in dry runs", "MEDIUM"),
        PlanItem("Changelog note", "LOW"),
    ]


def test_parse_plan_items_headings_with_own_priority():
    text = "## Documentation Items\n\n### Dry-run flag (HIGH)\n\ntext\n\n### Fakes\n\n**Priority:** MEDIUM\n"
    assert parse_plan_items(text) == [PlanItem("Dry-run flag (HIGH)", "HIGH"), PlanItem("Fakes", "MEDIUM")]


def test_parse_plan_items_bullets_under_priority_groups():
    text = "## Documentation Items\n\n### HIGH\n\n- one\n- two\n\n### Priority: LOW\n\n- three (MEDIUM)\n"
    assert parse_plan_items(text) == [
        PlanItem("one", "HIGH"),
        PlanItem("two", "HIGH"),
        PlanItem("three (MEDIUM)", "MEDIUM"),
    ]


def test_parse_plan_items_without_section_or_items():
    assert parse_plan_items("# Documentation Plan: x\n") == []
    assert parse_plan_items("## Documentation Items\n\nNone found.\n") == []


def test_gap_table_markup_tolerance_is_only_enclosing_markup():
    table = "| # | **Item** | `Classification` | Priority | Source |\n|---|---|---|---|---|\n"
    check_file(GAPS, replace_table(table + "| 1 | a | *SKIP* | `LOW` | s |"), title=TITLE)
    assert reason(GAPS, replace_table(table + "| 1 | a | `SKIP` or `NEW_DOC` | LOW | s |")) == (
        "row 1: classification `SKIP` or `NEW_DOC` is not one of NEW_DOC, UPDATE_EXISTING, TRIPWIRE, SKIP"
    )


def test_gap_table_without_leading_pipe_on_hash_column_is_a_heading():
    # `# | Item ...` at column 0 is a level-1 heading in markdown, so the section holds no table.
    table = "# | Item | Classification | Priority | Source\n--|--|--|--|--\n1 | a | SKIP | LOW | s"
    assert reason(GAPS, replace_table(table)) == "heading Enumerated Items has no text"
