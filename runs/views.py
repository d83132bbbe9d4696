"""Pages. Thin: load, call the engine or a presenter, render."""

from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from .models import Batch, Run


@require_GET
def history(request):
    page = Paginator(Run.objects.all(), 50).get_page(request.GET.get("page"))
    return render(request, "runs/history.html", {"page": page})


@require_GET
def run_detail(request, run_id):
    run = get_object_or_404(Run, run_id=run_id)
    return render(request, "runs/run_detail.html", {"run": run, "batches": run.batches.all()})


@require_GET
def batch_detail(request, run_id, index):
    batch = get_object_or_404(Batch.objects.select_related("run"), run__run_id=run_id, index=index)
    return render(request, "runs/batch_detail.html", {"run": batch.run, "batch": batch})
