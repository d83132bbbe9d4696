"""What the pages, the command line, the comparison and the exports show of audit-scan."""

from typing import TYPE_CHECKING, Any

from django import forms
from django.conf import settings

from ..presentation import Presentation, Scanned
from . import comparison
from .scoring import TIERS
from .signals import SIGNAL_KEYS

if TYPE_CHECKING:
    from runs.models import ItemResult, Run


CSV_SIGNAL_KEYS = tuple(key for key in SIGNAL_KEYS if key != "path")
CSV_COLUMNS = ("run_id", "path", "score", "tier", *CSV_SIGNAL_KEYS)


class AuditScanPresentation(Presentation):
    folder = "audit_scan"
    search_params = ("docs_root",)
    history_summary = ("scanned",)
    csv_columns = CSV_COLUMNS

    def form_fields(self) -> dict[str, forms.Field]:
        return {
            "docs_root": forms.CharField(
                label="Docs folder",
                max_length=500,
                required=False,
                widget=forms.TextInput(attrs={"spellcheck": "false"}),
            ),
            "repo_root": forms.CharField(
                label="Repo root",
                max_length=500,
                required=False,
                help_text="default the docs folder's grandparent",
            ),
            "category": forms.CharField(
                max_length=200, required=False, help_text="scan only this sub-folder"
            ),
        }

    def initial(self) -> dict[str, Any]:
        return {"docs_root": str(settings.BASE_DIR / "examples" / "docs" / "learned")}

    def scanned(self, run: "Run") -> Scanned:
        return Scanned(path=run.params.get("docs_root") or "", detail=run.params.get("category") or "")

    def text_lines(self, run: "Run") -> list[str]:
        s = run.summary
        if "scanned" not in s:
            return []
        return [f"scanned {s['scanned']}, skipped {s.get('skipped', 0)}, excluded {s.get('excluded', 0)}"]

    def history_items(self, run: "Run") -> int | None:
        scanned = run.summary.get("scanned")
        return scanned if isinstance(scanned, int) else None

    def history_groups(self, counts: dict[str, int]) -> list[tuple[str, int]]:
        if not any(counts.get(tier) for tier in TIERS):
            return []
        return [(tier, counts.get(tier, 0)) for tier in TIERS]

    def csv_row(self, run: "Run", item: "ItemResult") -> list[Any]:
        # An item's group is its tier, its data its signals.
        signals = item.data or {}
        return [run.run_id, item.key, item.score, item.group, *(signals.get(k) for k in CSV_SIGNAL_KEYS)]

    def compare(self, run_a: "Run", run_b: "Run") -> comparison.Comparison:
        return comparison.compare(run_a, run_b)

    def comparison_json(self, c: comparison.Comparison) -> dict[str, Any]:
        return comparison.comparison_json(c)

    def comparison_text(self, c: comparison.Comparison) -> str:
        return comparison.comparison_text(c)
