"""audit-doc as an engine plug-in: one agent per doc, each writing ``audit-<N>.md`` (specs/audit-doc.md).

Each doc is read once, when the run is created (inputs.py): that reading is saved as a prepared file
(``doc/<doc>``, a RunFile row) and its sha256 in the params, so the manifest records what every agent was
given and applying later can tell whether the doc changed since. The agent reads the snapshot at the
doc's read path (toolbox.py); verification checks the file against the same snapshot.
"""

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from django.db.models import Count

from runs.models import RunFile
from runs.scratch import output_file, run_scratch

from ..base import Checked, ItemRow, Operation, OutputRejected, Plan, PlannedBatch
from . import prompts
from .auditfile import AuditFileError, check_audit
from .history import doc_url
from .inputs import resolve
from .local import local_audit_text
from .presentation import AuditDocPresentation
from .report import render_report, verdict_counts
from .search import SEARCH_CODE_SCHEMA
from .sections import doc_sections
from .toolbox import AuditToolbox, doc_of, read_path, snapshot_path
from .verdict import VERDICTS

if TYPE_CHECKING:
    from runs.models import Batch, Run

LOCAL_MODEL_ID = "local"


class AuditDoc(Operation):
    presentation = AuditDocPresentation()
    simulator_player = "runs.operations.audit_doc.player.AuditDocPlayer"
    name = "audit-doc"
    title = "Doc audit: the top docs against the code"
    stages = 1
    default_model = "sonnet"  # erk audits with a general-purpose agent
    takes_agent_count = False  # one agent per doc
    param_fields = ("from_run", "top", "docs_root", "repo_root", "doc")
    extra_tool_schemas: ClassVar[tuple[dict[str, Any], ...]] = (SEARCH_CODE_SCHEMA,)

    def prepare(self, params: dict[str, Any], *, agents: int, as_of: date) -> Plan:
        target = resolve(params)
        # A NUL is no text a database column holds: it reads as the replacement character, everywhere.
        files = {
            snapshot_path(doc): target.snapshots[doc].text.replace("\x00", "\ufffd") for doc in target.docs
        }
        truncated = [doc for doc in target.docs if target.snapshots[doc].truncated]
        notes = [
            f"{doc} is over 1 MiB: its audit reads its first MiB and can never be applied"
            for doc in truncated
        ]
        return Plan(
            params={
                "docs_root": str(target.docs_root),
                "repo_root": str(target.repo_root),
                "from_run": target.from_run,
                "top": target.top,
                "doc": target.docs,
                # What each agent is given: applying writes only over a doc that still has this hash.
                "doc_sha256": {doc: target.snapshots[doc].sha256 for doc in target.docs},
                "as_of": as_of.isoformat(),
            },
            items=list(target.docs),
            batches=[
                PlannedBatch(stage=1, inputs=[snapshot_path(doc)], filename=f"audit-{n}.md")
                for n, doc in enumerate(target.docs, start=1)
            ],
            summary={
                "docs": len(target.docs),
                "characters": sum(len(text) for text in files.values()),
                "truncated": truncated,
                "notes": notes,
            },
            item_sizes={rel: len(text) for rel, text in files.items()},
            item_text=lambda rel: files.get(rel, ""),
            files=files,
        )

    # --- the agents ----------------------------------------------------------------------------------
    def system_prompt(self, run: "Run | None", batch: "Batch | None") -> str:
        return prompts.SYSTEM_PROMPT

    def batch_message(self, run: "Run", batch: "Batch") -> str:
        doc = doc_of(batch.inputs[0])
        sections = doc_sections(_snapshot_text(run, batch)).sections
        return prompts.doc_message(
            run_id=run.run_id,
            index=batch.index,
            count=run.batches.count(),
            output_path=str(output_file(batch)),
            doc=doc,
            read_path=_read_path(run, doc),
            sections=[(section.name, section.size) for section in sections],
        )

    def toolbox(self, run: "Run", batch: "Batch", output: Path) -> AuditToolbox:
        doc = doc_of(batch.inputs[0])
        return AuditToolbox(
            read_root=Path(run.params["repo_root"]),
            repo_root=Path(run.params["repo_root"]),
            output_path=output,
            doc_read_path=_read_path(run, doc),
            # Written there from the database before the agent starts (scratch.materialise).
            snapshot=run_scratch(run) / batch.inputs[0],
        )

    def local_output(self, run: "Run", batch: "Batch") -> str:
        doc = doc_of(batch.inputs[0])
        return local_audit_text(doc, _snapshot_text(run, batch), Path(run.params["repo_root"]))

    def check_output(self, run: "Run", batch: "Batch", text: str) -> Checked:
        """The audit of the batch's doc, checked against the doc as its agent was given it; its item is
        the doc, its group the verdict, its score the share of bad lines."""
        doc = doc_of(batch.inputs[0])
        try:
            audit = check_audit(
                text, doc=doc, doc_text=_snapshot_text(run, batch), repo_root=Path(run.params["repo_root"])
            )
        except AuditFileError as exc:
            raise OutputRejected(exc.reason) from None
        return Checked(
            text=text, items=(ItemRow(key=doc, score=audit.bad, group=audit.verdict, data=audit.data()),)
        )

    # --- after the run -------------------------------------------------------------------------------
    def aggregate(self, run: "Run") -> str:
        audits = [item.data for item in run.items.order_by("position")]
        root = run.params["docs_root"]
        return render_report(
            audits, heuristic=run.model_id == LOCAL_MODEL_ID, doc_link=lambda doc: doc_url(root, doc)
        )

    def group_counts(self, run: "Run") -> dict[str, int]:
        found = dict(run.reported_items().values_list("group").annotate(n=Count("id")).order_by())
        return {name: found.get(name, 0) for name in VERDICTS}

    def summary_json(self, run: "Run") -> dict[str, Any]:
        items = list(run.reported_items().order_by("position"))
        return {
            "docs_root": run.params.get("docs_root"),
            "from_run": run.params.get("from_run"),
            "heuristic": run.model_id == LOCAL_MODEL_ID,
            "verdicts": verdict_counts([item.group for item in items]),
            "docs": {
                item.key: {
                    "verdict": item.group,
                    "bad": item.data["bad"],
                    "good": item.data["good"],
                    "verified": item.data["verified"],
                    "broken": item.data["broken"],
                    "findings": item.data["findings"],
                    "collateral": item.data["collateral"],
                    "summary": item.data["summary"],
                    "revision_proposed": item.data["revised"],
                }
                for item in items
            },
        }


def _read_path(run: "Run", doc: str) -> str:
    return read_path(Path(run.params["docs_root"]), Path(run.params["repo_root"]), doc)


def _snapshot_text(run: "Run", batch: "Batch") -> str:
    """The doc as its agent is given it: the run's prepared file, from the database (the record)."""
    return RunFile.objects.only("content").get(run=run, path=batch.inputs[0]).content
