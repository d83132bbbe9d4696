"""audit-doc's own form targets: Apply (one doc, or every verified one) and Revert, from a run's page.
Thin: the run, then applying.py (the code ``erk apply`` and ``erk revert`` run), then back to the page."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from runs.errors import InputError

from . import applying, from_scan


def _tell(request: HttpRequest, outcome: applying.Outcome) -> None:
    (messages.success if outcome.done else messages.error)(request, outcome.message)


@require_POST
def apply_docs(request: HttpRequest, run_id: str) -> HttpResponse:
    try:
        run = applying.audit_run(run_id)
        outcomes = applying.apply_run(run, request.POST.getlist("doc"))
    except InputError as exc:
        messages.error(request, str(exc))
        return redirect("runs:detail", run_id=run_id)
    for outcome in outcomes:
        _tell(request, outcome)
    if not outcomes:
        messages.error(request, applying.nothing_applied(run))
    return redirect("runs:detail", run_id=run_id)


@require_POST
def revert_doc(request: HttpRequest, run_id: str) -> HttpResponse:
    try:
        run = applying.audit_run(run_id)
        _tell(request, applying.revert(run, request.POST.get("doc", "")))
    except InputError as exc:
        messages.error(request, str(exc))
    return redirect("runs:detail", run_id=run_id)


@require_POST
def audit_from_scan(request: HttpRequest, run_id: str) -> HttpResponse:
    """Audit top N (or the ticked docs) of the scan ``run_id``: a new audit-doc run, or the scan's page
    with why not (nothing was created)."""
    ticked = request.POST.get("pick") == "ticked"
    try:
        if ticked and not request.POST.getlist("doc"):
            raise InputError("tick the docs to audit first")
        run = from_scan.start(
            run_id,
            top=request.POST.get("top", ""),
            docs=request.POST.getlist("doc") if ticked else [],
            model=request.POST.get("model", ""),
        )
    except InputError as exc:
        messages.error(request, f"Not started: {exc}")
        return redirect("runs:detail", run_id=run_id)
    return redirect(run)
