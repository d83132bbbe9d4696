"""A batch: one agent's share of a stage, claimed by one attempt at a time.

Fencing: a claim makes a new attempt and increments ``attempts``; every write an attempt makes (its turns,
tokens, transcript, written, failed) is conditioned on that number and on the status it expects, so an
attempt that was superseded (its worker was taken for dead, a later claim took the batch) changes
nothing, and learns it at its next write. Two live attempts of one batch can never both count.

Status changes only through the transitions below, each a conditional UPDATE that returns whether it won.
Timestamps come from the database clock (``Now()``).
"""

import hashlib
from collections.abc import Sequence
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.db import models, transaction
from django.db.models import F, Max, Q
from django.db.models.functions import Coalesce, Now
from django.urls import reverse
from django.utils import timezone

from .run import USAGE_FIELDS, Run
from .status import BatchStatus

MAX_REASON_CHARS = 2000  # a failure reason can quote agent output: keep it one readable paragraph


def bounded_reason(reason: str) -> str:
    reason = str(reason).replace("\x00", "\ufffd")
    return reason if len(reason) <= MAX_REASON_CHARS else reason[:MAX_REASON_CHARS] + "…"


class Batch(models.Model):
    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="batches")
    index = models.PositiveIntegerField(help_text="1-based, unique within the run")
    stage = models.PositiveSmallIntegerField(default=1)
    role = models.CharField(
        max_length=120, blank=True, help_text="what the agent does, for multi-agent stages"
    )
    inputs = models.JSONField(default=list)
    output_path = models.CharField(max_length=500, help_text="relative to the run's scratch folder")
    model_id = models.CharField(max_length=80)
    status = models.CharField(max_length=20, choices=BatchStatus.choices, default=BatchStatus.WAITING)
    attempts = models.PositiveIntegerField(
        default=0, help_text="the current attempt's number: claims over all retries (the fence)"
    )
    claims = models.PositiveIntegerField(default=0, help_text="claims since it was last enqueued")
    worker = models.CharField(max_length=200, blank=True, help_text="the worker the current attempt runs on")
    turns = models.PositiveIntegerField(default=0)

    input_tokens = models.PositiveBigIntegerField(default=0)
    output_tokens = models.PositiveBigIntegerField(default=0)
    cache_write_tokens = models.PositiveBigIntegerField(default=0)
    cache_read_tokens = models.PositiveBigIntegerField(default=0)
    cost_usd = models.DecimalField(max_digits=12, decimal_places=6, default=Decimal(0))

    final_message = models.TextField(blank=True)
    protocol_warnings = models.JSONField(default=list)
    failure_reason = models.TextField(blank=True)
    # The record: the verified output file's content, saved by verification (from any host).
    output = models.TextField(blank=True)
    output_sha256 = models.CharField(max_length=64, blank=True)
    # Batch mode: the agent's conversation between turns (runs/claude/batch_mode.py); empty otherwise.
    conversation = models.JSONField(default=dict, blank=True)
    # What aggregation takes of this batch, prepared by the batch's own worker when it is verified
    # (Checked.part: audit-scan's report lines), so that the report after the last batch only merges.
    report_part = models.JSONField(default=dict, blank=True)
    rejected_output = models.TextField(
        blank=True, help_text="the start of an output file that failed verification, as safe text"
    )

    enqueued_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    written_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["run", "index"]
        constraints = [models.UniqueConstraint(fields=["run", "index"], name="unique_batch_index_per_run")]
        indexes = [
            models.Index(fields=["run", "stage", "status"], name="batch_stage_status"),
            # The few open batches among all of history's: which workers are busy, which cancelled runs
            # still have batches in flight.
            models.Index(fields=["status"], name="batch_status"),
        ]

    def __str__(self) -> str:
        return f"{self.run.run_id} batch {self.index}"

    def get_absolute_url(self) -> str:
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
    def _update(self, query: Q, **fields: Any) -> bool:
        changed = Batch.objects.filter(query, pk=self.pk).update(**fields)
        if changed:
            self.refresh_from_db()
        return bool(changed)

    @staticmethod
    def _held(attempt: int, *statuses: str) -> Q:
        """The batch as attempt ``attempt`` left it: no later claim, and in one of ``statuses``."""
        return Q(attempts=attempt, status__in=statuses)

    def enqueue(self) -> bool:
        """waiting (its stage starts) or failed (a retry) -> pending; its task is enqueued with it."""
        return self._update(
            Q(status__in=(BatchStatus.WAITING, BatchStatus.FAILED)),
            status=BatchStatus.PENDING,
            enqueued_at=Now(),
            claims=0,
        )

    def claim(self, worker: str) -> int | None:
        """Claim the pending batch for a new attempt on ``worker``; the new attempt's number, or None.

        Whichever delivery of its task comes first claims it: a duplicate delivery finds it running (or
        ended) and is refused. A batch whose attempt was lost is made pending again by the driver
        (``requeue``), never claimed from under its holder.
        """
        changed = Batch.objects.filter(pk=self.pk, status=BatchStatus.PENDING).update(
            status=BatchStatus.RUNNING,
            attempts=F("attempts") + 1,
            claims=F("claims") + 1,
            worker=worker,
            turns=0,
            final_message="",
            failure_reason="",
            output="",
            output_sha256="",
            rejected_output="",
            protocol_warnings=[],
            conversation={},  # batch mode: a new attempt never starts from an old attempt's state
            started_at=Now(),
            written_at=None,
            finished_at=None,
        )
        if not changed:
            return None
        self.refresh_from_db()
        return self.attempts

    def requeue(self, attempt: int) -> bool:
        """The driver takes the batch from attempt ``attempt`` (its worker is gone, or it overran): back
        to pending, for its task to be enqueued again; the next claim supersedes that attempt."""
        return self._update(
            self._held(attempt, BatchStatus.RUNNING, BatchStatus.WRITTEN),
            status=BatchStatus.PENDING,
            enqueued_at=Now(),
        )

    def renew_enqueue(self, waited: float) -> bool:
        """A pending batch whose task was lost gets another, once it has waited ``waited`` seconds (by
        the database clock, in the UPDATE itself: of two processes that saw it waiting, the first
        renews it and the second finds it enqueued just now). Not a status change: it stays pending."""
        old = Q(enqueued_at__isnull=True) | Q(enqueued_at__lt=Now() - timedelta(seconds=waited))
        return self._update(Q(status=BatchStatus.PENDING) & old, enqueued_at=Now())

    def mark_written(self, attempt: int, *, final_message: str, warnings: list[str]) -> bool:
        return self._update(
            self._held(attempt, BatchStatus.RUNNING),
            status=BatchStatus.WRITTEN,
            final_message=final_message,
            protocol_warnings=warnings,
            written_at=Now(),
        )

    def mark_verified(
        self,
        attempt: int,
        *,
        output: str,
        warnings: Sequence[str] = (),
        report_part: dict[str, Any] | None = None,
    ) -> bool:
        """written -> verified, with the verified ``output`` (and its sha256) saved as the record, and
        its ``report_part``; ``warnings`` (verification's drift repairs) join the agent's."""
        fields = {"protocol_warnings": [*self.protocol_warnings, *warnings]} if warnings else {}
        return self._update(
            self._held(attempt, BatchStatus.WRITTEN),
            status=BatchStatus.VERIFIED,
            output=output,
            report_part=report_part or {},
            output_sha256=hashlib.sha256(output.encode("utf-8")).hexdigest(),
            finished_at=Now(),
            **fields,
        )

    def fail(self, reason: str, attempt: int, *, rejected_output: str = "") -> bool:
        """Attempt ``attempt`` (or the driver, about that attempt) fails the batch with ``reason``; a
        file that verification rejected is kept as ``rejected_output`` (bounded, safe text)."""
        return self._update(
            self._held(attempt, BatchStatus.PENDING, BatchStatus.RUNNING, BatchStatus.WRITTEN),
            status=BatchStatus.FAILED,
            failure_reason=bounded_reason(reason),
            rejected_output=rejected_output,
            finished_at=Now(),
            # A batch that failed before writing gets its failure time as the end of its agent time.
            written_at=Coalesce(F("written_at"), Now()),
        )

    def cancel(self, attempt: int | None = None) -> bool:
        """A batch of a cancelled run: one that no attempt holds, or the one ``attempt`` holds."""
        query = Q(status__in=(BatchStatus.WAITING, BatchStatus.PENDING))
        if attempt is not None:
            query |= self._held(attempt, BatchStatus.RUNNING, BatchStatus.WRITTEN)
        return self._update(query, status=BatchStatus.CANCELLED, finished_at=Now())

    # --- what an attempt records as it goes ----------------------------------------------------------
    def _turn_of(self, attempt: int, awaiting: str | None) -> Q:
        """Held by ``attempt`` and, in batch mode, still awaiting the result ``awaiting`` (a JSON key
        lookup): of two steps applying one result, the first write wins and the second changes nothing."""
        held = self._held(attempt, BatchStatus.RUNNING)
        return held if awaiting is None else held & Q(conversation__awaiting=awaiting)

    def save_conversation(self, attempt: int, state: dict[str, Any], *, awaiting: str | None = None) -> bool:
        """Batch mode keeps the agent's conversation between turns in the row, fenced like every write."""
        return self._update(self._turn_of(attempt, awaiting), conversation=state)

    def record_turn(
        self,
        attempt: int,
        *,
        usage: dict[str, Any],
        cost: Decimal,
        entries: list[dict[str, Any]],
        conversation: dict[str, Any] | None = None,
        awaiting: str | None = None,
    ) -> bool:
        """Add API usage (to the batch and its run) and append transcript entries (``turns`` counts the
        responses among them), in one transaction, with batch mode's ``conversation`` state when given;
        False, with nothing changed, when attempt ``attempt`` no longer holds the batch (or, given
        ``awaiting``, the batch no longer awaits that message batch request: its result was applied)."""
        from .records import TranscriptEntry, storable

        increments = {name: F(name) + usage.get(name, 0) for name in USAGE_FIELDS}
        turns = sum(entry.get("role") == "assistant" for entry in entries)
        state = {} if conversation is None else {"conversation": conversation}
        with transaction.atomic():
            changed = Batch.objects.filter(self._turn_of(attempt, awaiting), pk=self.pk).update(
                turns=F("turns") + turns, cost_usd=F("cost_usd") + cost, **increments, **state
            )
            if not changed:
                return False
            Run.objects.filter(pk=self.run_id).update(cost_usd=F("cost_usd") + cost, **increments)
            if entries:
                last = self.transcript_entries.filter(attempt=attempt).aggregate(n=Max("sequence"))["n"] or 0
                TranscriptEntry.objects.bulk_create(
                    TranscriptEntry(
                        batch_id=self.pk,
                        attempt=attempt,
                        sequence=last + n,
                        role=str(entry.get("role", "?"))[:20],
                        content=storable({k: v for k, v in entry.items() if k != "role"}),
                    )
                    for n, entry in enumerate(entries, start=1)
                )
        return True
