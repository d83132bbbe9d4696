"""The twelve signals, rule by rule, with the edge cases specs/audit-scan.md states."""

import random
import time

from runs.operations.audit_scan.signals import (
    BOOL_KEYS,
    FILE_LINE_REF,
    INT_KEYS,
    SIGNAL_KEYS,
    STR_KEYS,
    _count_file_line_refs,
    measure,
    path_candidates,
)

FENCE = "```"


def signal(text: str, key: str, exists=lambda rel: True):
    return measure("doc.md", text, exists)[key]


def doc(*lines: str) -> str:
    return "\n".join(lines) + "\n"


# --- the record ----------------------------------------------------------------------------------


def test_measure_gives_all_thirteen_keys_with_their_types():
    record = measure("guide/a.md", "# A\n", lambda rel: True)
    assert tuple(record) == SIGNAL_KEYS
    assert set(SIGNAL_KEYS) == INT_KEYS | STR_KEYS | BOOL_KEYS
    assert {"path", "last_audited", "audit_result"} == STR_KEYS
    assert {"has_redirect"} == BOOL_KEYS
    for key in INT_KEYS:
        assert type(record[key]) is int, key
    assert record["has_redirect"] is False
    assert record["path"] == "guide/a.md"


def test_a_realistic_doc_measures_every_signal():
    text = doc(
        "---",
        "last_audited: 2026-02-16 14:20 PT",
        "audit_result: clean",
        "---",
        "# Plan schema",
        "",
        "The loader `load_plan()` returns a `PlanSchema` and raises on bad input.",
        "See src/plans/schema.py:42 and lines 10-20 of tests/test_schema.py.",
        "",
        "1. Run the command.",
        "2. Check the output.",
        "3. Commit.",
        "",
        "```python",
        "from plans import schema",
        "import os",
        "x = schema.load('src/missing.py')",
        "```",
    )
    record = measure("planning/plan-schema.md", text, lambda rel: rel != "src/missing.py")
    assert record == {
        "path": "planning/plan-schema.md",
        "lines": 18,
        "code_blocks": 1,
        "file_path_refs": 3,
        "broken_paths": 1,
        "last_audited": "2026-02-16 14:20 PT",
        "audit_result": "clean",
        "has_redirect": False,
        "import_count": 2,
        "behavioral_claims": 1,
        "step_sequences": 1,
        "line_number_refs": 2,
        "symbol_refs": 2,
    }


# --- lines ---------------------------------------------------------------------------------------


def test_lines_counts_every_line_of_the_file_frontmatter_included():
    assert signal("", "lines") == 0
    assert signal("a", "lines") == 1
    assert signal("a\nb\n", "lines") == 2
    assert signal("a\nb", "lines") == 2
    assert signal("a\r\nb\r\n", "lines") == 2
    assert signal("a\n\n\n", "lines") == 3
    assert signal("---\nx: 1\n---\nbody\n", "lines") == 4


# --- code blocks -----------------------------------------------------------------------------------


def test_code_blocks_counts_blocks_opened():
    assert signal(doc("text"), "code_blocks") == 0
    assert signal(doc(FENCE, "a", FENCE, "", FENCE + "sh", "b", FENCE), "code_blocks") == 2


def test_a_fence_may_be_indented_with_spaces_but_not_tabs():
    assert signal(doc("   ```python", "x", "   ```"), "code_blocks") == 1
    assert signal(doc("\t```", "import os", "\t```"), "code_blocks") == 0
    assert signal(doc("\t```", "import os", "\t```"), "import_count") == 0  # prose, not code


def test_four_backticks_open_a_block_and_any_fence_line_closes_it():
    text = doc("````md", "import a", "```", "import b", "```", "import c")
    # ```` opens, the first ``` closes it (import b is prose); the second ``` opens a block that never
    # closes.
    assert signal(text, "code_blocks") == 2
    assert signal(text, "import_count") == 2


def test_two_backticks_are_not_a_fence():
    assert signal(doc("``", "import os", "``"), "code_blocks") == 0


def test_an_unclosed_block_runs_to_the_end():
    text = doc("intro", FENCE, "import os", "It returns x.", "1. a", "2. b", "3. c")
    assert signal(text, "code_blocks") == 1
    assert signal(text, "import_count") == 1
    assert signal(text, "behavioral_claims") == 0
    assert signal(text, "step_sequences") == 0


def test_fences_in_the_frontmatter_are_not_counted():
    text = doc("---", "example: |", "  ```", "  import os", "---", "body")
    assert signal(text, "code_blocks") == 0


# --- file_path_refs and broken_paths ------------------------------------------------------------------


def test_path_refs_count_every_match_in_every_body_line():
    text = doc(
        "See src/app.py and tests/test_app.py, then src/app.py again.",
        "Commands live in .claude/commands/x.md and packages/core/.",
        FENCE + " src/in/fence.py",
        "cat src/in/code.py",
        FENCE,
    )
    assert signal(text, "file_path_refs") == 7


def test_path_refs_need_nothing_path_like_before_them():
    for text in (
        "mysrc/x.py",
        "./src/x.py",
        "lib/tests/x.py",
        "-src/x",
        "_src/x",
        "a.claude/x",
        "1tests/x",
        "~/.claude/x",
    ):
        assert signal(doc(text), "file_path_refs") == 0, text
    for text in ("(src/x.py)", "`src/x.py`", "'tests/x'", "[src/x](src/x)", "at:src/x"):
        assert signal(doc(text), "file_path_refs") >= 1, text


def test_path_refs_need_a_slash_and_something_after_it():
    for text in ("src", "src/", "srcs/x", "source/x", "test/x", "claude/x", "src /x"):
        assert signal(doc(text), "file_path_refs") == 0, text


def test_path_refs_in_the_frontmatter_are_not_counted():
    text = doc("---", "see: src/app.py", "---", "body")
    assert signal(text, "file_path_refs") == 0
    assert path_candidates(text) == []


def test_candidates_strip_trailing_punctuation_and_slashes():
    assert path_candidates(doc("Open src/app.py.")) == ["src/app.py"]
    assert path_candidates(doc("Open src/dir/.")) == ["src/dir"]
    assert path_candidates(doc("Open src/a... now")) == ["src/a"]
    assert path_candidates(doc("Open tests/x/, then")) == ["tests/x"]
    assert path_candidates(doc("Under src/./")) == ["src"]


def test_candidates_are_the_first_three_distinct_refs_in_order():
    text = doc("src/b.py src/a.py src/b.py", "src/b.py/ tests/c tests/d tests/e")
    assert path_candidates(text) == ["src/b.py", "src/a.py", "tests/c"]
    assert signal(text, "file_path_refs") == 7


def test_broken_paths_checks_only_the_candidates_with_the_exists_callback():
    asked = []

    def exists(rel):
        asked.append(rel)
        return rel == "src/ok.py"

    text = doc("src/ok.py, src/gone.py: src/ok.py tests/gone/ tests/never_checked.py")
    assert signal(text, "broken_paths", exists) == 2
    assert asked == ["src/ok.py", "src/gone.py", "tests/gone"]


def test_broken_paths_is_at_most_three():
    text = doc("src/a src/b src/c src/d src/e")
    assert signal(text, "broken_paths", lambda rel: False) == 3
    assert signal(text, "broken_paths", lambda rel: True) == 0


def test_a_doc_without_path_refs_asks_nothing():
    def exists(rel):
        raise AssertionError("no path to check")

    assert signal(doc("no paths here"), "broken_paths", exists) == 0


# --- frontmatter signals ---------------------------------------------------------------------------


def test_last_audited_and_audit_result_are_strings_or_none():
    text = doc("---", "last_audited: 2026-02-16", "audit_result: edited", "---")
    assert signal(text, "last_audited") == "2026-02-16"
    assert signal(text, "audit_result") == "edited"
    assert signal(doc("no frontmatter"), "last_audited") == "none"
    assert signal(doc("---", "title: x", "---"), "audit_result") == "none"


def test_has_redirect_when_the_key_is_present_whatever_its_value():
    assert signal(doc("---", "redirect_to: other.md", "---"), "has_redirect") is True
    assert signal(doc("---", "redirect_to:", "---"), "has_redirect") is True
    assert signal(doc("---", "title: x", "---"), "has_redirect") is False
    assert signal(doc("redirect_to: x.md"), "has_redirect") is False
    assert signal(doc("---", "redirect_to: [", "---"), "has_redirect") is False  # unparsable YAML


# --- import_count ---------------------------------------------------------------------------------


def test_imports_are_counted_in_code_lines_only():
    text = doc(
        "import os",
        "from a import b",
        "    import indented_prose",
        FENCE,
        "import os",
        "  from a.b import c",
        "from . import x",
        "\timport sys",
        "import",
        "importlib.reload(x)",
        "from x import",
        "# import os",
        FENCE,
    )
    assert signal(text, "import_count") == 4


# --- behavioral_claims -------------------------------------------------------------------------------


def test_claims_count_prose_lines_with_a_whole_claim_word_ignoring_case():
    text = doc(
        "It returns x.",
        "RAISES an error",
        "It will and must, always.",
        "# Never again",
        "It does.",
        "It doesn't.",
        "He is willing.",
        "never_mind and returned",
        FENCE,
        "it returns",
        FENCE,
    )
    assert signal(text, "behavioral_claims") == 5


def test_claims_in_the_frontmatter_are_not_counted():
    assert signal(doc("---", "summary: it returns", "---", "text"), "behavioral_claims") == 0


# --- step_sequences --------------------------------------------------------------------------------


def test_three_numbered_items_make_a_step_sequence():
    assert signal(doc("1. a", "2. b", "3. c"), "step_sequences") == 1
    assert signal(doc("1) a", "2) b", "3) c"), "step_sequences") == 1
    assert signal(doc("10. a", "11. b", "12. c", "13. d"), "step_sequences") == 1
    assert signal(doc("1. a", "1. b", "1. c"), "step_sequences") == 1


def test_a_run_of_two_is_not_a_step_sequence():
    assert signal(doc("1. a", "2. b"), "step_sequences") == 0


def test_numbered_items_need_column_zero_and_whitespace_after_the_mark():
    assert signal(doc("1.a", "2.b", "3.c"), "step_sequences") == 0
    assert signal(doc("1.", "2.", "3."), "step_sequences") == 0
    assert signal(doc(" 1. a", " 2. b", " 3. c"), "step_sequences") == 0
    assert signal(doc("1.\ta", "2.\tb", "3.\tc"), "step_sequences") == 1


def test_a_run_goes_on_across_blank_and_indented_lines():
    assert signal(doc("1. a", "", "2. b", "", "", "3. c"), "step_sequences") == 1
    assert signal(doc("1. a", "   detail", "2. b", "\tmore", "3. c"), "step_sequences") == 1


def test_an_indented_numbered_line_continues_a_run_without_adding_to_it():
    assert signal(doc("1. a", " 2. b", "3. c"), "step_sequences") == 0


def test_a_prose_line_ends_a_run():
    assert signal(doc("1. a", "2. b", "Then:", "3. c"), "step_sequences") == 0
    assert signal(doc("1. a", "2. b", "3. c", "Text", "1. x", "2. y", "3. z", "4. w"), "step_sequences") == 2
    assert signal(doc("1. a", "2. b", "3. c", "- bullet", "1. x"), "step_sequences") == 1


def test_numbered_lines_inside_code_are_not_items():
    assert signal(doc(FENCE, "1. a", "2. b", "3. c", FENCE), "step_sequences") == 0
    assert signal(doc("1. a", FENCE, "2. b", "3. c", FENCE), "step_sequences") == 0


def test_code_blocks_neither_continue_nor_end_a_run():
    # Fence and code lines are not prose lines, and runs are counted among prose lines.
    assert signal(doc("1. a", FENCE, "Text at column 0", FENCE, "2. b", "3. c"), "step_sequences") == 1


# --- line_number_refs --------------------------------------------------------------------------------


def test_file_line_refs_are_counted_in_prose():
    assert signal(doc("See src/app.py:42."), "line_number_refs") == 1
    assert signal(doc("app.py:42:7"), "line_number_refs") == 1
    assert signal(doc("a.py:1, b.md:2 and c.txt:3"), "line_number_refs") == 3
    assert signal(doc("./pkg/mod-x.py:10"), "line_number_refs") == 1


def test_file_line_refs_need_an_extension_and_a_line_number():
    for text in ("12:30", "app:42", "app.py:", "app.py:x", "app.:3", "app.py:42abc", "v1.2 :3"):
        assert signal(doc(text), "line_number_refs") == 0, text


def test_lines_refs_are_counted_in_prose():
    assert signal(doc("line 12"), "line_number_refs") == 1
    assert signal(doc("Lines 3-5"), "line_number_refs") == 1
    assert signal(doc("lines  7 and Line 8"), "line_number_refs") == 2
    for text in ("Line12", "outline 5", "pipeline 3", "LINE 4", "line x"):
        assert signal(doc(text), "line_number_refs") == 0, text


def test_both_kinds_of_line_refs_add_up():
    assert signal(doc("foo.py:12 and line 4"), "line_number_refs") == 2


def test_line_refs_in_code_are_not_counted():
    assert signal(doc(FENCE, "app.py:42 line 3", FENCE), "line_number_refs") == 0


def test_file_line_ref_count_matches_the_spec_regex():
    # The counter avoids the regex's quadratic backtracking; it must still find exactly what it finds.
    rng = random.Random(20260216)
    alphabet = "ab1._/-: \t\u00e9\u00b2\u0663Lx"
    for _ in range(20000):
        line = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 30)))
        assert _count_file_line_refs(line) == len(FILE_LINE_REF.findall(line)), repr(line)


def test_a_long_dotted_line_is_measured_quickly():
    line = "a." * 300_000  # the plain regex would take hours on this
    started = time.monotonic()
    assert signal(line + "py:1\n" + line, "line_number_refs") == 1
    assert time.monotonic() - started < 5


# --- symbol_refs ---------------------------------------------------------------------------------


def test_camel_case_and_snake_case_spans_are_symbols():
    for span in ("PlanSchema", "PlanSchema()", "My2Class", "BcDef", "load_plan", "load_plan()", "a_1"):
        assert signal(doc(f"Use `{span}` here."), "symbol_refs") == 1, span


def test_other_spans_are_not_symbols():
    for span in ("Plan", "HTTPServer", "load", "_private", "Load_plan", "load_", "plan_schema()()", "a_b c"):
        assert signal(doc(f"Use `{span}` here."), "symbol_refs") == 0, span


def test_every_symbol_span_on_a_line_counts():
    assert signal(doc("`PlanSchema` and `load_plan` and `x`"), "symbol_refs") == 2


def test_symbol_spans_stay_on_one_line_and_in_prose():
    assert signal(doc("`Plan", "Schema`"), "symbol_refs") == 0
    assert signal(doc(FENCE, "`PlanSchema`", FENCE), "symbol_refs") == 0


def test_double_backtick_spans_count_as_the_regex_finds_them():
    # `([^`\n]+)` finds `PlanSchema` between the inner backticks.
    assert signal(doc("``PlanSchema``"), "symbol_refs") == 1
