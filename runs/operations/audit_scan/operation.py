"""audit-scan as an engine plug-in: one wide stage of identical agents (specs/audit-scan.md)."""

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.db.models import Count

from runs.errors import InputError
from runs.models import BatchStatus
from runs.partition import round_robin
from runs.scratch import output_file
from runs.tools import Toolbox, reader

from ..base import Checked, ItemRow, Operation, OutputRejected, Plan, PlannedBatch
from . import prompts
from .batchfile import BatchFileError, parse_batch
from .gather import gather
from .local import local_batch_text
from .presentation import AuditScanPresentation
from .report import render_report, render_report_from_parts, report_part, stats
from .scoring import TIERS, Scored, score, tier_for

if TYPE_CHECKING:
    from runs.models import Batch, ItemResult, Run


class AuditScan(Operation):
    presentation = AuditScanPresentation()
    simulator_player = "runs.operations.audit_scan.player.AuditScanPlayer"
    name = "audit-scan"
    title = "Doc audit scan"
    stages = 1
    param_fields = ("docs_root", "repo_root", "category")

    def prepare(self, params: dict[str, Any], *, agents: int, as_of: date) -> Plan:
        docs_root = Path(params["docs_root"]).expanduser().resolve() if params.get("docs_root") else None
        if docs_root is None:
            raise InputError("audit-scan needs a docs root (--docs-root)", field="docs_root")
        repo_root = params.get("repo_root")
        repo_root = Path(repo_root).expanduser().resolve() if repo_root else None
        category = (params.get("category") or "").strip().strip("/") or None
        gathered = gather(docs_root, as_of=as_of, category=category, repo_root=repo_root)
        batches = [
            PlannedBatch(stage=1, inputs=docs, filename=f"batch-{n}.md")
            for n, docs in enumerate(round_robin(gathered.items, agents), start=1)
        ]
        return Plan(
            params={
                "docs_root": str(gathered.docs_root),
                "repo_root": str(gathered.repo_root),
                "category": gathered.category,
                "as_of": as_of.isoformat(),
            },
            items=list(gathered.items),
            batches=batches,
            summary={
                "scanned": len(gathered.items),
                "skipped": len(gathered.skipped),
                "excluded": len(gathered.excluded),
                "skipped_paths": list(gathered.skipped),
                "excluded_paths": list(gathered.excluded),
                "notes": list(gathered.notes),
                "characters": sum(gathered.sizes.values()),
            },
            item_sizes=dict(gathered.sizes),
            item_text=reader(gathered.docs_root, gathered.repo_root),
        )

    def system_prompt(self, run: "Run | None", batch: "Batch | None") -> str:
        return prompts.SYSTEM_PROMPT

    def batch_message(self, run: "Run", batch: "Batch") -> str:
        return prompts.batch_message(
            run_id=run.run_id,
            index=batch.index,
            count=run.batches.count(),
            output_path=str(output_file(batch)),
            paths=batch.inputs,
        )

    def toolbox(self, run: "Run", batch: "Batch", output: Path) -> Toolbox:
        return Toolbox(
            read_root=Path(run.params["docs_root"]),
            repo_root=Path(run.params["repo_root"]),
            output_path=output,
        )

    def local_output(self, run: "Run", batch: "Batch") -> str:
        return local_batch_text(batch.inputs, Path(run.params["docs_root"]), Path(run.params["repo_root"]))

    def check_output(self, run: "Run", batch: "Batch", text: str) -> Checked:
        """The file parses and covers exactly the batch's docs; each doc is scored here (a doc's score is
        its own), so its row is saved with the verified file."""
        try:
            records = parse_batch(text, batch.inputs)
        except BatchFileError as exc:
            raise OutputRejected(exc.reason) from None
        as_of = date.fromisoformat(run.params["as_of"])
        items, scored = [], []
        for record in records:
            points, reasons = score(record, as_of)
            items.append(ItemRow(key=record["path"], score=points, group=tier_for(points), data=record))
            scored.append(Scored(record["path"], points, tier_for(points), record, tuple(reasons)))
        # The batch's lines of the report, rendered here by its own worker (report_part).
        return Checked(text=text, items=tuple(items), part=report_part(scored, as_of))

    def aggregate(self, run: "Run") -> str:
        """The report from the database (no batch file is read): the verified batches' report parts
        merged; from the item rows when some batch has none (verified before batches kept one)."""
        as_of = date.fromisoformat(run.params["as_of"])
        header = {
            "scanned": run.summary.get("scanned", 0),
            "skipped": run.summary.get("skipped", 0),
            "excluded": run.summary.get("excluded", 0),
            "as_of": as_of,
            "notes": run.summary.get("notes", ()),
        }
        verified = run.batches.filter(status=BatchStatus.VERIFIED)
        parts = list(verified.values_list("report_part", flat=True))
        if parts and all(part.get("docs") is not None for part in parts):
            return render_report_from_parts(parts, **header)
        scored = sorted(
            (_as_scored(item, as_of) for item in run.items.all()), key=lambda s: (-s.score, s.path)
        )
        return render_report(scored, **{**header, "scanned": run.summary.get("scanned", len(scored))})

    def group_counts(self, run: "Run") -> dict[str, int]:
        tiers = dict(run.reported_items().values_list("group").annotate(n=Count("id")).order_by())
        return {tier: tiers.get(tier, 0) for tier in TIERS}

    def summary_json(self, run: "Run") -> dict[str, Any]:
        out = {
            "scanned": run.summary.get("scanned", 0),
            "skipped": run.summary.get("skipped", 0),
            "excluded": run.summary.get("excluded", 0),
            "tiers": self.group_counts(run),
        }
        items = list(run.reported_items().order_by("position"))
        if items:
            out["stats"] = stats(
                [_as_scored(item) for item in items], date.fromisoformat(run.params["as_of"])
            )
        out["items"] = {
            item.key: {"score": item.score, "tier": item.group, "signals": item.data} for item in items
        }
        return out


def _as_scored(item: "ItemResult", as_of: date | None = None) -> Scored:
    """An item row as scoring gave it; with ``as_of``, with its reasons (the rows do not store them)."""
    # An audit-scan item always has its score (verification saves one for every doc).
    points = item.score if item.score is not None else 0
    reasons = tuple(score(item.data, as_of)[1]) if as_of else ()
    return Scored(path=item.key, score=points, tier=item.group, signals=item.data, reasons=reasons)
