"""A run as one JSON-safe object: what ``erk show --json`` prints and, later, ``export.json`` serves."""

from typing import Any

from .models import Run, RunStatus
from .operations import get_operation
from .scratch import output_file, run_scratch


def _report_file(run: Run) -> str | None:
    """The report's file on this host, when the run succeeded and this host has it (the host that
    aggregated writes it); the report itself is in the database."""
    path = run_scratch(run) / "report.md"
    return str(path) if run.status == RunStatus.SUCCEEDED and path.is_file() else None


def run_json(run: Run) -> dict[str, Any]:
    op = get_operation(run.operation)
    data = {
        "run_id": run.run_id,
        "operation": run.operation,
        "status": run.status,
        "model": run.model,
        "model_id": run.model_id,
        "agents": run.agents,
        "mode": run.mode,
        "simulator": run.used_simulator,
    }
    data.update(op.summary_json(run))
    data["batches"] = [
        {
            "index": b.index,
            "stage": b.stage,
            "role": b.role,
            "status": b.status,
            "inputs": b.inputs,
            # Where the file is on this host (the output itself is in the database: erk export).
            "output_path": str(output_file(b)),
            "reason": b.failure_reason or None,
            "attempts": b.attempts,
            "turns": b.turns,
            "warnings": b.protocol_warnings,
            "input_tokens": b.input_tokens,
            "output_tokens": b.output_tokens,
            "cache_write_tokens": b.cache_write_tokens,
            "cache_read_tokens": b.cache_read_tokens,
            "cost_usd": float(b.cost_usd),
            "agent_seconds": b.agent_seconds,
        }
        for b in run.batches.defer("output", "rejected_output").order_by("index")
    ]
    data["error"] = run.error or None
    data["report_path"] = _report_file(run)
    data["scratch_dir"] = str(run_scratch(run))
    data["tokens"] = {
        "input": run.input_tokens,
        "output": run.output_tokens,
        "cache_write": run.cache_write_tokens,
        "cache_read": run.cache_read_tokens,
    }
    data["cost_usd"] = float(run.cost_usd)
    data["max_cost"] = None if run.max_cost is None else float(run.max_cost)
    data["created_at"] = run.created_at.isoformat()
    data["duration_seconds"] = run.duration_seconds
    # An operation may give its items in its own words (summary_json); else these.
    data.setdefault(
        "items",
        {
            item.key: {"score": item.score, "group": item.group, "data": item.data}
            for item in run.reported_items().order_by("position")
        },
    )
    return data


def run_text(run: Run) -> str:
    """A few lines for a terminal."""
    lines = [f"{run.run_id}  {run.status}  {run.operation}  model {run.model} ({run.model_id})"]
    lines += get_operation(run.operation).presentation.text_lines(run)
    for b in run.batches.order_by("index"):
        who = f" ({b.role}, stage {b.stage})" if b.role else ""
        extra = f"  {b.failure_reason}" if b.failure_reason else ""
        lines.append(f"  batch {b.index}{who}: {b.status}, {len(b.inputs)} inputs{extra}")
    if run.error:
        lines.append(f"error: {run.error}")
    report_file = _report_file(run)
    if report_file:
        lines.append(f"report: {report_file}")
    lines.append(
        f"tokens: {run.total_tokens} (in {run.input_tokens}, out {run.output_tokens}, cache write "
        f"{run.cache_write_tokens}, cache read {run.cache_read_tokens}); cost ${run.cost_usd:.4f}"
        + (f" of a ${run.max_cost:.4f} budget" if run.max_cost is not None else "")
        + (" (batch mode: the Message Batches API, half price)" if run.mode == "batch" else "")
    )
    if run.used_simulator:
        lines.append("note: this run used the offline simulator, not Claude")
    return "\n".join(lines)
