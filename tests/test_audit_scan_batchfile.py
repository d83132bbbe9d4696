"""The batch file: writing, strict reading with the spec's failure reasons, and the local executor."""

import os

import pytest

from runs.operations.audit_scan.batchfile import (
    EMPTY_FILE,
    MISSING_FILE,
    BatchFileError,
    format_batch,
    format_block,
    parse_batch,
)
from runs.operations.audit_scan.local import exists_under, local_batch_text
from runs.operations.audit_scan.signals import SIGNAL_KEYS

SPEC_BLOCK = """\
path: planning/plan-schema.md
lines: 154
code_blocks: 5
file_path_refs: 8
broken_paths: 2
last_audited: 2026-02-16 14:20 PT
audit_result: clean
has_redirect: false
import_count: 3
behavioral_claims: 12
step_sequences: 2
line_number_refs: 5
symbol_refs: 8"""


def record(path: str = "a.md", **changes) -> dict:
    values = {
        "path": path,
        "lines": 10,
        "code_blocks": 0,
        "file_path_refs": 1,
        "broken_paths": 0,
        "last_audited": "none",
        "audit_result": "none",
        "has_redirect": False,
        "import_count": 0,
        "behavioral_claims": 2,
        "step_sequences": 0,
        "line_number_refs": 0,
        "symbol_refs": 3,
    }
    values.update(changes)
    return values


def reason(text: str, expected=("a.md",)) -> str:
    with pytest.raises(BatchFileError) as caught:
        parse_batch(text, list(expected))
    assert str(caught.value) == caught.value.reason
    return caught.value.reason


def block_lines(rec: dict | None = None) -> list[str]:
    return format_block(rec or record()).split("\n")


# --- writing ---------------------------------------------------------------------------------------


def test_format_block_writes_the_spec_example_exactly():
    spec_record = {
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
    assert format_block(spec_record) == SPEC_BLOCK
    assert parse_batch(SPEC_BLOCK + "\n", ["planning/plan-schema.md"]) == [spec_record]


def test_format_block_keeps_the_key_order_and_writes_bools_as_words():
    lines = block_lines(record(has_redirect=True))
    assert [line.split(": ")[0] for line in lines] == list(SIGNAL_KEYS)
    assert "has_redirect: true" in lines


def test_format_batch_separates_blocks_with_one_blank_line_and_ends_with_a_newline():
    text = format_batch([record("a.md"), record("b.md")])
    assert text == format_block(record("a.md")) + "\n\n" + format_block(record("b.md")) + "\n"


@pytest.mark.parametrize(
    "changes",
    [{"lines": -1}, {"lines": "3"}, {"lines": True}, {"has_redirect": 1}, {"path": ""}, {"path": "a\nb.md"}],
)
def test_format_block_refuses_values_that_would_not_read_back(changes):
    with pytest.raises(ValueError):
        format_block(record(**changes))


def test_round_trip():
    records = [
        record("a.md", has_redirect=True, last_audited="2026-02-16 14:20 PT", audit_result="edited"),
        record("dir/b c.md", lines=0, behavioral_claims=0, last_audited='""', audit_result='["x", 1]'),
        record("ünï.md", lines=123456789012, symbol_refs=7),
    ]
    assert parse_batch(format_batch(records), ["ünï.md", "dir/b c.md", "a.md"]) == records


def test_parse_returns_records_in_file_order_with_their_types():
    records = parse_batch(format_batch([record("b.md"), record("a.md")]), ["a.md", "b.md"])
    assert [r["path"] for r in records] == ["b.md", "a.md"]
    assert records[0]["lines"] == 10
    assert records[0]["has_redirect"] is False


# --- tolerated layout ------------------------------------------------------------------------------


def test_crlf_line_endings_are_accepted():
    text = format_batch([record("a.md"), record("b.md")]).replace("\n", "\r\n")
    assert parse_batch(text, ["a.md", "b.md"]) == [record("a.md"), record("b.md")]


def test_blank_lines_around_and_between_blocks_are_accepted():
    text = "\n\n" + format_block(record("a.md")) + "\n\n\n  \n" + format_block(record("b.md")) + "\n\n\n"
    assert parse_batch(text, ["a.md", "b.md"]) == [record("a.md"), record("b.md")]


def test_no_trailing_newline_is_accepted():
    assert parse_batch(format_block(record()), ["a.md"]) == [record()]


def test_keys_may_come_in_any_order_within_a_block():
    lines = block_lines()
    assert parse_batch("\n".join(reversed(lines)), ["a.md"]) == [record()]


# --- failure reasons -------------------------------------------------------------------------------


def test_missing_file_is_named_for_the_caller():
    assert MISSING_FILE == "missing file"


def test_empty_file():
    assert reason("") == EMPTY_FILE == "empty file"
    assert reason(" \n\r\n\t\n") == "empty file"


def test_a_value_that_is_not_a_whole_number():
    blocks = [format_block(record("a.md")), format_block(record("b.md")), format_block(record("c.md"))]
    for bad in ("-1", "1.0", "", " 5", "5 ", "+5", "five", "\u0663", "1_000"):
        blocks[2] = format_block(record("c.md")).replace("lines: 10", f"lines: {bad}")
        assert reason("\n\n".join(blocks), ["a.md", "b.md", "c.md"]) == "block 3: lines is not a whole number"


def test_a_missing_key():
    lines = [line for line in block_lines() if not line.startswith("symbol_refs")]
    text = format_block(record("b.md")) + "\n\n" + "\n".join(lines)
    assert reason(text, ["a.md", "b.md"]) == "block 2: missing key symbol_refs"


def test_an_unknown_key():
    text = format_block(record("b.md")) + "\n\n" + format_block(record()) + "\nfoo: 1"
    assert reason(text, ["a.md", "b.md"]) == "block 2: unknown key foo"


def test_a_duplicate_key():
    text = format_block(record("b.md")) + "\n\n" + format_block(record()) + "\nlines: 10"
    assert reason(text, ["a.md", "b.md"]) == "block 2: duplicate key lines"


def test_a_line_that_is_not_key_value():
    for bad in (
        "lines:10",
        "lines:",
        "- lines: 10",
        " lines: 10",
        "```",
        "Here is the file: a.md",
        "# Batch",
    ):
        lines = block_lines()
        lines[3] = bad
        text = format_block(record("b.md")) + "\n\n" + "\n".join(lines)
        assert reason(text, ["a.md", "b.md"]) == 'block 2: line 4 is not "key: value"', bad


def test_a_code_fence_around_the_file_fails_on_its_first_line():
    text = "```\n" + format_block(record()) + "\n```\n"
    assert reason(text) == 'block 1: line 1 is not "key: value"'


def test_has_redirect_must_be_true_or_false():
    for bad in ("True", "yes", "1", ""):
        text = format_block(record()).replace("has_redirect: false", f"has_redirect: {bad}")
        assert reason(text) == "block 1: has_redirect is not true or false", bad


def test_string_values_must_not_be_empty():
    assert reason(format_block(record()).replace("path: a.md", "path: ")) == "block 1: path is empty"
    text = format_block(record()).replace("last_audited: none", "last_audited: ")
    assert reason(text) == "block 1: last_audited is empty"


def test_the_first_problem_in_reading_order_is_named():
    lines = block_lines()
    lines[1] = "lines: x"
    lines[2] = "bogus: 1"
    assert reason("\n".join(lines)) == "block 1: lines is not a whole number"
    text = "\n".join(lines) + "\n\n" + "nonsense"
    assert reason(text) == "block 1: lines is not a whole number"


def test_blocks_are_checked_before_coverage():
    text = (
        format_block(record("zzz.md"))
        + "\n\n"
        + format_block(record("b.md")).replace("lines: 10", "lines: x")
    )
    assert reason(text) == "block 2: lines is not a whole number"


def test_a_duplicate_doc():
    text = format_batch([record("a.md"), record("d.md"), record("d.md")])
    assert reason(text, ["a.md", "d.md"]) == "duplicate: d.md"


def test_an_unexpected_doc():
    text = format_batch([record("a.md"), record("c.md")])
    assert reason(text, ["a.md"]) == "unexpected: c.md"


def test_missing_docs_are_listed_sorted():
    text = format_batch([record("c.md")])
    assert reason(text, ["c.md", "b.md", "a.md"]) == "missing: a.md, b.md"


def test_coverage_problems_are_checked_duplicate_then_unexpected_then_missing():
    both = format_batch([record("x.md"), record("d.md"), record("d.md"), record("e.md"), record("e.md")])
    assert reason(both, ["a.md", "d.md", "e.md"]) == "duplicate: d.md, e.md"
    text = format_batch([record("y.md"), record("x.md")])
    assert reason(text, ["a.md"]) == "unexpected: x.md, y.md"


# --- the local executor ------------------------------------------------------------------------------


def test_local_batch_text_measures_each_doc_and_passes_verification(tmp_path):
    repo = tmp_path / "repo"
    docs = repo / "docs" / "learned"
    (docs / "guide").mkdir(parents=True)
    (repo / "src").mkdir()
    (repo / "src" / "app.py").write_text("")
    (docs / "a.md").write_text("See src/app.py and src/gone.py.\n")
    (docs / "guide" / "b.md").write_bytes(b"---\nlast_audited: 2026-01-01\n---\nIt returns \xff.\n")
    text = local_batch_text(["guide/b.md", "a.md"], docs, repo)
    records = parse_batch(text, ["a.md", "guide/b.md"])
    assert [r["path"] for r in records] == ["guide/b.md", "a.md"]
    assert records[0]["last_audited"] == "2026-01-01"
    assert records[0]["behavioral_claims"] == 1
    assert records[1]["file_path_refs"] == 2
    assert records[1]["broken_paths"] == 1


def test_exists_under_sees_files_and_folders(tmp_path):
    (tmp_path / "src" / "pkg").mkdir(parents=True)
    (tmp_path / "src" / "pkg" / "m.py").write_text("")
    exists = exists_under(tmp_path)
    assert exists("src/pkg")
    assert exists("src/pkg/m.py")
    assert exists("src/pkg/../pkg/m.py")
    assert not exists("src/nope.py")
    assert not exists("src/" + "x" * 5000)  # a name too long is an answer, not an error


def test_exists_under_refuses_to_leave_the_repo_root_like_the_agent_tool(tmp_path):
    repo = tmp_path / "repo"
    (repo / "src").mkdir(parents=True)
    (tmp_path / "outside.py").write_text("")
    os.symlink(tmp_path, repo / "src" / "up")
    exists = exists_under(repo)
    assert (repo / "src" / ".." / ".." / "outside.py").exists()
    assert not exists("src/../../outside.py")
    assert not exists("src/up/outside.py")
    assert not exists(str(tmp_path / "outside.py"))
