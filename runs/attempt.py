"""One attempt at a batch: claim it, run its executor (an agent, or ``local``), verify its file.

A batch task calls ``execute_batch``. Its claim is refused when the batch is not pending (a duplicate
delivery, a cancelled run...): the task then only advances the run. Every write the attempt makes is
fenced by its number (runs/models/batch.py), and it stops as soon as one is refused.
"""

import logging
from decimal import Decimal
from pathlib import Path
from typing import Any

from . import budget, driver, faults, verification
from .claude.agent import AgentCancelled, AgentStopped
from .claude.batch import run_batch_agent
from .claude.conversation import AgentFailed
from .models import Batch, Run, RunStatus
from .operations import get_operation
from .scratch import materialise, output_file
from .workers import worker_name

log = logging.getLogger(__name__)


class Superseded(AgentStopped):
    """This attempt no longer holds its batch (a later claim took it): it stops and changes nothing."""


class AttemptHooks:
    """How one attempt's agent reaches its batch's rows, every write fenced by the attempt's number.

    ``before_turn`` stops the agent when the attempt was superseded, the run cancelled, or the turn could
    take the run over its budget (runs/budget.py: BudgetReached, which fails the batch); ``record``
    adds a turn's usage and transcript entries, or stops the agent if the attempt no longer holds the
    batch (what it spent after that is not counted: it changes nothing).
    """

    def __init__(self, batch: Batch, attempt: int):
        self.batch, self.attempt = batch, attempt

    def before_turn(self, worst_case_cost: Decimal) -> None:
        run_status = budget.check_turn(self.batch.run_id, self.batch.pk, self.attempt, worst_case_cost)
        if run_status is None:
            raise Superseded(f"attempt {self.attempt} was superseded")
        if run_status == RunStatus.CANCELLED:
            raise AgentCancelled("cancelled")

    def record(self, entries: list[dict[str, Any]], usage: dict[str, Any], cost: Decimal) -> None:
        if not self.batch.record_turn(self.attempt, usage=usage, cost=cost, entries=entries):
            raise Superseded(f"attempt {self.attempt} was superseded")
        faults.pause_point("turn")


def execute_batch(batch_pk: int) -> None:
    """Run one attempt of a batch to a verified or failed file, then advance its run."""
    batch = Batch.objects.select_related("run").filter(pk=batch_pk).first()
    if batch is None:
        return  # the run was deleted
    attempt = batch.claim(worker_name())
    if attempt is not None:
        run_attempt(batch, attempt)
    driver.advance(batch.run_id)


def run_attempt(batch: Batch, attempt: int) -> None:
    run = batch.run
    output = output_file(batch)
    try:
        # A new attempt starts from scratch: whatever an earlier one half-wrote must not be verified.
        output.unlink(missing_ok=True)
        materialise(run, batch)  # what the agent reads, from the database, into this host's folder
        final_message, warnings = fill(run, batch, AttemptHooks(batch, attempt), output)
    except Superseded:
        log.warning("batch %s of %s: attempt %s was superseded; it stops", batch.index, run.run_id, attempt)
    except AgentCancelled:
        batch.cancel(attempt)
    except AgentStopped as exc:
        batch.fail(str(exc), attempt)
    except AgentFailed as exc:
        batch.fail(str(exc), attempt)
    except SystemExit as exc:
        # django-q2 raises its TimeoutException (a SystemExit) in the worker when the task overruns.
        batch.fail(f"timed out: the worker stopped the batch ({exc})", attempt)
    except Exception as exc:
        log.exception("batch %s of %s crashed", batch.index, run.run_id)
        batch.fail(f"internal error: {type(exc).__name__}: {exc}", attempt)
    else:
        if batch.mark_written(attempt, final_message=final_message, warnings=warnings):
            faults.pause_point("written")
            verification.verify_batch(batch, attempt)


def fill(run: Run, batch: Batch, hooks: AttemptHooks, output: Path) -> tuple[str, list[str]]:
    op = get_operation(run.operation)
    if batch.model_id == "local":
        output.write_text(op.local_output(run, batch), encoding="utf-8")
        return op.expected_final(batch), []

    outcome = run_batch_agent(run, batch, op.toolbox(run, batch, output), op, hooks)
    return outcome.final_message, outcome.warnings
