"""The docs pages: a docs root's history (``/docs/?root=``) and a doc's (``/docs/history/?root=&doc=``).
Thin: the parameters, history.py (what ``erk history`` prints too), the template."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from runs.operations.audit_scan.scoring import TIERS

from . import history
from .charts import score_chart, tier_chart


@require_GET
def docs_root(request: HttpRequest) -> HttpResponse:
    raw = request.GET.get("root", "").strip()
    if not raw:
        return render(request, "audit_doc/docs_roots.html", {"roots": history.known_roots()})
    root = history.root_key(raw)
    found = history.root_history(root)
    chart = tier_chart([(scan.created_at.strftime("%Y-%m-%d %H:%M"), scan.tiers) for scan in found.scans])
    changes = history.linked(found.latest, root) if found.latest else None
    context = {"history": found, "chart": chart, "root": root, "changes": changes, "tiers_order": TIERS}
    return render(request, "audit_doc/docs_root.html", context, status=200 if found.scans else 404)


@require_GET
def doc_history(request: HttpRequest) -> HttpResponse:
    raw, doc = request.GET.get("root", "").strip(), request.GET.get("doc", "").strip()
    if not raw or not doc:
        error = "Name a docs root and a doc: /docs/history/?root=<docs root>&doc=<path>."
        return render(request, "audit_doc/doc_history.html", {"error": error}, status=400)
    found = history.doc_history(history.root_key(raw), doc)
    # The chart is small: the last CHART_SCANS scans; the table below lists every one.
    points = [
        (s.created_at.strftime("%Y-%m-%d %H:%M"), f"{s.run_id}: {s.score} ({s.tier})", s.score or 0)
        for s in found.scans[-history.CHART_SCANS :]
    ]
    context = {"history": found, "chart": score_chart(points), "root_url": history.root_url(found.root)}
    empty = not (found.scans or found.audits or found.edits)
    return render(request, "audit_doc/doc_history.html", context, status=404 if empty else 200)
