"""A run as a downloadable file: the pages' export.md/.json/.csv and ``erk export``."""

import csv
import io
import json

from .markdown import table_cell
from .models import Run, RunStatus
from .operations import presentation_of
from .summary import run_json

EXPORT_FORMATS = {
    "md": "text/markdown; charset=utf-8",
    "json": "application/json",
    "csv": "text/csv; charset=utf-8",
}

# A spreadsheet runs a cell that starts with one of these as a formula (or, for tab and CR, may shift it
# into one). Paths and frontmatter values come from the files scanned, so they are untrusted.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def export_filename(run: Run, fmt: str) -> str:
    return f"{run.run_id}.{fmt}"


def export_run(run: Run, fmt: str) -> str:
    if fmt not in EXPORT_FORMATS:
        raise ValueError(f"unknown export format {fmt!r}: choose one of {', '.join(EXPORT_FORMATS)}")
    if fmt == "json":
        # The same object, and the same text, as ``erk show --json``.
        return json.dumps(run_json(run), indent=2) + "\n"
    if fmt == "md":
        return _markdown(run)
    return _csv(run)


# --- md ----------------------------------------------------------------------------------------------
def _markdown(run: Run) -> str:
    if run.status == RunStatus.SUCCEEDED:
        return run.report  # byte for byte what report.md holds: nothing is added to it
    lines = [
        f"# {run.run_id}",
        "",
        f"- status: {run.status}",
        f"- operation: {run.operation}",
        f"- model: {run.model} ({run.model_id})",
    ]
    if run.error:
        lines.append(f"- error: {_one_line(run.error)}")
    lines.append("")
    lines.append("| index | status | inputs | reason |")
    lines.append("| ---: | --- | ---: | --- |")
    for batch in run.batches.order_by("index"):
        reason = table_cell(batch.failure_reason)  # it can quote an agent's output
        lines.append(f"| {batch.index} | {batch.status} | {len(batch.inputs)} | {reason} |")
    return "\n".join(lines) + "\n"


def _one_line(text: str) -> str:
    return " ".join(text.split())


# --- csv ---------------------------------------------------------------------------------------------
def _csv(run: Run) -> str:
    """One row per item, in the operation's own columns (``Presentation.csv_columns``)."""
    presentation = presentation_of(run.operation)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(presentation.csv_columns)
    for item in run.reported_items().order_by("position"):
        writer.writerow([_csv_cell(value) for value in presentation.csv_row(run, item)])
    return out.getvalue()


def _csv_cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return "'" + value if value.startswith(_FORMULA_STARTS) else value
    # Numbers are left alone: they come from the operation's own parsing, not from the text as written.
    return str(value)
