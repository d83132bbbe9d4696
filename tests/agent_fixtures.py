"""What the agent loop's tests share: one audit-scan batch of the example docs, and the engine's side of
the loop (its hooks) recorded."""

from decimal import Decimal

from runs.operations.audit_scan import prompts
from runs.operations.audit_scan.local import local_batch_text
from runs.tools import Toolbox


def audit_batch(repo, tmp_path) -> dict:
    """Three docs of ``repo``'s docs tree as batch 1 of 1: its toolbox, first message and the file the
    local executor writes for it (what a faithful agent must write)."""
    docs = repo / "docs" / "learned"
    paths = ["arch/old.md", "arch/overview.md", "cli/flags.md"]
    out = tmp_path / "scratch" / "batch-1.md"
    out.parent.mkdir(parents=True)
    return {
        "toolbox": Toolbox(read_root=docs, repo_root=repo, output_path=out),
        "paths": paths,
        "message": prompts.batch_message(
            run_id="audit-scan-t", index=1, count=1, output_path=str(out), paths=paths
        ),
        "expected": local_batch_text(paths, docs, repo),
        "out": out,
    }


class RecordingHooks:
    """The engine's hooks, recorded: every worst case asked about and every record made."""

    def __init__(self):
        self.records, self.worst = [], []

    def before_turn(self, worst_case_cost):
        self.worst.append(worst_case_cost)

    def record(self, entries, usage, cost):
        self.records.append((entries, usage, cost))

    def entries(self, role):
        return [entry for entries, _, _ in self.records for entry in entries if entry["role"] == role]

    def billed(self):
        return sum((cost for _, _, cost in self.records), Decimal(0))
