"""Pages. Thin: load, call the engine or a presenter, render.

A normal request gets the page (or a redirect after a POST); an htmx request gets the named fragment of
the same template, so every live part also works as a plain link or form without JavaScript.
"""

import re

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from . import engine
from .budget import month_spend, parse_budget
from .cluster import cluster_alive
from .compare import CompareError, UnknownRunError, compare_runs
from .errors import InputError
from .estimate import preview_estimate
from .export import EXPORT_FORMATS, export_filename, export_run
from .forms import NewRunForm
from .models import Batch, BatchStatus, Run, RunMode, RunStatus
from .operations import get_operation, operation_names, operations, presentation_of
from .presenters import (
    history_queryset,
    history_rows,
    model_choices,
    price_lines,
    progress,
    run_page_batches,
    run_page_run,
    transcript_turns,
)
from .rendering import link_items, render_markdown

PAGE_SIZE = 50
OUTPUT_SHOWN_CHARS = 256 * 1024  # a page, not the whole of an output that may be ERKWEB_OUTPUT_MAX_BYTES


def _fragment(request, template: str, fragment: str) -> str:
    return f"{template}#{fragment}" if request.htmx else template


@require_GET
def history(request):
    runs = history_queryset(request.GET)
    page = Paginator(runs, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "rows": history_rows(page),
        "filters": {key: request.GET.get(key, "") for key in ("operation", "model", "status", "q")},
        "operations": operation_names(),
        "models": model_choices(),
        "statuses": RunStatus.values,
        "querystring": _querystring(request, exclude="page"),
        "month_spend": month_spend(),
        "monthly_budget": settings.ERKWEB_MONTHLY_BUDGET,
    }
    return render(request, _fragment(request, "runs/history.html", "run-list"), context)


def _querystring(request, exclude: str) -> str:
    params = request.GET.copy()
    params.pop(exclude, None)
    return params.urlencode()


@require_http_methods(["GET", "POST"])
def new_run(request):
    if request.method == "POST":
        form = NewRunForm(request.POST)
        if form.is_valid():
            runs = [engine.launch(prepared) for prepared in form.prepared]
            if len(runs) == 2:
                return redirect(f"{reverse('runs:compare')}?a={runs[0].run_id}&b={runs[1].run_id}")
            return redirect(runs[0])
        return render(request, "runs/new_run.html", {"form": form}, status=200)

    # GET: the empty form, or (with ?preview) the form with what the run would do.
    wants_preview = "preview" in request.GET
    form = NewRunForm.with_defaults(request.GET if wants_preview else None)
    context = {"form": form, "preview": _preview(form) if wants_preview else None}
    return render(request, _fragment(request, "runs/new_run.html", "preview"), context)


def _preview(form: NewRunForm) -> dict | None:
    if not form.is_valid():
        return {"errors": form.errors}
    prepared = form.prepared[0]
    plan, op = prepared.plan, prepared.op
    shared_prompt = op.system_prompt(None, None)
    roles = [b.role for b in plan.batches if b.role]
    return {
        "operation": op.name,
        "templates": op.presentation.templates("preview"),
        "summary": plan.summary,
        "stages": op.stages,
        "agent_counts": [(role, roles.count(role)) for role in dict.fromkeys(roles)],
        "batch_sizes": [len(b.inputs) for b in plan.batches],
        "estimates": [(p.executor, preview_estimate(p, shared_prompt)) for p in form.prepared],
        "agent_choice": prepared.agent_choice,
    }


@require_GET
def run_detail(request, run_id):
    # Polled every second while the run goes on: only what the page shows is read (presenters.py).
    run = get_object_or_404(run_page_run(Run.objects.all()), run_id=run_id)
    batches = run_page_batches(run)
    succeeded = run.status == RunStatus.SUCCEEDED
    presentation = presentation_of(run.operation)
    context = {
        "run": run,
        "partials": {name: presentation.templates(name) for name in ("facts", "report")},
        "batches": batches,
        "progress": progress(batches),
        # A finished run's page is not polled: its report and groups are read then.
        "report_html": link_items(render_markdown(run.report), _item_links(run)) if succeeded else "",
        "groups": get_operation(run.operation).group_counts(run) if succeeded else {},
        **(presentation.report_context(run) if succeeded else {}),
        # What the operations add to a finished run's page (an audit of a scan's docs, say).
        "panels": [p for op in operations() for p in op.presentation.panels(run)] if run.is_finished else [],
        "stages_graph": _stages_graph(run, batches),
        "price_lines": price_lines(run),
        "message_batches": list(run.message_batches.all()) if run.mode == RunMode.BATCH else [],
        # A run page that never moves because nothing runs the batches should say so.
        "no_cluster": not run.is_finished and not cluster_alive(),
        "export_formats": list(EXPORT_FORMATS),
        "other_runs": Run.objects.filter(operation=run.operation)
        .exclude(pk=run.pk)
        .only("run_id", "model", "status")[:20],
    }
    return render(request, _fragment(request, "runs/run_detail.html", "run-body"), context)


def _item_links(run: Run) -> dict[str, str]:
    """What the operations link the report's item names to (a scan's docs to their history, say)."""
    return {key: url for op in operations() for key, url in op.presentation.item_links(run).items()}


def _stages_graph(run: Run, batches) -> list[dict]:
    names = get_operation(run.operation).stage_names
    return [
        {"stage": stage, "name": names.get(stage, ""), "batches": [b for b in batches if b.stage == stage]}
        for stage in range(1, run.stages + 1)
    ]


@require_POST
def cancel_run(request, run_id):
    run = get_object_or_404(Run, run_id=run_id)
    if engine.cancel_run(run):
        messages.success(request, f"Cancelled {run.run_id}: pending batches will not start.")
    else:
        messages.error(
            request, f"{run.run_id} is {run.status}; only a pending or running run can be cancelled."
        )
    return redirect(run)


@require_POST
def retry_run(request, run_id):
    run = get_object_or_404(Run, run_id=run_id)
    try:
        retried = engine.retry_failed(run, parse_budget(request.POST.get("max_cost"), "the budget"))
    except InputError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request, f"Retrying batch{'es' if len(retried) > 1 else ''} {', '.join(map(str, retried))}."
        )
    return redirect(run)


@require_GET
def export(request, run_id, fmt):
    if fmt not in EXPORT_FORMATS:
        raise Http404(f"no export format {fmt!r}")
    run = get_object_or_404(Run, run_id=run_id)
    response = HttpResponse(export_run(run, fmt), content_type=EXPORT_FORMATS[fmt])
    disposition = "inline" if fmt == "json" else "attachment"
    response["Content-Disposition"] = f'{disposition}; filename="{export_filename(run, fmt)}"'
    return response


@require_GET
def batch_detail(request, run_id, index):
    batch = get_object_or_404(Batch.objects.select_related("run"), run__run_id=run_id, index=index)
    # From the database, never a scratch file (which may be on another host): the verified output, or
    # the start of the file verification rejected (bounded and made safe when it was kept).
    output: str | None
    if batch.status == BatchStatus.VERIFIED:
        output = batch.output
    elif batch.status == BatchStatus.FAILED:
        output = batch.rejected_output or None
    else:
        output = None
    shown = output[:OUTPUT_SHOWN_CHARS] if output is not None else None
    context = {
        "run": batch.run,
        "batch": batch,
        "output": shown,
        "output_hidden_chars": len(output) - OUTPUT_SHOWN_CHARS if output and shown != output else 0,
        # Every attempt's entries, oldest first: an earlier attempt shows why it failed or was superseded.
        "turns": transcript_turns(
            [
                {**e.as_entry(), "attempt": e.attempt}
                for e in batch.transcript_entries.order_by("attempt", "sequence")
            ]
        ),
    }
    return render(request, "runs/batch_detail.html", context)


@require_GET
def compare(request):
    a, b = request.GET.get("a", "").strip(), request.GET.get("b", "").strip()
    context = {"a": a, "b": b, "only_disagreements": request.GET.get("only") == "disagreements"}
    status = 200
    if not a or not b:
        context["error"] = "Pick two runs to compare (a and b)."
        status = 400
    else:
        try:
            comparison = compare_runs(a, b)
            presentation = presentation_of(comparison.operation)
            context["comparison"] = comparison
            context["compare_templates"] = presentation.templates("compare")
            context.update(presentation.compare_context(comparison))
        except CompareError as exc:
            context["error"] = str(exc)
            status = 404 if isinstance(exc, UnknownRunError) else 400
    return render(request, _fragment(request, "runs/compare.html", "compare-body"), context, status=status)


@require_GET
def operations_css(request):
    """The new-run form's rule per operation: show the chosen operation's fields only (a stylesheet, not
    an inline style, so the page needs no exception to its content security policy)."""
    rules = [
        f'form:has(select[name=operation] option[value="{op.name}"]:checked) '
        f"fieldset.op-fields:not(.op-{op.name}) {{ display: none; }}"
        for op in operations()
        if _CSS_NAME.fullmatch(op.name)
    ]
    return HttpResponse("\n".join(rules) + "\n", content_type="text/css; charset=utf-8")


# An operation name is code, not input; still, only a plain name goes into a stylesheet.
_CSS_NAME = re.compile(r"[a-z][a-z0-9-]*")
