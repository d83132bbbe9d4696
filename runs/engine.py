"""The engine: create a run, run its batches stage by stage, verify every file, aggregate.

Flow: ``create_run`` gathers and partitions (errors surface here, before anything exists), creates the run
and its batches in one transaction, and enqueues the first stage on commit. Each batch task calls
``execute_batch``; after its batch ends (verified, failed or cancelled) it calls ``settle``, which starts
the next stage, fails the run naming its failed batches, or aggregates. The transitions on the models
are conditional updates, so when the last two batches of a stage finish together only one of them
starts the next stage or aggregates.
"""

import hashlib
import json
import logging
from dataclasses import dataclass, replace
from datetime import date, datetime
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

import erkweb

from . import verification
from .claude.agent import AgentCancelled, AgentStopped
from .claude.batch import run_batch_agent
from .claude.conversation import AgentFailed
from .claude.endpoint import Endpoint
from .claude.preflight import endpoint_for_new_run
from .errors import InputError
from .model_choice import Executor, resolve_model
from .models import BATCH_OPEN, Batch, BatchStatus, ItemResult, Run, RunStatus, new_run_id
from .operations import get_operation
from .operations.base import Operation, Plan
from .paths import PathRefused, confine
from .tools import SEARCH_DOCS_SCHEMA, TOOL_SCHEMAS
from .workers import worker_name

log = logging.getLogger(__name__)

TASK = "runs.tasks.run_batch"


# --- creating a run ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Prepared:
    """A validated run, not created yet: what ``launch`` turns into rows, files and tasks."""

    op: Operation
    executor: Executor  # the run's model
    stage_executors: dict[int, Executor]  # per stage, where it differs from the run's model
    endpoint: Endpoint | None  # where Claude models are reached; None when every stage is local
    agents: int
    plan: Plan
    now: datetime

    def executor_for(self, stage: int) -> Executor:
        return self.stage_executors.get(stage, self.executor)


def prepare_run(
    operation: str,
    params: dict,
    *,
    model: str | None,
    agents: int = 5,
    as_of: date | None = None,
    stage_models: dict[int, str] | None = None,
) -> Prepared:
    """Validate, gather and partition; raises InputError, with one clear sentence, and creates nothing."""
    op = get_operation(operation)
    if not isinstance(agents, int) or isinstance(agents, bool) or agents < 1:
        raise InputError(f"agents must be a whole number >= 1, not {agents!r}", field="agents")
    executor = resolve_model(model or op.default_model)
    stage_executors = {}
    for stage, stage_model in (stage_models or {}).items():
        if stage not in range(1, op.stages + 1):
            raise InputError(f"{op.name} has stages 1 to {op.stages}, not {stage}", field="stage_models")
        stage_executors[stage] = resolve_model(stage_model)
    endpoint = endpoint_for_new_run([executor, *stage_executors.values()])
    now = timezone.now()
    plan = op.prepare(params, agents=agents, as_of=as_of or now.date())
    return Prepared(
        op=op,
        executor=executor,
        stage_executors=stage_executors,
        endpoint=endpoint,
        agents=agents if op.takes_agent_count else len(plan.batches),
        plan=plan,
        now=now,
    )


def same_items_with(prepared: Prepared, model: str) -> Prepared:
    """The same gathered items and partition, run by another model (for a side-by-side comparison)."""
    executor = resolve_model(model)
    stages = [executor, *prepared.stage_executors.values()]
    return replace(prepared, executor=executor, endpoint=endpoint_for_new_run(stages))


def create_run(operation: str, params: dict, *, model: str | None, agents: int = 5, **options) -> Run:
    return launch(prepare_run(operation, params, model=model, agents=agents, **options))


def launch(prepared: Prepared) -> Run:
    """Create the run and its batches, write its inputs and manifest, enqueue its first stage on commit."""
    op, executor, endpoint, plan, now = (
        prepared.op,
        prepared.executor,
        prepared.endpoint,
        prepared.plan,
        prepared.now,
    )
    run_id = new_run_id(op.name, now)
    scratch = settings.SCRATCH_DIR / run_id
    stages = max(b.stage for b in plan.batches)
    manifest = {
        "operation": op.name,
        "params": plan.params,
        "model": executor.alias,
        "model_id": executor.model_id,
        "prices": executor.prices,
        "stage_models": {
            str(stage): {
                "model": prepared.executor_for(stage).alias,
                "model_id": prepared.executor_for(stage).model_id,
                "prices": prepared.executor_for(stage).prices,
            }
            for stage in range(1, stages + 1)
        },
        "agents": prepared.agents,
        "batches": len(plan.batches),
        "prompt_hash": None,  # set below, from the prompts the batches actually get
        "items": plan.items,
        "partition": [b.inputs for b in plan.batches],
        "app_version": erkweb.__version__,
        # Redacted: a base URL can carry credentials, and learn's agents can read the manifest.
        "api_base_url": endpoint.shown_url if endpoint else None,
        "simulator": bool(endpoint and endpoint.simulator),
        "limits": {
            "max_turns": settings.ERKWEB_AGENT_MAX_TURNS,
            "max_output_tokens": settings.ERKWEB_AGENT_MAX_OUTPUT_TOKENS,
            "time_limit_s": settings.ERKWEB_BATCH_TIME_LIMIT,
        },
    }
    with transaction.atomic():
        run = Run.objects.create(
            run_id=run_id,
            operation=op.name,
            model=executor.alias,
            model_id=executor.model_id,
            agents=prepared.agents,
            params=plan.params,
            manifest=manifest,
            summary=plan.summary,
            stages=stages,
            scratch_dir=str(scratch),
            used_simulator=bool(endpoint and endpoint.simulator),
            api_base_url=(manifest["api_base_url"] or "")[
                :200
            ],  # the field's length; the manifest has it whole
            created_at=now,
        )
        Batch.objects.bulk_create(
            Batch(
                run=run,
                index=n,
                stage=planned.stage,
                role=planned.role,
                inputs=planned.inputs,
                output_path=str(scratch / planned.filename),
                model_id=prepared.executor_for(planned.stage).model_id,
            )
            for n, planned in enumerate(plan.batches, start=1)
        )
        run.manifest["prompt_hash"] = prompt_hash(op, run)
        run.save(update_fields=["manifest"])
        write_run_files(scratch, plan.files, run.manifest)
        for planned in plan.batches:  # agents write into folders that must exist (learn-agents/)
            (scratch / planned.filename).parent.mkdir(parents=True, exist_ok=True)
        transaction.on_commit(lambda: start_stage(run.pk, 1))
    return run


def write_run_files(scratch: Path, files: dict[str, str], manifest: dict) -> None:
    """The manifest and the inputs the operation prepared for its agents, inside the scratch folder."""
    scratch.mkdir(parents=True, exist_ok=True)
    for rel, text in files.items():
        try:
            path = confine(scratch, rel)
        except PathRefused:
            raise ValueError(f"prepared file {rel!r} would leave the run's folder") from None
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    (scratch / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")


def prompt_hash(op, run: Run) -> str:
    """Hash of what every agent of the run is told: the shared prompt(s) and the tool definitions."""
    digest = hashlib.sha256(json.dumps([*TOOL_SCHEMAS, SEARCH_DOCS_SCHEMA], sort_keys=True).encode())
    for batch in run.batches.order_by("index"):
        digest.update(op.system_prompt(run, batch).encode())
    return digest.hexdigest()


def start_stage(run_pk: int, stage: int) -> None:
    """Enqueue every batch of ``stage`` at once."""
    from django_q.tasks import async_task

    run = Run.objects.get(pk=run_pk)
    if not run.start_stage(stage):
        return
    for batch in run.batches.filter(stage=stage, status=BatchStatus.WAITING):
        if batch.enqueue():
            async_task(TASK, batch.pk, task_name=f"{run.run_id}-batch-{batch.index}", group=run.run_id)


# --- running one batch -----------------------------------------------------------------------------
class Superseded(AgentStopped):
    """This attempt no longer holds its batch (a later claim took it): it stops and changes nothing."""


class AttemptHooks:
    """How one attempt's agent reaches its batch's rows, every write fenced by the attempt's number.

    ``before_turn`` stops the agent when the attempt was superseded or the run cancelled; ``record``
    adds a turn's usage and transcript entries, or stops the agent if the attempt no longer holds the
    batch (what it spent after that is not counted: it changes nothing).
    """

    def __init__(self, batch: Batch, attempt: int):
        self.batch, self.attempt = batch, attempt

    def before_turn(self, worst_case_cost=None) -> None:
        held = Batch.objects.filter(pk=self.batch.pk, attempts=self.attempt, status=BatchStatus.RUNNING)
        run_status = held.values_list("run__status", flat=True).first()
        if run_status is None:
            raise Superseded(f"attempt {self.attempt} was superseded")
        if run_status == RunStatus.CANCELLED:
            raise AgentCancelled("cancelled")

    def record(self, entries: list[dict], usage: dict, cost) -> None:
        if not self.batch.record_turn(self.attempt, usage=usage, cost=cost, transcript_entries=entries):
            raise Superseded(f"attempt {self.attempt} was superseded")

    # Today's agent loop takes two callbacks rather than a hooks object.
    def on_turn(self, usage, cost, entries) -> None:
        self.record(entries, usage, cost)

    def cancelled(self) -> bool:
        self.before_turn()
        return False


def execute_batch(batch_pk: int) -> None:
    """Run one attempt of a batch to a verified or failed file; safe to call again for the same batch."""
    batch = Batch.objects.select_related("run").filter(pk=batch_pk).first()
    if batch is None:
        return  # the run was deleted
    run = batch.run
    if run.status == RunStatus.CANCELLED:
        batch.cancel()
        return
    attempt = batch.claim(worker_name(), abandoned_after=settings.ERKWEB_WORKER_TIMEOUT)
    if attempt is None:
        # Already past running: a duplicate delivery, or the redelivery of a task whose worker died
        # after the agent finished. Finish what that worker left undone, which is a no-op otherwise.
        if batch.status == BatchStatus.WRITTEN:
            verification.verify_batch(batch, batch.attempts)
        settle(run.pk, resume=True)
        return
    if batch.claims > settings.ERKWEB_BATCH_MAX_ATTEMPTS:
        batch.fail(
            f"worker lost: the batch was delivered {batch.claims - 1} times without finishing", attempt
        )
        settle(run.pk)
        return

    output = Path(batch.output_path)
    # A redelivered batch starts from scratch: whatever a dead worker half-wrote must not be verified.
    output.unlink(missing_ok=True)
    try:
        final_message, warnings = _fill_batch(run, batch, AttemptHooks(batch, attempt), output)
    except Superseded:
        log.warning("batch %s of %s: attempt %s was superseded; it stops", batch.index, run.run_id, attempt)
        return
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
            verification.verify_batch(batch, attempt)
    settle(run.pk)


def _fill_batch(run: Run, batch: Batch, hooks: AttemptHooks, output: Path) -> tuple[str, list[str]]:
    op = get_operation(run.operation)
    if batch.model_id == "local":
        output.write_text(op.local_output(run, batch), encoding="utf-8")
        return op.expected_final(batch), []

    outcome = run_batch_agent(run, batch, op.toolbox(run, batch, output), op, hooks)
    return outcome.final_message, outcome.warnings


# --- after a batch ends ------------------------------------------------------------------------------
def settle(run_pk: int, *, resume: bool = False) -> None:
    """Move the run on once every batch of its current stage has ended.

    ``resume`` is for a redelivered task: a run left ``aggregating`` by a worker that died is aggregated
    again (aggregation is idempotent). Redelivery only happens after the worker's timeout, so no other
    worker is still aggregating it.
    """
    run = Run.objects.get(pk=run_pk)
    if resume and run.status == RunStatus.AGGREGATING:
        aggregate(run)
        return
    if run.status != RunStatus.RUNNING:
        return
    stage_batches = list(run.batches.filter(stage=run.current_stage))
    if any(b.status in BATCH_OPEN for b in stage_batches):
        return
    failed = [b for b in stage_batches if b.status == BatchStatus.FAILED]
    if failed or any(b.status == BatchStatus.CANCELLED for b in stage_batches):
        run.add_usage_totals()
        run.fail(failure_summary(failed) if failed else "cancelled batches")
        return
    if run.current_stage < run.stages:
        start_stage(run.pk, run.current_stage + 1)
        return
    if run.begin_aggregation(worker_name(), settings.ERKWEB_AGGREGATION_LEASE):
        aggregate(run)


def failure_summary(failed: list[Batch]) -> str:
    names = ", ".join(str(b.index) for b in failed)
    reasons = "; ".join(f"batch {b.index}: {b.failure_reason}" for b in failed)
    noun = "batch" if len(failed) == 1 else "batches"
    return f"{len(failed)} {noun} failed ({names}): {reasons}"


def aggregate(run: Run) -> None:
    owner = worker_name()
    if run.lease_owner != owner and not run.take_lease(owner, settings.ERKWEB_AGGREGATION_LEASE):
        return  # another process aggregates it, and its lease has not expired
    op = get_operation(run.operation)
    try:
        texts = {b.index: Path(b.output_path).read_text(encoding="utf-8") for b in run.batches.all()}
        result = op.aggregate(run, texts)
        report_path = Path(run.scratch_dir) / "report.md"
        report_path.write_text(result.report, encoding="utf-8")
        batch_pks = dict(run.batches.values_list("index", "pk"))
        with transaction.atomic():
            ItemResult.objects.filter(run=run).delete()
            position = {key: n for n, key in enumerate(run.manifest.get("items", []))}
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
        log.exception("aggregation of %s failed", run.run_id)
        run.fail(f"aggregation failed: {type(exc).__name__}: {exc}", owner=owner)
        return
    run.add_usage_totals()
    run.succeed(owner=owner, report=result.report, report_path=str(report_path))


# --- actions on a run --------------------------------------------------------------------------------
def cancel_run(run: Run) -> bool:
    """Pending batches never start; running ones stop before their next turn."""
    if not run.cancel():
        return False
    for batch in run.batches.filter(status__in=(BatchStatus.WAITING, BatchStatus.PENDING)):
        batch.cancel()
    return True


def retry_failed(run: Run) -> list[int]:
    """Re-enqueue only the failed batches of a failed run; returns their indexes."""
    from django_q.tasks import async_task

    failed = list(run.batches.filter(status=BatchStatus.FAILED).order_by("index"))
    if run.status != RunStatus.FAILED or not failed:
        raise InputError(f"run {run.run_id} has no failed batches to retry")
    if not run.reopen_for_retry():
        raise InputError(f"run {run.run_id} changed status; try again")
    retried = []
    with transaction.atomic():
        for batch in failed:
            if batch.enqueue():
                retried.append(batch.index)
                transaction.on_commit(
                    lambda pk=batch.pk, n=batch.index: async_task(
                        TASK, pk, task_name=f"{run.run_id}-batch-{n}-retry", group=run.run_id
                    )
                )
    return retried
