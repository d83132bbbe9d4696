"""audit-doc's own form targets: Apply (one doc, or every verified one) and Revert, from a run's page.
Thin: the run, then applying.py (the code ``erk apply`` and ``erk revert`` run), then back to the page."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from runs.errors import InputError

from . import applying


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
    return redirect("runs:detail", run_id=run_id)


@require_POST
def revert_doc(request: HttpRequest, run_id: str) -> HttpResponse:
    try:
        run = applying.audit_run(run_id)
        _tell(request, applying.revert(run, request.POST.get("doc", "")))
    except InputError as exc:
        messages.error(request, str(exc))
    return redirect("runs:detail", run_id=run_id)
