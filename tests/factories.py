"""Small factories for runs as the engine leaves them, without running anything."""

from decimal import Decimal
from pathlib import Path

from django.utils import timezone

from runs.models import Batch, ItemResult, Run
from runs.operations.audit_scan.scoring import score, tier_for

_counter = iter(range(1, 1_000_000))


def record(path: str = "a.md", **changes) -> dict:
    """All 13 values of one doc: 50 lines, never audited, nothing else (score 3, LOW) unless changed."""
    values = {
        "path": path,
        "lines": 50,
        "code_blocks": 0,
        "file_path_refs": 0,
        "broken_paths": 0,
        "last_audited": "none",
        "audit_result": "none",
        "has_redirect": False,
        "import_count": 0,
        "behavioral_claims": 0,
        "step_sequences": 0,
        "line_number_refs": 0,
        "symbol_refs": 0,
    }
    assert set(changes) <= set(values), f"not a signal: {set(changes) - set(values)}"
    return values | changes


def quiet_record(path: str = "a.md", **changes) -> dict:
    """A doc that scores nothing (as of 2026-03-31): audited recently and clean, short, no other signal."""
    return record(path, **{"last_audited": "2026-03-20", "audit_result": "clean", **changes})


def signals(path: str, **overrides) -> dict:
    """A never-audited doc with a code block, two path references and a claim."""
    return record(
        path, **{"lines": 40, "code_blocks": 1, "file_path_refs": 2, "behavioral_claims": 1, **overrides}
    )


def make_run(
    tmp_path: Path, *, model="local", status="succeeded", items=None, operation="audit-scan", **fields
) -> Run:
    """A finished run with one batch holding ``items`` ({path: signal overrides})."""
    from datetime import date

    n = next(_counter)
    run_id = fields.pop("run_id", f"{operation}-20261128-1000{n:02d}-{n:04x}")
    scratch = tmp_path / "scratch" / run_id
    scratch.mkdir(parents=True, exist_ok=True)
    now = timezone.now()
    items = items if items is not None else {"a.md": {}, "b.md": {"lines": 250}}
    run = Run.objects.create(
        run_id=run_id,
        operation=operation,
        status=status,
        model=model,
        model_id="local" if model == "local" else f"claude-{model}-5-5",
        agents=1,
        params={"docs_root": str(tmp_path / "docs"), "repo_root": str(tmp_path), "as_of": "2026-11-28"},
        summary={"scanned": len(items), "skipped": 0, "excluded": 0, "notes": []},
        report=fields.pop(
            "report", "# Doc Audit Scan Results\n\nAll fine.\n" if status == "succeeded" else ""
        ),
        started_at=now,
        finished_at=now if status in ("succeeded", "failed", "cancelled") else None,
        cost_usd=Decimal("0.0123") if model != "local" else Decimal(0),
        **fields,
    )
    batch = Batch.objects.create(
        run=run,
        index=1,
        inputs=list(items),
        output_path="batch-1.md",
        model_id=run.model_id,
        status="verified" if status == "succeeded" else "failed" if status == "failed" else "running",
        failure_reason="empty file" if status == "failed" else "",
    )
    if status == "succeeded":
        as_of = date(2026, 11, 28)
        for position, (path, overrides) in enumerate(items.items()):
            s = signals(path, **overrides)
            points, _ = score(s, as_of)
            ItemResult.objects.create(
                run=run,
                batch=batch,
                key=path,
                position=position,
                score=points,
                group=tier_for(points),
                data=s,
            )
        # What the succeed transition stores when a run ends (this run was made succeeded).
        Run.objects.filter(pk=run.pk).update(**run.listing())
        run.refresh_from_db()
    return run
