"""Budgets: what a run may spend (``Run.max_cost``) and what every run of a month may spend together
(``ERKWEB_MONTHLY_BUDGET``), decided before the money is spent.

- Before a run exists, its estimate (runs/estimate.py, the figure the preview shows) must fit its budget,
  and the month's spend plus the estimate the monthly one: else the run is refused, with both figures.
- Before every turn of every agent, what the run's batches spent so far (read from the database: the
  turns of every batch and attempt, recorded as they ended) plus the worst case of the next turn
  (runs/claude/pricing.worst_case_cost) must fit. When it would not, the agent stops and its batch fails
  as ``budget reached``. Agents running at once do not see each other's turns in flight, so a run can
  go over its budget by at most one turn per agent running.
- Batch mode: the turns of a message batch that may have been created but was never recorded (its row
  stays ``unrecorded``, runs/models/message_batch.py) count as spent at their worst case, for good.

The month is the calendar month in UTC, and a run's spend counts in the month it was created.
"""

from datetime import UTC, datetime
from decimal import Decimal

from django.conf import settings
from django.db.models import Count, OuterRef, Q, Subquery, Sum
from django.utils import timezone

from erkweb.env import money

from .claude.agent import AgentStopped
from .errors import InputError
from .models import BatchStatus, MessageBatch, Run, RunStatus

BUDGET_REACHED = "budget reached"
MONTHLY_BUDGET_REACHED = "monthly budget reached"


class BudgetReached(AgentStopped):
    """The next turn could take the run (or the month) over its budget."""


def dollars(amount: Decimal | float | int) -> str:
    """$0.0123: four decimals, as the pages show costs."""
    return f"${Decimal(amount).quantize(Decimal('0.0001'))}"


def parse_budget(raw: object, flag: str = "--max-cost") -> Decimal | None:
    """A budget from the command line or a form: dollars more than 0; None for nothing given."""
    if raw is None or str(raw).strip() == "":
        return None
    try:
        return money(str(raw))
    except ValueError as exc:
        raise InputError(f"{flag} {exc}, not {raw!r}", field="max_cost") from None


def month_start(now: datetime | None = None) -> datetime:
    now = (now or timezone.now()).astimezone(UTC)
    return now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def month_spend(now: datetime | None = None) -> Decimal:
    """What every run created this calendar month (UTC) has spent: one aggregate over Run.cost_usd,
    which each turn adds to in the transaction that records it (Run.created_at is indexed), and the
    worst case of batch-mode turns possibly sent in a message batch that was never recorded."""
    start = month_start(now)
    total = Run.objects.filter(created_at__gte=start).aggregate(total=Sum("cost_usd"))["total"]
    unrecorded = MessageBatch.objects.filter(
        run__created_at__gte=start, processing_status=MessageBatch.UNRECORDED
    ).aggregate(total=Sum("reserved_cost"))["total"]
    return Decimal(total or 0) + Decimal(unrecorded or 0)


def _reserved() -> Subquery:
    """A run's reserve for possibly-sent turns (runs/models/message_batch.py, UNRECORDED), per run."""
    rows = MessageBatch.objects.filter(run=OuterRef("pk"), processing_status=MessageBatch.UNRECORDED)
    return Subquery(rows.values("run").annotate(total=Sum("reserved_cost")).values("total")[:1])


def check_estimate(estimate_cost: Decimal, max_cost: Decimal | None) -> None:
    """Refuse a run whose estimate does not fit its budget, or the month's: InputError with both figures."""
    if max_cost is not None and estimate_cost > max_cost:
        raise InputError(
            f"the estimate of this run ({dollars(estimate_cost)}) is over its budget ({dollars(max_cost)}): "
            "raise the budget, use fewer or cheaper items, or a cheaper model",
            field="max_cost",
        )
    monthly = settings.ERKWEB_MONTHLY_BUDGET
    if monthly is not None:
        spent = month_spend()
        if spent + estimate_cost > monthly:
            raise InputError(
                f"the estimate of this run ({dollars(estimate_cost)}) and this month's spend "
                f"({dollars(spent)}) are over ERKWEB_MONTHLY_BUDGET ({dollars(monthly)})",
                field="max_cost",
            )


def check_turn(run_pk: int, batch_pk: int, attempt: int, worst_case: Decimal) -> str | None:
    """Before a turn of attempt ``attempt`` at a batch: the run's status when the attempt still holds the
    batch (None when it does not), after raising BudgetReached when the turn could cross a budget.

    One query reads the run's status, its budget, whether the attempt holds the batch, and the sum of its
    batches' cost (an aggregate over the run's few batches, by the index on Batch.run), plus what its
    unrecorded message batches reserve."""
    holds = Q(batches__pk=batch_pk, batches__attempts=attempt, batches__status=BatchStatus.RUNNING)
    rows = list(
        Run.objects.filter(pk=run_pk)
        .values("status", "max_cost")
        .annotate(
            spent=Sum("batches__cost_usd"),
            held=Count("batches", filter=holds),
            reserved=_reserved(),
        )
    )
    row = rows[0] if rows else None
    if row is None or not row["held"]:
        return None
    if row["status"] == RunStatus.CANCELLED:
        return row["status"]  # the agent stops as cancelled, whatever the budget says
    reserved = Decimal(row["reserved"] or 0)
    spent, max_cost = Decimal(row["spent"] or 0) + reserved, row["max_cost"]
    if max_cost is not None and spent + worst_case > max_cost:
        possibly = f" (with {dollars(reserved)} possibly sent unrecorded)" if reserved else ""
        raise BudgetReached(
            f"{BUDGET_REACHED}: {dollars(spent)} spent{possibly} of the run's {dollars(max_cost)}, "
            f"and the next turn could cost up to {dollars(worst_case)}"
        )
    monthly = settings.ERKWEB_MONTHLY_BUDGET
    if monthly is not None:
        month = month_spend()
        if month + worst_case > monthly:
            raise BudgetReached(
                f"{MONTHLY_BUDGET_REACHED}: {dollars(month)} spent this month (UTC) of ERKWEB_MONTHLY_BUDGET "
                f"{dollars(monthly)}, and the next turn could cost up to {dollars(worst_case)}"
            )
    return row["status"]


def stopped_by_budget(reasons: list[str]) -> str | None:
    """The budget a run's failed batches stopped at (their reasons), to lead the run's error; or None."""
    for reason in reasons:
        for which in (MONTHLY_BUDGET_REACHED, BUDGET_REACHED):
            if reason.startswith(which):
                return which
    return None


def check_retry(run: Run, max_cost: Decimal | None) -> None:
    """A run stopped by its budget is retried only with a larger one: more than it has spent already
    (what it spent counts against the new budget too)."""
    reasons = list(run.batches.filter(status=BatchStatus.FAILED).values_list("failure_reason", flat=True))
    stopped = stopped_by_budget(reasons) == BUDGET_REACHED
    if max_cost is None:
        if stopped:
            raise InputError(
                f"run {run.run_id} stopped at its budget ({dollars(run.max_cost or 0)}, "
                f"{dollars(run.cost_usd)} spent): retry it with a larger one",
                field="max_cost",
            )
        return
    if max_cost <= run.cost_usd:
        raise InputError(
            f"the new budget ({dollars(max_cost)}) must be more than the {dollars(run.cost_usd)} "
            f"run {run.run_id} has spent already",
            field="max_cost",
        )
