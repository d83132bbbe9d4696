"""Runs, their batches, and the per-item results that aggregation parsed.

Status changes only through the verb-named transitions below. Each is a conditional UPDATE on the
expected current status, so two processes racing for the same transition (a redelivered task and a
slow worker, two batches finishing at once and both trying to aggregate) cannot both win: the loser
sees zero rows changed and gets ``False``.
"""

import secrets
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q, Sum
from django.db.models.functions import Coalesce, Now
from django.urls import reverse
from django.utils import timezone


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
    PENDING = "pending", "pending"  # enqueued, no worker has it yet
    RUNNING = "running", "running"
    WRITTEN = "written", "written"  # the agent finished; the file is not verified yet
    VERIFIED = "verified", "verified"
    FAILED = "failed", "failed"
    CANCELLED = "cancelled", "cancelled"


BATCH_OPEN = (BatchStatus.WAITING, BatchStatus.PENDING, BatchStatus.RUNNING, BatchStatus.WRITTEN)


def new_run_id(operation: str, now=None) -> str:
    now = now or timezone.now()
    return f"{operation}-{now:%Y%m%d-%H%M%S}-{secrets.token_hex(2)}"


class Run(models.Model):
    run_id = models.CharField(max_length=80, unique=True)
    operation = models.CharField(max_length=40, db_index=True)
    status = models.CharField(max_length=20, choices=RunStatus.choices, default=RunStatus.PENDING)
    model = models.CharField(max_length=40, db_index=True, help_text="alias or id as the user gave it")
    model_id = models.CharField(max_length=80, help_text="the resolved model id, or 'local'")
    agents = models.PositiveIntegerField()
    params = models.JSONField(default=dict, help_text="what the user asked the run to do, normalised")
    manifest = models.JSONField(default=dict, help_text="everything needed to reproduce the run")
    summary = models.JSONField(default=dict, help_text="what gather found: counts and notes")
    stages = models.PositiveSmallIntegerField(default=1)
    current_stage = models.PositiveSmallIntegerField(default=0)
    scratch_dir = models.CharField(max_length=500)
    report = models.TextField(blank=True)
    report_path = models.CharField(max_length=500, blank=True)
    error = models.TextField(blank=True, help_text="why the run failed, naming the failed batches")
    used_simulator = models.BooleanField(default=False)
    api_base_url = models.CharField(max_length=200, blank=True)

    input_tokens = models.PositiveBigIntegerField(default=0)
    output_tokens = models.PositiveBigIntegerField(default=0)
    cache_write_tokens = models.PositiveBigIntegerField(default=0)
    cache_read_tokens = models.PositiveBigIntegerField(default=0)
    cost_usd = models.DecimalField(max_digits=12, decimal_places=6, default=Decimal(0))

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return self.run_id

    def get_absolute_url(self):
        return reverse("runs:detail", args=[self.run_id])

    @property
    def is_finished(self) -> bool:
        return self.status in RUN_FINISHED

    @property
    def duration_seconds(self) -> float | None:
        if not self.started_at:
            return None
        end = self.finished_at or timezone.now()
        return (end - self.started_at).total_seconds()

    # --- transitions -------------------------------------------------------------------------------
    def _transition(self, allowed_from, to, **fields) -> bool:
        changed = Run.objects.filter(pk=self.pk, status__in=allowed_from).update(status=to, **fields)
        if changed:
            self.refresh_from_db()
        return bool(changed)

    def start_stage(self, stage: int) -> bool:
        """Mark the run running at ``stage``; only once per stage, whoever gets there first."""
        now = timezone.now()
        changed = (
            Run.objects.filter(pk=self.pk, status__in=(RunStatus.PENDING, RunStatus.RUNNING))
            .filter(current_stage__lt=stage)
            .update(status=RunStatus.RUNNING, current_stage=stage)
        )
        Run.objects.filter(pk=self.pk, started_at__isnull=True).update(started_at=now)
        self.refresh_from_db()
        return bool(changed)

    def begin_aggregation(self) -> bool:
        return self._transition((RunStatus.RUNNING,), RunStatus.AGGREGATING)

    def succeed(self, *, report: str, report_path: str) -> bool:
        return self._transition(
            (RunStatus.AGGREGATING,),
            RunStatus.SUCCEEDED,
            report=report,
            report_path=report_path,
            error="",
            finished_at=timezone.now(),
        )

    def fail(self, error: str) -> bool:
        return self._transition(
            (RunStatus.PENDING, RunStatus.RUNNING, RunStatus.AGGREGATING),
            RunStatus.FAILED,
            error=error,
            finished_at=timezone.now(),
        )

    def cancel(self) -> bool:
        return self._transition(RUN_ACTIVE, RunStatus.CANCELLED, finished_at=timezone.now())

    def reopen_for_retry(self) -> bool:
        """A failed run goes back to running while its failed batches are retried."""
        return self._transition(
            (RunStatus.FAILED,), RunStatus.RUNNING, error="", finished_at=None, report="", report_path=""
        )

    def add_usage_totals(self):
        """Recompute the run's token and cost totals from its batches (the batches are the record)."""
        totals = self.batches.aggregate(
            input_tokens=Sum("input_tokens"),
            output_tokens=Sum("output_tokens"),
            cache_write_tokens=Sum("cache_write_tokens"),
            cache_read_tokens=Sum("cache_read_tokens"),
            cost_usd=Sum("cost_usd"),
        )
        fields = {k: (v or 0) for k, v in totals.items()}
        Run.objects.filter(pk=self.pk).update(**fields)
        for k, v in fields.items():
            setattr(self, k, v)

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens + self.cache_write_tokens + self.cache_read_tokens


class Batch(models.Model):
    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="batches")
    index = models.PositiveIntegerField(help_text="1-based, unique within the run")
    stage = models.PositiveSmallIntegerField(default=1)
    role = models.CharField(
        max_length=120, blank=True, help_text="what the agent does, for multi-agent stages"
    )
    inputs = models.JSONField(default=list)
    output_path = models.CharField(max_length=500)
    model_id = models.CharField(max_length=80)
    status = models.CharField(max_length=20, choices=BatchStatus.choices, default=BatchStatus.WAITING)
    attempts = models.PositiveIntegerField(default=0, help_text="deliveries of its task, over all retries")
    deliveries = models.PositiveIntegerField(default=0, help_text="deliveries since it was last enqueued")
    turns = models.PositiveIntegerField(default=0)

    input_tokens = models.PositiveBigIntegerField(default=0)
    output_tokens = models.PositiveBigIntegerField(default=0)
    cache_write_tokens = models.PositiveBigIntegerField(default=0)
    cache_read_tokens = models.PositiveBigIntegerField(default=0)
    cost_usd = models.DecimalField(max_digits=12, decimal_places=6, default=Decimal(0))

    final_message = models.TextField(blank=True)
    protocol_warnings = models.JSONField(default=list)
    failure_reason = models.TextField(blank=True)
    transcript = models.JSONField(default=list, help_text="every request's new messages and every response")

    enqueued_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    written_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["run", "index"]
        constraints = [models.UniqueConstraint(fields=["run", "index"], name="unique_batch_index_per_run")]
        indexes = [models.Index(fields=["run", "stage", "status"], name="batch_stage_status")]

    def __str__(self):
        return f"{self.run.run_id} batch {self.index}"

    def get_absolute_url(self):
        return reverse("runs:batch", args=[self.run.run_id, self.index])

    @property
    def agent_seconds(self) -> float | None:
        if not self.started_at or not self.written_at:
            return None
        return (self.written_at - self.started_at).total_seconds()

    @property
    def duration_seconds(self) -> float | None:
        if not self.started_at:
            return None
        end = self.finished_at or timezone.now()
        return (end - self.started_at).total_seconds()

    # --- transitions -------------------------------------------------------------------------------
    def _transition(self, allowed_from, to, **fields) -> bool:
        changed = Batch.objects.filter(pk=self.pk, status__in=allowed_from).update(status=to, **fields)
        if changed:
            self.refresh_from_db()
        return bool(changed)

    def enqueue(self) -> bool:
        return self._transition(
            (BatchStatus.WAITING, BatchStatus.FAILED),
            BatchStatus.PENDING,
            enqueued_at=timezone.now(),
            deliveries=0,
        )

    def start(self) -> bool:
        """Claim the batch for this delivery of its task.

        A batch still ``running`` is taken over only when it started longer ago than the worker timeout:
        by then the worker that held it has been stopped, so this is the broker's redelivery after that
        worker died, and the batch starts again from scratch. A duplicate delivery while the first worker
        is still within its time is refused. Each delivery that claims the batch counts as an attempt.
        """
        abandoned = timezone.now() - timedelta(seconds=settings.ERKWEB_WORKER_TIMEOUT)
        claimable = Q(status=BatchStatus.PENDING) | Q(status=BatchStatus.RUNNING, started_at__lt=abandoned)
        changed = (
            Batch.objects.filter(pk=self.pk)
            .filter(claimable)
            .update(
                status=BatchStatus.RUNNING,
                attempts=F("attempts") + 1,
                deliveries=F("deliveries") + 1,
                turns=0,
                final_message="",
                failure_reason="",
                protocol_warnings=[],
                transcript=[],
                started_at=timezone.now(),
                written_at=None,
                finished_at=None,
            )
        )
        if changed:
            self.refresh_from_db()
        return bool(changed)

    def mark_written(self, *, final_message: str, warnings: list[str]) -> bool:
        return self._transition(
            (BatchStatus.RUNNING,),
            BatchStatus.WRITTEN,
            final_message=final_message,
            protocol_warnings=warnings,
            written_at=timezone.now(),
        )

    def mark_verified(self) -> bool:
        return self._transition((BatchStatus.WRITTEN,), BatchStatus.VERIFIED, finished_at=timezone.now())

    def fail(self, reason: str) -> bool:
        return self._transition(
            (BatchStatus.PENDING, BatchStatus.RUNNING, BatchStatus.WRITTEN),
            BatchStatus.FAILED,
            failure_reason=reason,
            finished_at=timezone.now(),
            # A batch that failed before writing gets its failure time as the end of its agent time.
            written_at=Coalesce(F("written_at"), Now()),
        )

    def cancel(self) -> bool:
        return self._transition(
            (BatchStatus.WAITING, BatchStatus.PENDING, BatchStatus.RUNNING),
            BatchStatus.CANCELLED,
            finished_at=timezone.now(),
        )

    def add_warnings(self, warnings: list[str]):
        """Add protocol warnings found after the agent finished (verification's drift repairs)."""
        self.refresh_from_db(fields=["protocol_warnings"])
        self.protocol_warnings = [*self.protocol_warnings, *warnings]
        Batch.objects.filter(pk=self.pk).update(protocol_warnings=self.protocol_warnings)

    def record_turn(self, *, usage: dict, cost: Decimal, transcript_entries: list[dict], turns: int = 1):
        """Add API usage and transcript entries (``turns`` responses among them, 0 for a failed attempt
        or tool results); done as they happen, so a page shows progress."""
        Batch.objects.filter(pk=self.pk).update(
            turns=F("turns") + turns,
            input_tokens=F("input_tokens") + usage.get("input_tokens", 0),
            output_tokens=F("output_tokens") + usage.get("output_tokens", 0),
            cache_write_tokens=F("cache_write_tokens") + usage.get("cache_write_tokens", 0),
            cache_read_tokens=F("cache_read_tokens") + usage.get("cache_read_tokens", 0),
            cost_usd=F("cost_usd") + cost,
        )
        if transcript_entries:
            # The transcript is only appended by the one worker that owns the batch, so a
            # read-modify-write here does not race.
            self.refresh_from_db(fields=["transcript"])
            Batch.objects.filter(pk=self.pk).update(transcript=[*self.transcript, *transcript_entries])


class ItemResult(models.Model):
    """One item as aggregation parsed it, so comparisons and history never re-read the files."""

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="items")
    batch = models.ForeignKey(Batch, on_delete=models.CASCADE, related_name="item_results")
    key = models.CharField(max_length=500, help_text="the item's identity within its run, e.g. a doc path")
    position = models.PositiveIntegerField(help_text="order in the run's gathered item list")
    score = models.IntegerField(null=True, blank=True)
    group = models.CharField(max_length=20, blank=True, db_index=True)
    data = models.JSONField(default=dict)

    class Meta:
        ordering = ["run", "position"]
        constraints = [models.UniqueConstraint(fields=["run", "key"], name="unique_item_per_run")]

    def __str__(self):
        return f"{self.run.run_id}: {self.key}"
