"""What the pages, the command line, the comparison and the exports show of learn."""

from typing import TYPE_CHECKING, Any

from django import forms

from runs.rendering import render_markdown

from ..presentation import LinesField, Presentation, Scanned
from . import comparison
from .comparison import TRIPWIRE, LearnComparison

if TYPE_CHECKING:
    from runs.models import ItemResult, Run


class LearnPresentation(Presentation):
    folder = "learn"
    search_params = ("repo_root", "title", "docs_root")
    csv_columns = (
        "run_id",
        "key",
        "group",
        "action",
        "warning",
        "target_doc_path",
        "target_exists",
        "text",
        "priority",
    )

    def form_fields(self) -> dict[str, forms.Field]:
        return {
            "title": forms.CharField(max_length=300, required=False, help_text="what the work was"),
            "repo_root": forms.CharField(
                label="Repo root", max_length=500, required=False, help_text="the git repository"
            ),
            "range": forms.CharField(
                label="Revision range",
                max_length=200,
                required=False,
                help_text="BASE..HEAD (default HEAD~1..HEAD)",
            ),
            "sessions": LinesField(
                label="Session logs",
                required=False,
                metavar="PATH",
                widget=forms.Textarea(attrs={"rows": 2, "spellcheck": "false"}),
                help_text=".jsonl files or folders (default: Claude Code's folder for the repo)",
            ),
            "docs_root": forms.CharField(
                label="Docs folder",
                max_length=500,
                required=False,
                widget=forms.TextInput(attrs={"spellcheck": "false"}),
                help_text="default <repo>/docs/learned",
            ),
            "comments": forms.CharField(
                label="Review comments", max_length=500, required=False, help_text="a JSON file"
            ),
        }

    def scanned(self, run: "Run") -> Scanned:
        return Scanned(path=run.params.get("repo_root") or "", detail=run.params.get("title") or "")

    def text_lines(self, run: "Run") -> list[str]:
        if not run.params.get("title"):
            return []
        return [f"title: {run.params['title']} ({run.params.get('range', '')})"]

    def history_groups(self, counts: dict[str, int]) -> list[tuple[str, int]]:
        tripwires = counts.get(TRIPWIRE, 0)
        items = sum(n for group, n in counts.items() if group != TRIPWIRE)
        return [("tripwire candidates", tripwires), ("documentation items", items)] if counts else []

    def csv_row(self, run: "Run", item: "ItemResult") -> list[Any]:
        data = item.data or {}
        return [run.run_id, item.key, item.group, *(data.get(key) for key in self.csv_columns[3:])]

    def compare(self, run_a: "Run", run_b: "Run") -> LearnComparison:
        return comparison.compare(run_a, run_b)

    def comparison_json(self, c: LearnComparison) -> dict[str, Any]:
        return comparison.comparison_json(c)

    def comparison_text(self, c: LearnComparison) -> str:
        return comparison.comparison_text(c)

    def compare_context(self, c: LearnComparison) -> dict[str, Any]:
        return {"plan_a_html": render_markdown(c.plan_a), "plan_b_html": render_markdown(c.plan_b)}
