"""Aggregation: the report of a run whose every batch is verified, composed once, under the run's lease.

The lease expires, so an aggregator that died is replaced; its success (or failure) is conditioned on
still holding the lease, so an aggregator that stalled past it and woke up cannot finish a run that
another process took over.
"""

import logging
from pathlib import Path

from django.db import transaction

from .models import ItemResult, Run
from .operations import get_operation

log = logging.getLogger(__name__)


def aggregate(run: Run, owner: str) -> bool:
    """Compose the report and finish the run; True when this process finished it (as ``owner``)."""
    op = get_operation(run.operation)
    try:
        batches = list(run.batches.all())
        texts = {b.index: Path(b.output_path).read_text(encoding="utf-8") for b in batches}
        result = op.aggregate(run, texts)
        report_path = Path(run.scratch_dir) / "report.md"
        report_path.write_text(result.report, encoding="utf-8")
    except Exception as exc:
        log.exception("aggregation of %s failed", run.run_id)
        return run.fail(f"aggregation failed: {type(exc).__name__}: {exc}", owner=owner)
    batch_pks = {b.index: b.pk for b in batches}
    position = {key: n for n, key in enumerate(run.manifest.get("items", []))}
    try:
        with transaction.atomic():
            # Succeeding first, in the transaction that saves the items: an aggregator that lost its
            # lease saves nothing.
            run.add_usage_totals()
            if not run.succeed(owner=owner, report=result.report, report_path=str(report_path)):
                return False
            ItemResult.objects.filter(run=run).delete()
            ItemResult.objects.bulk_create(
                ItemResult(
                    run=run,
                    batch_id=batch_pks[row.batch_index],
                    key=row.key,
                    position=position.get(row.key, len(position)),
                    score=row.score,
                    group=row.group,
                    data=row.data,
                )
                for row in result.items
            )
    except Exception as exc:
        log.exception("saving the items of %s failed", run.run_id)
        return run.fail(f"aggregation failed: {type(exc).__name__}: {exc}", owner=owner)
    return True
