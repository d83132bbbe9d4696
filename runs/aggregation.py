"""Aggregation: the report of a run whose every batch is verified, composed once, under the run's lease.

The report is composed from the database alone (the items its batches' verification saved, and their
outputs), so it needs no host's files and does not grow with the number of files. The lease expires, so
an aggregator that died is replaced; its success (or failure) is conditioned on still holding the lease,
so an aggregator that stalled past it and woke up cannot finish a run that another process took over.
"""

import logging

from django.db import transaction

from . import faults, scratch
from .models import Run
from .operations import get_operation

log = logging.getLogger(__name__)


def aggregate(run: Run, owner: str) -> bool:
    """Compose the report and finish the run; True when this process finished it (as ``owner``)."""
    # Not its manifest (every item and the partition) nor an old report: an operation composes the
    # report from the rows (one that reads the manifest loads it then).
    run = Run.objects.defer("manifest", "report").get(pk=run.pk)
    try:
        report = get_operation(run.operation).aggregate(run)
    except Exception as exc:
        log.exception("aggregation of %s failed", run.run_id)
        return run.fail(f"aggregation failed: {type(exc).__name__}: {exc}", owner=owner)
    faults.pause_point("aggregate")
    with transaction.atomic():
        run.add_usage_totals()
        if not run.succeed(owner=owner, report=report):
            return False
    scratch.write_report(run)
    return True
