"""Two runs of the same operation side by side: what ``/compare/`` shows and ``erk compare`` prints.

This module loads the two runs, checks that they can be compared and measures what every run has
(duration, tokens, cost); what their items say is the operation's own comparison
(``Presentation.compare``), which the measures in ``agreement.py`` serve.
"""

from dataclasses import dataclass
from typing import Any

from .errors import InputError
from .models import Run
from .operations import presentation_of

LOCAL_MODEL_ID = "local"


class CompareError(Exception):
    """Two runs that cannot be compared; the message is shown to the user as is."""


class UnknownRunError(CompareError):
    """One of the two run ids names no run (the pages answer 404)."""


@dataclass
class Side:
    run: Run
    items: int  # item results the run holds
    cost_per_item: float | None  # None when the run has no items
    duration_seconds: float | None  # None when the run never started; a running run counts until now
    tokens: int  # input + output + cache writes + cache reads
    cost_usd: float

    @property
    def is_local(self) -> bool:
        return self.run.model_id == LOCAL_MODEL_ID

    @classmethod
    def of(cls, run: Run, items: int) -> "Side":
        cost = float(run.cost_usd)
        return cls(
            run=run,
            items=items,
            cost_per_item=cost / items if items else None,
            duration_seconds=run.duration_seconds,
            tokens=run.total_tokens,
            cost_usd=cost,
        )


def _load_runs(run_id_a: str, run_id_b: str) -> tuple[Run, Run]:
    runs = {run.run_id: run for run in Run.objects.filter(run_id__in=[run_id_a, run_id_b])}
    for run_id in (run_id_a, run_id_b):
        if run_id not in runs:
            raise UnknownRunError(f"no run {run_id!r}")
    run_a, run_b = runs[run_id_a], runs[run_id_b]
    if run_a.operation != run_b.operation:
        raise CompareError(
            f"{run_a.run_id} and {run_b.run_id} are different operations "
            f"({run_a.operation} vs {run_b.operation}): only runs of the same operation can be compared"
        )
    return run_a, run_b


def compare_runs(run_id_a: str, run_id_b: str) -> Any:
    """Compare two runs of the same operation by run id, with that operation's comparison.

    CompareError for an unknown id (``no run 'X'``, the first unknown one) and for runs of different
    operations. A run compared with itself is allowed and agrees perfectly. Runs that are not finished,
    or hold no item results yet, are compared all the same.
    """
    run_a, run_b = _load_runs(run_id_a, run_id_b)
    try:
        presentation = presentation_of(run_a.operation)
    except InputError:  # a run of an operation this installation no longer offers
        raise CompareError(f"{run_a.operation} is not an operation erkweb offers here") from None
    return presentation.compare(run_a, run_b)


def comparison_json(comparison: Any) -> dict[str, Any]:
    """The comparison as one JSON-safe object (``erk compare --json``)."""
    return presentation_of(comparison.operation).comparison_json(comparison)


def comparison_text(comparison: Any) -> str:
    """A few lines for a terminal (``erk compare A B``)."""
    return presentation_of(comparison.operation).comparison_text(comparison)


def side_json(side: Side) -> dict[str, Any]:
    run = side.run
    return {
        "run_id": run.run_id,
        "model": run.model,
        "model_id": run.model_id,
        "status": run.status,
        "simulator": run.used_simulator,
        "items": side.items,
        "duration_seconds": side.duration_seconds,
        "tokens": side.tokens,
        "cost_usd": side.cost_usd,
        "cost_per_item": side.cost_per_item,
    }
