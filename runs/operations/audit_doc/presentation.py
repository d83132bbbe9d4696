"""What the pages, the command line, the comparison and the exports show of audit-doc."""

from typing import TYPE_CHECKING, Any

from django import forms
from django.urls import URLPattern, path

from ..presentation import Command, LinesField, Panel, Presentation, Scanned
from . import comparison, docs_views, from_scan, history, views
from .commands import COMMANDS
from .review import review
from .verdict import VERDICTS

if TYPE_CHECKING:
    from runs.models import ItemResult, Run

CSV_COLUMNS = ("run_id", "doc", "verdict", "bad", "good", "verified", "broken", "revision_proposed")


class AuditDocPresentation(Presentation):
    folder = "audit_doc"
    search_params = ("docs_root", "from_run")
    csv_columns = CSV_COLUMNS

    def form_fields(self) -> dict[str, forms.Field]:
        return {
            "from_run": forms.CharField(
                label="From scan",
                max_length=100,
                required=False,
                help_text="a succeeded audit-scan run: audit its top docs",
                widget=forms.TextInput(attrs={"spellcheck": "false"}),
            ),
            "top": forms.IntegerField(
                label="Top",
                min_value=1,
                max_value=200,
                required=False,
                help_text="how many of the scan's highest-scoring docs (default 10)",
            ),
            "docs_root": forms.CharField(
                label="Docs folder",
                max_length=500,
                required=False,
                help_text="without a scan: the docs root the docs are in",
            ),
            "repo_root": forms.CharField(
                label="Repo root",
                max_length=500,
                required=False,
                help_text="default the docs folder's grandparent",
            ),
            "doc": LinesField(
                label="Docs",
                metavar="PATH",
                required=False,
                help_text="docs to audit, relative to the docs root (instead of the top N)",
            ),
        }

    def scanned(self, run: "Run") -> Scanned:
        docs = run.params.get("doc") or []
        detail = f"{len(docs)} doc{'s' if len(docs) != 1 else ''}"
        if run.params.get("from_run"):
            detail += f" from {run.params['from_run']}"
        return Scanned(path=run.params.get("docs_root") or "", detail=detail)

    def text_lines(self, run: "Run") -> list[str]:
        docs = run.params.get("doc") or []
        source = f" from {run.params['from_run']}" if run.params.get("from_run") else ""
        return [f"{len(docs)} docs{source}: {', '.join(docs)}"]

    def history_items(self, run: "Run") -> int | None:
        return len(run.params.get("doc") or [])

    def history_groups(self, counts: dict[str, int]) -> list[tuple[str, int]]:
        return [(name, counts[name]) for name in VERDICTS if counts.get(name)]

    def csv_row(self, run: "Run", item: "ItemResult") -> list[Any]:
        data = item.data or {}
        return [
            run.run_id,
            item.key,
            item.group,
            data.get("bad"),
            data.get("good"),
            data.get("verified"),
            data.get("broken"),
            data.get("revised"),
        ]

    def compare(self, run_a: "Run", run_b: "Run") -> comparison.Comparison:
        return comparison.compare(run_a, run_b)

    def comparison_json(self, c: comparison.Comparison) -> dict[str, Any]:
        return comparison.comparison_json(c)

    def comparison_text(self, c: comparison.Comparison) -> str:
        return comparison.comparison_text(c)

    # --- what audit-doc adds: reviewing and applying ---------------------------------------------------
    def report_context(self, run: "Run") -> dict[str, Any]:
        return {"reviews": review(run)}

    def panels(self, run: "Run") -> list[Panel]:
        if not from_scan.offers_audit(run):
            return []
        root = run.params["docs_root"]
        since = {
            "changes": history.linked(history.since_previous(run), root),
            "root_url": history.root_url(root),
        }
        return [
            Panel("audit_doc/since_scan.html", since),
            Panel("audit_doc/from_scan.html", from_scan.panel_context(run)),
        ]

    def item_links(self, run: "Run") -> dict[str, str]:
        if not from_scan.offers_audit(run):
            return {}
        root = run.params["docs_root"]
        return {doc: history.doc_url(root, doc) for doc in run.items.values_list("key", flat=True)}

    def history_link(self, run: "Run") -> str:
        root = run.params.get("docs_root") if run.operation in (history.SCAN, history.AUDIT) else None
        return history.root_url(root) if isinstance(root, str) and root else ""

    def urls(self) -> list[URLPattern]:
        return [
            path("runs/<str:run_id>/audit/apply/", views.apply_docs, name="audit-doc-apply"),
            path("runs/<str:run_id>/audit/revert/", views.revert_doc, name="audit-doc-revert"),
            path("runs/<str:run_id>/audit/start/", views.audit_from_scan, name="audit-doc-from-scan"),
            path("docs/", docs_views.docs_root, name="docs-root"),
            path("docs/history/", docs_views.doc_history, name="doc-history"),
        ]

    def commands(self) -> list[Command]:
        return COMMANDS
