"""What an audit-doc agent is told (specs/audit-doc.md): the shared system prompt and the per-doc
message, which the simulator's player reads back."""

import pytest

from erkweb import published_models
from runs.operations.audit_doc.prompts import (
    OPERATION_MARKER,
    SYSTEM_PROMPT,
    DocAssignment,
    doc_message,
    parse_doc_message,
)
from runs.operations.audit_doc.sections import doc_sections
from runs.operations.audit_doc.verdict import CATEGORIES, STATUSES, VERDICTS
from runs.operations.base import final_message
from runs.simulator import tokens

OUTPUT = "/var/scratch/audit-doc-20261128-101500-a1b2/audit-3.md"


def message(**overrides) -> str:
    fields = {
        "run_id": "audit-doc-20261128-101500-a1b2",
        "index": 3,
        "count": 5,
        "output_path": OUTPUT,
        "doc": "planning/plan-schema.md",
        "read_path": "docs/learned/planning/plan-schema.md",
        "sections": [("(intro)", 4), ("Import paths", 1), ("Why | two schemas", 12), ("", 2)],
    }
    return doc_message(**{**fields, **overrides})


def test_the_system_prompt_states_the_rules_and_holds_no_run_data():
    assert SYSTEM_PROMPT.splitlines()[0] == OPERATION_MARKER == "# erkweb agent: audit-doc"
    for word in (*CATEGORIES, *VERDICTS, *STATUSES, "search_code", "path_exists", "write_file", "read_file"):
        assert f"`{word}`" in SYSTEM_PROMPT, word
    for rule in (
        "bad >= 80% and no good section",
        "bad >= 60%",
        "bad >= 30% and at least one good section",
        "rounded down",
        "`title`, `read_when` and `tripwires`",
        "Reply with exactly `Output written to <path>`",
        "`SC` (stale comment)",
        "`SF` (stale flow)",
        "up to 50 matches",
    ):
        assert rule in SYSTEM_PROMPT, rule
    assert "audit-doc-2026" not in SYSTEM_PROMPT and "/var/scratch" not in SYSTEM_PROMPT


def test_the_system_prompt_is_long_enough_to_be_cached_by_the_default_model():
    # A cache breakpoint on a shorter prefix creates no cache entry (published_models.py cites the
    # models' pages); audit-doc's default model is sonnet.
    sonnet = published_models.get("claude-sonnet-5-5")
    assert tokens.count_text(SYSTEM_PROMPT) >= sonnet.min_cacheable_tokens


def test_the_doc_message_reads_back_exactly():
    text = message()
    assert text.splitlines() == [
        "erkweb run audit-doc-20261128-101500-a1b2, batch 3 of 5.",
        f"Output file: {OUTPUT}",
        "Doc: planning/plan-schema.md",
        "Read it with read_file: docs/learned/planning/plan-schema.md",
        "Sections (4, computed by erkweb; list each exactly once, in this order):",
        "- (intro) (4 lines)",
        "- Import paths (1 line)",
        "- Why | two schemas (12 lines)",
        "-  (2 lines)",
        f"When the file is written, reply with exactly: {final_message(OUTPUT)}",
    ]
    assert parse_doc_message(text) == DocAssignment(
        run_id="audit-doc-20261128-101500-a1b2",
        index=3,
        count=5,
        output_path=OUTPUT,
        doc="planning/plan-schema.md",
        read_path="docs/learned/planning/plan-schema.md",
        sections=(("(intro)", 4), ("Import paths", 1), ("Why | two schemas", 12), ("", 2)),
    )


def test_a_section_named_like_a_size_still_reads_back():
    text = message(sections=[("Sizes (3 lines)", 7)])
    assert parse_doc_message(text).sections == (("Sizes (3 lines)", 7),)


def test_sections_as_erkweb_computes_them_go_into_the_message():
    doc = "# T\n\nintro\n## A\nx\n## B\n"
    sections = [(s.name, s.size) for s in doc_sections(doc).sections]
    assert parse_doc_message(message(sections=sections)).sections == (("(intro)", 3), ("A", 2), ("B", 1))
    assert parse_doc_message(message(sections=[])).sections == ()


@pytest.mark.parametrize(
    "overrides",
    [{"run_id": "two words"}, {"doc": "a\nb.md"}, {"read_path": ""}, {"sections": [("a\nb", 1)]}],
)
def test_values_that_could_not_be_read_back_are_refused(overrides):
    with pytest.raises(ValueError):
        message(**overrides)


def test_other_text_is_not_an_assignment():
    assert parse_doc_message("hi") is None
    assert parse_doc_message(message().replace("(4, computed", "(3, computed")) is None
    assert parse_doc_message(message().replace(f"exactly: {final_message(OUTPUT)}", "exactly: done")) is None
