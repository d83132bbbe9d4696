"""A message batch: one request to the Message Batches API holding the next turn of many of a run's
agents (batch mode, runs/claude/batch_mode.py), as erkweb last saw it."""

import secrets
from decimal import Decimal
from typing import Any

from django.db import models, transaction
from django.db.models import F, Q
from django.db.models.functions import Now

from .run import USAGE_FIELDS, Run


class MessageBatch(models.Model):
    # Written before the create call, with the requests about to go out: if the process dies after the
    # API created the message batch and before its id was saved, this row stays, the turns are known to
    # be possibly sent (and billed), and the budget counts their worst case (``reserved_cost``) for good:
    # no field of the API's message batch object would tell which run an unrecorded one belongs to.
    UNRECORDED = "unrecorded"

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="message_batches")
    stage = models.PositiveSmallIntegerField()
    api_id = models.CharField(max_length=120, unique=True, help_text="the API's msgbatch_... id")
    # The API's processing_status (in_progress, canceling, ended) and request_counts, when last retrieved.
    processing_status = models.CharField(max_length=20, default="in_progress")
    request_counts = models.JSONField(default=dict)
    # custom_id -> [batch index, attempt]: whose turn each request is.
    requests = models.JSONField(default=dict)
    results_taken = models.BooleanField(default=False, help_text="its results were read and applied")
    reserved_cost = models.DecimalField(
        max_digits=12,
        decimal_places=6,
        default=Decimal(0),
        help_text="the worst case of its requests at the batch rate, counted by budgets while unrecorded",
    )
    created_at = models.DateTimeField(db_default=Now())
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["run", "created_at", "id"]

    def __str__(self) -> str:
        return self.api_id

    @property
    def request_total(self) -> int:
        return len(self.requests)

    def saw(self, processing_status: str, request_counts: dict[str, Any]) -> None:
        """What a retrieve said (not a transition: the API decides the status)."""
        ended = {"ended_at": Now()} if processing_status == "ended" else {}
        MessageBatch.objects.filter(pk=self.pk).update(
            processing_status=processing_status, request_counts=request_counts, **ended
        )
        self.processing_status, self.request_counts = processing_status, request_counts

    def take_results(self) -> bool:
        """Its results are applied once: whoever marks it first (under the run's message-batch lease)."""
        return bool(
            MessageBatch.objects.filter(Q(results_taken=False), pk=self.pk).update(results_taken=True)
        )

    @classmethod
    def intend(cls, run: Run, stage: int, requests: dict[str, Any], reserved: Decimal) -> "MessageBatch":
        """The row of a message batch about to be created, before the call (taken: nothing to read)."""
        return cls.objects.create(
            run=run,
            stage=stage,
            api_id=f"{cls.UNRECORDED}-{secrets.token_hex(8)}",
            processing_status=cls.UNRECORDED,
            requests=requests,
            reserved_cost=reserved,
            results_taken=True,
        )

    def recorded(self, api_id: str, processing_status: str, request_counts: dict[str, Any]) -> bool:
        """The API created it: its id and state saved, its results to be read (in the caller's
        transaction, with its batches' conversations awaiting its requests)."""
        return bool(
            MessageBatch.objects.filter(pk=self.pk, processing_status=self.UNRECORDED).update(
                api_id=api_id,
                processing_status=processing_status,
                request_counts=request_counts,
                results_taken=False,
            )
        )

    def never_sent(self) -> None:
        """The API answered the create call with an error: no message batch exists, nothing is reserved."""
        MessageBatch.objects.filter(pk=self.pk, processing_status=self.UNRECORDED).delete()

    def bill_late_usage(self, usages: dict[str, tuple[dict[str, Any], Decimal]]) -> bool:
        """A cancelled run's message batch, ended: the usage and cost of what the API completed before the
        cancel (Anthropic bills it), by ``custom_id``, is added to the batch whose attempt still awaits
        that request (one a step applied already was billed with its turn), the run's totals recomputed
        and its results marked taken, in one transaction and once (of two sweeps, the first to mark it;
        the second: False, nothing added). No turn is applied, no status changes."""
        from .batch import Batch  # batch.py needs nothing from here; the import stays one-way at load

        with transaction.atomic():
            if not MessageBatch.objects.filter(pk=self.pk, results_taken=False).update(results_taken=True):
                return False
            for custom_id, (usage, cost) in usages.items():
                if custom_id not in self.requests:
                    continue  # not a request erkweb sent in it: no batch's
                index, attempt = self.requests[custom_id]
                increments = {name: F(name) + usage.get(name, 0) for name in USAGE_FIELDS}
                Batch.objects.filter(
                    run_id=self.run_id, index=index, attempts=attempt, conversation__awaiting=custom_id
                ).update(cost_usd=F("cost_usd") + cost, **increments)
            Run.objects.get(pk=self.run_id).add_usage_totals()
        self.results_taken = True
        return True
