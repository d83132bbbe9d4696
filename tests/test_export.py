"""Run exports: md, json and csv, as the pages and ``erk export`` serve them."""

import csv
import io
import json
from pathlib import Path

import pytest

from runs.export import EXPORT_FORMATS, export_filename, export_run
from runs.models import Batch, BatchStatus, ItemResult, Run, RunStatus
from runs.operations.audit_scan.presentation import CSV_COLUMNS
from runs.operations.audit_scan.signals import SIGNAL_KEYS
from runs.summary import run_json

from .factories import record as make_signals

pytestmark = pytest.mark.django_db

REPORT = "# Doc Audit Scan Results\n\nAs of 2026-11-28: 2 docs scanned.\n\n| doc | score |\n| --- | ---: |\n"


def make_run(tmp_path: Path, **fields) -> Run:
    defaults = {
        "run_id": "audit-scan-20261128-120000-ab12",
        "operation": "audit-scan",
        "model": "haiku",
        "model_id": "claude-haiku-4-5",
        "agents": 2,
        "summary": {"scanned": 3, "skipped": 1, "excluded": 0},
        "params": {"as_of": "2026-11-28", "docs_root": "docs/learned"},
    }
    return Run.objects.create(**(defaults | fields))


def make_batch(run: Run, index: int, inputs: list[str], **fields) -> Batch:
    defaults = {
        "output_path": f"batch-{index}.md",
        "model_id": run.model_id,
        "status": BatchStatus.VERIFIED,
    }
    return Batch.objects.create(run=run, index=index, inputs=inputs, **(defaults | fields))


def make_item(run: Run, batch: Batch, key: str, position: int, *, score=5, tier="LOW", **signals):
    return ItemResult.objects.create(
        run=run,
        batch=batch,
        key=key,
        position=position,
        score=score,
        group=tier,
        data=make_signals(key, **signals),
    )


@pytest.fixture
def succeeded_run(tmp_path) -> Run:
    run = make_run(tmp_path, status=RunStatus.SUCCEEDED, report=REPORT)
    b1 = make_batch(run, 1, ["arch/overview.md", "cli/flags.md"])
    b2 = make_batch(run, 2, ["testing/steps.md"])
    # Created out of order on purpose: exports follow position, not insertion.
    make_item(run, b2, "testing/steps.md", 1, score=3, tier="LOW", step_sequences=1)
    make_item(
        run,
        b1,
        "arch/overview.md",
        0,
        score=14,
        tier="HIGH",
        lines=17,
        code_blocks=1,
        broken_paths=1,
        has_redirect=True,
        last_audited="2026-01-02 09:00 PT",
        audit_result="edited",
    )
    make_item(run, b1, "cli/flags.md", 2, score=None, tier="SKIP", symbol_refs=2)
    return run


@pytest.fixture
def failed_run(tmp_path) -> Run:
    run = make_run(
        tmp_path,
        status=RunStatus.FAILED,
        error="1 batch failed (2): batch 2: output file missing",
    )
    make_batch(run, 1, ["a.md", "b.md"])
    make_batch(run, 2, ["c.md"], status=BatchStatus.FAILED, failure_reason="output file missing")
    return run


def parse_csv(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text, newline="")))


# --- formats ------------------------------------------------------------------------------------------
def test_formats_and_filename(succeeded_run):
    assert EXPORT_FORMATS == {
        "md": "text/markdown; charset=utf-8",
        "json": "application/json",
        "csv": "text/csv; charset=utf-8",
    }
    for fmt in EXPORT_FORMATS:
        assert export_filename(succeeded_run, fmt) == f"audit-scan-20261128-120000-ab12.{fmt}"


def test_unknown_format_raises(succeeded_run):
    with pytest.raises(ValueError, match=r"xml.*md, json, csv"):
        export_run(succeeded_run, "xml")


# --- json ---------------------------------------------------------------------------------------------
def test_json_is_run_json(succeeded_run):
    text = export_run(succeeded_run, "json")
    assert text.endswith("}\n")
    assert json.loads(text) == run_json(succeeded_run)
    assert text == json.dumps(run_json(succeeded_run), indent=2) + "\n"


def test_json_of_failed_run(failed_run):
    data = json.loads(export_run(failed_run, "json"))
    assert data == run_json(failed_run)
    assert data["status"] == "failed"
    assert data["batches"][1]["reason"] == "output file missing"


# --- md -----------------------------------------------------------------------------------------------
def test_md_of_succeeded_run_is_the_report_unchanged(succeeded_run):
    assert export_run(succeeded_run, "md") == REPORT


def test_md_of_failed_run_names_failed_batch(failed_run):
    text = export_run(failed_run, "md")
    assert text.startswith("# audit-scan-20261128-120000-ab12\n")
    assert "- status: failed" in text
    assert "- model: haiku (claude-haiku-4-5)" in text
    assert "- error: 1 batch failed (2): batch 2: output file missing" in text
    assert "| index | status | inputs | reason |" in text
    assert "| 1 | verified | 2 |  |" in text
    assert "| 2 | failed | 1 | output file missing |" in text


def test_md_table_cells_cannot_break_the_table(tmp_path):
    run = make_run(tmp_path, status=RunStatus.FAILED, error="line one\nline two")
    make_batch(run, 1, ["a.md"], status=BatchStatus.FAILED, failure_reason="bad | cell\nnew row")
    text = export_run(run, "md")
    assert "- error: line one line two" in text
    assert "| 1 | failed | 1 | bad \\| cell new row |" in text


def test_md_of_running_run(tmp_path):
    run = make_run(tmp_path, status=RunStatus.RUNNING)
    make_batch(run, 1, ["a.md"], status=BatchStatus.RUNNING)
    text = export_run(run, "md")
    assert "- status: running" in text and "error" not in text
    assert "| 1 | running | 1 |  |" in text


# --- csv ----------------------------------------------------------------------------------------------
def test_csv_header_and_rows_in_position_order(succeeded_run):
    text = export_run(succeeded_run, "csv")
    rows = parse_csv(text)
    expected_header = ["run_id", "path", "score", "tier", *[k for k in SIGNAL_KEYS if k != "path"]]
    assert list(CSV_COLUMNS) == expected_header
    assert text.splitlines()[0].split(",") == expected_header
    assert [r["path"] for r in rows] == ["arch/overview.md", "testing/steps.md", "cli/flags.md"]
    first = rows[0]
    assert first["run_id"] == "audit-scan-20261128-120000-ab12"
    assert first["score"] == "14" and first["tier"] == "HIGH"
    assert first["lines"] == "17" and first["code_blocks"] == "1" and first["broken_paths"] == "1"
    assert first["has_redirect"] == "true"
    assert first["last_audited"] == "2026-01-02 09:00 PT" and first["audit_result"] == "edited"
    assert rows[1]["has_redirect"] == "false" and rows[1]["step_sequences"] == "1"
    assert rows[2]["score"] == "" and rows[2]["tier"] == "SKIP" and rows[2]["symbol_refs"] == "2"


def test_csv_of_run_without_items(failed_run):
    assert parse_csv(export_run(failed_run, "csv")) == []
    assert export_run(failed_run, "csv") == ",".join(CSV_COLUMNS) + "\r\n"


def test_csv_quotes_commas_quotes_and_newlines(tmp_path):
    run = make_run(tmp_path, status=RunStatus.SUCCEEDED)
    batch = make_batch(run, 1, ["x"])
    key = 'odd, "name"\nwith newline.md'
    make_item(run, batch, key, 0, audit_result='a,"b"')
    rows = parse_csv(export_run(run, "csv"))
    assert len(rows) == 1
    assert rows[0]["path"] == key and rows[0]["audit_result"] == 'a,"b"'


@pytest.mark.parametrize(
    "value",
    ["=cmd|' /C calc'!A0", "+1+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1"],
)
def test_csv_neutralises_formulas_in_strings(tmp_path, value):
    run = make_run(tmp_path, status=RunStatus.SUCCEEDED)
    batch = make_batch(run, 1, [value])
    make_item(run, batch, value, 0, last_audited=value, audit_result=value)
    row = parse_csv(export_run(run, "csv"))[0]
    for column in ("path", "last_audited", "audit_result"):
        assert row[column] == "'" + value


def test_csv_leaves_numbers_and_plain_strings_alone(succeeded_run):
    row = parse_csv(export_run(succeeded_run, "csv"))[1]
    assert row["path"] == "testing/steps.md" and row["last_audited"] == "none"
    assert row["lines"] == "50" and row["score"] == "3"
