"""The statuses of runs and batches, and the groups of them the engine asks about."""

from django.db import models


class RunStatus(models.TextChoices):
    PENDING = "pending", "pending"
    RUNNING = "running", "running"
    AGGREGATING = "aggregating", "aggregating"
    SUCCEEDED = "succeeded", "succeeded"
    FAILED = "failed", "failed"
    CANCELLED = "cancelled", "cancelled"


RUN_ACTIVE = (RunStatus.PENDING, RunStatus.RUNNING, RunStatus.AGGREGATING)
RUN_FINISHED = (RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELLED)


class BatchStatus(models.TextChoices):
    WAITING = "waiting", "waiting"  # its stage has not started yet
    PENDING = "pending", "pending"  # enqueued, no worker has claimed it yet
    RUNNING = "running", "running"  # an attempt holds it
    WRITTEN = "written", "written"  # the agent finished; the file is not verified yet
    VERIFIED = "verified", "verified"
    FAILED = "failed", "failed"
    CANCELLED = "cancelled", "cancelled"


BATCH_OPEN = (BatchStatus.WAITING, BatchStatus.PENDING, BatchStatus.RUNNING, BatchStatus.WRITTEN)
# Open and started: a run cannot be failed or finished while one of these remains.
BATCH_IN_FLIGHT = (BatchStatus.PENDING, BatchStatus.RUNNING, BatchStatus.WRITTEN)
BATCH_ENDED = (BatchStatus.VERIFIED, BatchStatus.FAILED, BatchStatus.CANCELLED)


class RunMode(models.TextChoices):
    """How a run's agents reach the API: each turn streamed as it comes, or every turn of a stage's agents
    as one request of a Message Batch (half price, answered within 24 hours; runs/claude/batch_mode.py)."""

    LIVE = "live", "live"
    BATCH = "batch", "batch"
