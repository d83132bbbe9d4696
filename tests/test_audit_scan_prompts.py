"""The agent protocol: the shared system prompt and the batch message an offline simulator reads back."""

import pytest

from runs.operations.audit_scan import signals
from runs.operations.audit_scan.batchfile import parse_batch
from runs.operations.audit_scan.prompts import (
    OPERATION_MARKER,
    SYSTEM_PROMPT,
    BatchAssignment,
    batch_message,
    parse_batch_message,
)
from runs.operations.base import final_message

MESSAGE = {
    "run_id": "audit-scan-20260316-142000-ab12",
    "index": 2,
    "count": 5,
    "output_path": "/scratch/audit-scan-20260316-142000-ab12/batch-2.md",
    "paths": ["architecture/a.md", "planning/plan schema.md"],
}


def test_the_system_prompt_starts_with_the_operation_marker():
    assert OPERATION_MARKER == "# erkweb agent: audit-scan"
    assert SYSTEM_PROMPT.split("\n")[0] == OPERATION_MARKER


def test_the_system_prompt_names_the_tools_and_the_turn_plan():
    for text in ("read_file(path)", "path_exists(path)", "write_file(path, content, append=false)"):
        assert text in SYSTEM_PROMPT
    assert "EVERY assigned doc" in SYSTEM_PROMPT
    assert "EVERY candidate path" in SYSTEM_PROMPT
    assert "Output written to <path>" in SYSTEM_PROMPT


def test_the_system_prompt_states_every_signal_and_the_spec_regexes_verbatim():
    for key in signals.SIGNAL_KEYS:
        assert f"`{key}`" in SYSTEM_PROMPT, key
    for regex in (
        signals.PATH_REF,
        signals.IMPORT_LINE,
        signals.NUMBERED_ITEM,
        signals.FILE_LINE_REF,
        signals.LINES_REF,
        signals.CODE_SPAN,
        signals.CAMEL_CASE,
        signals.SNAKE_CASE,
    ):
        assert regex.pattern in SYSTEM_PROMPT, regex.pattern
    for word in ("returns", "raises", "does", "will", "must", "always", "never"):
        assert word in SYSTEM_PROMPT


def test_the_system_prompt_example_is_a_valid_batch_file():
    example = SYSTEM_PROMPT.split("```\n", 2)[1]
    assert parse_batch(example, ["planning/plan-schema.md"])[0]["lines"] == 154


def test_the_system_prompt_holds_no_run_data():
    assert "{" not in SYSTEM_PROMPT  # no placeholder left to fill per run
    assert "erkweb run " not in SYSTEM_PROMPT


def test_batch_message_is_exactly_the_protocol_text():
    assert batch_message(**MESSAGE) == (
        "erkweb run audit-scan-20260316-142000-ab12, batch 2 of 5.\n"
        "Output file: /scratch/audit-scan-20260316-142000-ab12/batch-2.md\n"
        "Docs to measure (2):\n"
        "- architecture/a.md\n"
        "- planning/plan schema.md"
    )


def test_parse_batch_message_reads_back_what_batch_message_wrote():
    assert parse_batch_message(batch_message(**MESSAGE)) == BatchAssignment(
        run_id=MESSAGE["run_id"],
        index=2,
        count=5,
        output_path=MESSAGE["output_path"],
        paths=("architecture/a.md", "planning/plan schema.md"),
    )


def test_a_message_with_one_or_no_docs_round_trips():
    one = {**MESSAGE, "paths": ["- odd.md"]}
    assert parse_batch_message(batch_message(**one)).paths == ("- odd.md",)
    none = {**MESSAGE, "paths": []}
    assert parse_batch_message(batch_message(**none)).paths == ()


@pytest.mark.parametrize(
    "text",
    [
        "",
        "Hello",
        "erkweb run x, batch 1 of 1.\nOutput file: /o\nDocs to measure (2):\n- a.md",
        "erkweb run x, batch one of 1.\nOutput file: /o\nDocs to measure (1):\n- a.md",
        "erkweb run x, batch 1 of 1.\nOutput file: /o\nDocs to measure (1):\n- a.md\n\nextra",
        "erkweb run x, batch 1 of 1.\nDocs to measure (1):\n- a.md",
    ],
)
def test_parse_batch_message_refuses_other_text(text):
    assert parse_batch_message(text) is None


def test_batch_message_refuses_fields_that_would_not_read_back():
    with pytest.raises(ValueError):
        batch_message(**{**MESSAGE, "run_id": "two words"})
    with pytest.raises(ValueError):
        batch_message(**{**MESSAGE, "paths": ["a\nb.md"]})
    with pytest.raises(ValueError):
        batch_message(**{**MESSAGE, "output_path": ""})


def test_final_message():
    assert final_message("/scratch/r/batch-1.md") == "Output written to /scratch/r/batch-1.md"
