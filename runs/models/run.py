"""A run: one operation over one set of params, its stages, its lease, its totals.

Status changes only through the transitions below. Each is a conditional UPDATE on the expected current
status (and, for the lease, on who holds it), so two processes racing for the same transition cannot
both win: the loser sees zero rows changed and gets ``False``. Their timestamps come from the database
clock (``Now()``), never from a host's, so hosts whose clocks differ still agree on what expired.
"""

import secrets
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.db import models
from django.db.models import Count, F, Q, Sum
from django.db.models.functions import Coalesce, Now
from django.urls import reverse
from django.utils import timezone

from .status import RUN_ACTIVE, RUN_FINISHED, RunMode, RunStatus

if TYPE_CHECKING:
    from django.db.models import QuerySet

    from .records import ItemResult

USAGE_FIELDS = ("input_tokens", "output_tokens", "cache_write_tokens", "cache_read_tokens")


def new_run_id(operation: str, now: datetime | None = None) -> str:
    now = now or timezone.now()
    return f"{operation}-{now:%Y%m%d-%H%M%S}-{secrets.token_hex(2)}"


class Run(models.Model):
    run_id = models.CharField(max_length=80, unique=True)
    operation = models.CharField(max_length=40)
    status = models.CharField(max_length=20, choices=RunStatus.choices, default=RunStatus.PENDING)
    mode = models.CharField(max_length=10, choices=RunMode.choices, default=RunMode.LIVE)
    model = models.CharField(max_length=40, help_text="alias or id as the user gave it")
    model_id = models.CharField(max_length=80, help_text="the resolved model id, or 'local'")
    agents = models.PositiveIntegerField()
    params = models.JSONField(default=dict, help_text="what the user asked the run to do, normalised")
    manifest = models.JSONField(default=dict, help_text="everything needed to reproduce the run")
    summary = models.JSONField(default=dict, help_text="what gather found: counts and notes")
    stages = models.PositiveSmallIntegerField(default=1)
    current_stage = models.PositiveSmallIntegerField(default=0)
    report = models.TextField(blank=True)
    error = models.TextField(blank=True, help_text="why the run failed, naming the failed batches")
    used_simulator = models.BooleanField(default=False)
    api_base_url = models.CharField(max_length=200, blank=True)
    lease_owner = models.CharField(max_length=200, blank=True, help_text="who aggregates the run")
    lease_expires_at = models.DateTimeField(null=True, blank=True)

    input_tokens = models.PositiveBigIntegerField(default=0)
    output_tokens = models.PositiveBigIntegerField(default=0)
    cache_write_tokens = models.PositiveBigIntegerField(default=0)
    cache_read_tokens = models.PositiveBigIntegerField(default=0)
    cost_usd = models.DecimalField(max_digits=12, decimal_places=6, default=Decimal(0))
    # The budget (runs/budget.py): checked before every turn against what the run's batches spent.
    max_cost = models.DecimalField(
        max_digits=12, decimal_places=6, null=True, blank=True, help_text="the run's budget in USD"
    )

    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    # What the history lists, stored when the run ends (succeed), so that a page of runs never counts
    # the items of every run: the items a user is shown (Run.reported_items) and those per group.
    item_count = models.PositiveIntegerField(default=0)
    group_counts = models.JSONField(default=dict)

    class Meta:
        ordering = ["-created_at", "-id"]
        # The history's order, alone and after each of its filters, read from an index (no sort, and
        # page 150 is an index walk); the status one also serves the driver's sweep of unfinished runs.
        indexes = [
            models.Index(fields=["-created_at", "-id"], name="run_newest"),
            models.Index(fields=["status", "-created_at", "-id"], name="run_status_newest"),
            models.Index(fields=["operation", "-created_at", "-id"], name="run_operation_newest"),
            models.Index(fields=["model", "-created_at", "-id"], name="run_model_newest"),
        ]

    def __str__(self) -> str:
        return self.run_id

    def save(self, *args: Any, **kwargs: Any) -> None:
        adding = self._state.adding
        super().save(*args, **kwargs)
        if adding:  # however a run is made (launch, a test's factory), the history's search finds it
            from .search import index_run

            index_run(self)

    def get_absolute_url(self) -> str:
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

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens + self.cache_write_tokens + self.cache_read_tokens

    def reported_items(self) -> "QuerySet[ItemResult]":
        """The items a user is shown: a succeeded run's. A run that failed keeps its verified batches'
        items (the record, which its retry completes), but is never scored as if it were complete."""
        return self.items.all() if self.status == RunStatus.SUCCEEDED else self.items.none()

    def listing(self) -> dict[str, Any]:
        """What the history lists of the run, from its items: stored by ``succeed`` (one GROUP BY on
        this run's items, by the index of their run)."""
        groups = dict(self.items.values_list("group").annotate(n=Count("id")).order_by())
        return {"item_count": sum(groups.values()), "group_counts": groups}

    # --- transitions -------------------------------------------------------------------------------
    def _update(self, query: Q, **fields: Any) -> bool:
        changed = Run.objects.filter(query, pk=self.pk).update(**fields)
        if changed:
            # Everything but the blobs no transition here changed (a manifest holds every item): a
            # run's end is then not slower for its size.
            unchanged_blobs = {"manifest", "summary", "params", "report"} - set(fields)
            self.refresh_from_db(
                fields=[f.attname for f in self._meta.concrete_fields if f.attname not in unchanged_blobs]
            )
        return bool(changed)

    def start_stage(self, stage: int) -> bool:
        """Mark the run running at ``stage``; only once per stage, whoever gets there first."""
        return self._update(
            Q(status__in=(RunStatus.PENDING, RunStatus.RUNNING), current_stage__lt=stage),
            status=RunStatus.RUNNING,
            current_stage=stage,
            started_at=Coalesce(F("started_at"), Now()),
        )

    def begin_aggregation(self, owner: str, lease_seconds: float) -> bool:
        """running -> aggregating, with the lease held by ``owner``: only its holder may succeed."""
        return self._update(
            Q(status=RunStatus.RUNNING),
            status=RunStatus.AGGREGATING,
            lease_owner=owner,
            lease_expires_at=Now() + timedelta(seconds=lease_seconds),
        )

    def take_lease(self, owner: str, lease_seconds: float) -> bool:
        """Take the aggregation lease of an aggregating run that nobody holds, or whose holder let it
        expire (it died, or is too slow to be trusted with it)."""
        free = Q(lease_owner="") | Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lt=Now())
        return self._update(
            Q(status=RunStatus.AGGREGATING) & free,
            lease_owner=owner,
            lease_expires_at=Now() + timedelta(seconds=lease_seconds),
        )

    def _holds_lease(self, owner: str) -> Q:
        return Q(status=RunStatus.AGGREGATING, lease_owner=owner, lease_expires_at__gt=Now())

    def succeed(self, *, owner: str, report: str) -> bool:
        """aggregating -> succeeded, only while ``owner`` still holds an unexpired lease: an aggregator
        that lost its lease to another cannot also finish the run. Its listing is stored with it (its
        items are all saved: every batch was verified before aggregation began)."""
        return self._update(
            self._holds_lease(owner),
            **self.listing(),
            status=RunStatus.SUCCEEDED,
            report=report,
            error="",
            lease_owner="",
            lease_expires_at=None,
            finished_at=Now(),
        )

    def fail(self, error: str, *, owner: str | None = None) -> bool:
        """A pending or running run fails (its batches ended, some failed); an aggregating one only by
        the holder of its lease (its aggregation failed)."""
        query = self._holds_lease(owner) if owner else Q(status__in=(RunStatus.PENDING, RunStatus.RUNNING))
        return self._update(
            query,
            status=RunStatus.FAILED,
            error=error,
            lease_owner="",
            lease_expires_at=None,
            finished_at=Now(),
        )

    def cancel(self) -> bool:
        return self._update(Q(status__in=RUN_ACTIVE), status=RunStatus.CANCELLED, finished_at=Now())

    def reopen_for_retry(self, max_cost: Decimal | None = None) -> bool:
        """A failed run goes back to running while its failed batches are retried, with a new budget
        when one is given (what it spent so far counts against it)."""
        budget = {"max_cost": max_cost} if max_cost is not None else {}
        return self._update(
            Q(status=RunStatus.FAILED),
            status=RunStatus.RUNNING,
            error="",
            finished_at=None,
            report="",
            item_count=0,
            group_counts={},
            **budget,
        )

    # --- usage -------------------------------------------------------------------------------------
    def add_usage_totals(self) -> None:
        """Recompute the run's token and cost totals from its batches (the batches are the record)."""
        totals = self.batches.aggregate(**{name: Sum(name) for name in (*USAGE_FIELDS, "cost_usd")})
        fields = {k: (v or 0) for k, v in totals.items()}
        Run.objects.filter(pk=self.pk).update(**fields)
        for k, v in fields.items():
            setattr(self, k, v)
