"""Creating a run: validate, gather and partition (errors surface here, before anything exists), then
create the run and its batches in one transaction and start its first stage.

``prepare_run`` creates nothing and raises InputError with one clear sentence; ``launch`` turns what it
prepared into rows. From there the driver (runs/driver.py) moves the run on.
"""

import hashlib
import json
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

import erkweb

from . import budget, driver
from .agent_count import COMPARED_WITH, AgentChoice, calibrated, choose_agent_count
from .claude.endpoint import Endpoint
from .claude.preflight import endpoint_for_new_run
from .errors import InputError
from .estimate import estimate, preview_estimate
from .model_choice import Executor, resolve_model
from .models import Batch, Run, RunFile, RunMode, new_run_id
from .operations import get_operation
from .operations.base import Operation, Plan
from .paths import is_relative_path
from .tools import SEARCH_DOCS_SCHEMA, TOOL_SCHEMAS

AUTO = "auto"  # --agents auto: the cheapest number of batches


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
    max_cost: Decimal | None = None  # the run's budget in USD
    agent_choice: AgentChoice | None = None  # how --agents auto chose ``agents``
    mode: str = RunMode.LIVE  # live, or batch: every turn a request of a Message Batch

    def executor_for(self, stage: int) -> Executor:
        return self.stage_executors.get(stage, self.executor)


def prepare_run(
    operation: str,
    params: dict[str, Any],
    *,
    model: str | None,
    agents: int | str = 5,
    as_of: date | None = None,
    stage_models: dict[int, str] | None = None,
    max_cost: Decimal | None = None,
    mode: str = RunMode.LIVE,
) -> Prepared:
    """Validate, gather and partition (``agents="auto"``: into the cheapest number of batches,
    runs/agent_count.py), and check the estimate against the budget (``max_cost``, else
    ERKWEB_DEFAULT_MAX_COST) and the month's; raises InputError, with one clear sentence, and creates
    nothing."""
    op = get_operation(operation)
    auto = agents == AUTO
    if auto and not op.takes_agent_count:
        raise InputError(f"{op.name} decides its own agents: leave out the agent count", field="agents")
    if not auto and (not isinstance(agents, int) or isinstance(agents, bool) or agents < 1):
        raise InputError(f"agents must be a whole number >= 1 or auto, not {agents!r}", field="agents")
    executor = resolve_model(model or op.default_model)
    stage_executors = {}
    for stage, stage_model in (stage_models or {}).items():
        if stage not in range(1, op.stages + 1):
            raise InputError(f"{op.name} has stages 1 to {op.stages}, not {stage}", field="stage_models")
        stage_executors[stage] = resolve_model(stage_model)
    if mode not in RunMode.values:
        raise InputError(f"the mode must be {' or '.join(RunMode.values)}, not {mode!r}", field="mode")
    stage_list = [executor, *stage_executors.values()]
    if mode == RunMode.BATCH and all(e.is_local for e in stage_list):
        raise InputError(
            "batch mode sends turns to the Message Batches API: pick a Claude model", field="mode"
        )
    endpoint = endpoint_for_new_run(stage_list)
    now = timezone.now()
    if max_cost is not None and max_cost <= 0:
        raise InputError(f"the budget must be more than 0 dollars, not {max_cost}", field="max_cost")
    day = as_of or now.date()
    count = COMPARED_WITH if auto else int(agents)
    plan = op.prepare(params, agents=count, as_of=day)
    prepared = Prepared(
        op=op,
        executor=executor,
        stage_executors=stage_executors,
        endpoint=endpoint,
        agents=count if op.takes_agent_count else len(plan.batches),
        plan=plan,
        now=now,
        max_cost=max_cost if max_cost is not None else settings.ERKWEB_DEFAULT_MAX_COST,
        mode=mode,
    )
    if auto:
        prepared = _cheapest_partition(prepared, params, day)
    check_budget(prepared)
    return prepared


def _cheapest_partition(prepared: Prepared, params: dict[str, Any], day: date) -> Prepared:
    """The prepared run with the agent count that costs least by the estimate (offline counts)."""
    shared_prompt = prepared.op.system_prompt(None, None)

    def cost_of(plan: Plan) -> Decimal:
        return estimate(plan, prepared.executor_for, shared_prompt, mode=prepared.mode).cost_usd

    choice = choose_agent_count(
        calibrated(prepared.plan, _counted_inputs(prepared)),
        cost_of,
        workers=settings.ERKWEB_WORKERS,
        max_batch_items=settings.ERKWEB_AUTO_MAX_BATCH_ITEMS,
    )
    plan = prepared.plan
    if choice.agents != len(plan.batches):
        plan = prepared.op.prepare(params, agents=choice.agents, as_of=day)
    return replace(prepared, plan=plan, agents=choice.agents, agent_choice=choice)


def _counted_inputs(prepared: Prepared) -> int | None:
    """Every input's tokens, counted by the run's endpoint in one call (free), or None when it cannot."""
    from .claude.endpoint import make_client
    from .claude.preflight import TokenCounter
    from .claude.retries import classify

    texts, plan = prepared.plan.item_text, prepared.plan
    executor = prepared.executor_for(1)
    if texts is None or prepared.endpoint is None or executor.is_local or not plan.items:
        return None
    blocks = [{"type": "text", "text": texts(item) or "(empty file: 0 bytes)"} for item in plan.items]
    try:
        counter = TokenCounter(make_client(prepared.endpoint, timeout=15.0))
        return counter.count(executor.model_id, messages=[{"role": "user", "content": blocks}])
    except Exception as exc:
        if classify(exc) is None:
            raise
        return None  # the offline count, then


def check_budget(prepared: Prepared) -> None:
    """Refuse a run whose estimate (the preview's figure) is over its budget or the month's."""
    if prepared.max_cost is None and settings.ERKWEB_MONTHLY_BUDGET is None:
        return
    stages = [prepared.executor_for(b.stage) for b in prepared.plan.batches]
    if all(executor.is_local for executor in stages):
        return  # local costs nothing
    figure = preview_estimate(prepared, prepared.op.system_prompt(None, None))
    budget.check_estimate(figure.cost_usd, prepared.max_cost)


def same_items_with(prepared: Prepared, model: str) -> Prepared:
    """The same gathered items and partition, run by another model (for a side-by-side comparison),
    with the same budget, checked against its own estimate."""
    executor = resolve_model(model)
    stages = [executor, *prepared.stage_executors.values()]
    other = replace(prepared, executor=executor, endpoint=endpoint_for_new_run(stages))
    check_budget(other)
    return other


def create_run(
    operation: str, params: dict[str, Any], *, model: str | None, agents: int | str = 5, **options: Any
) -> Run:
    return launch(prepare_run(operation, params, model=model, agents=agents, **options))


def launch(prepared: Prepared) -> Run:
    """Create the run, its batches and its prepared files, and start its first stage (its batches'
    tasks enqueued in the same transaction where the broker allows it)."""
    op, executor, endpoint, plan = prepared.op, prepared.executor, prepared.endpoint, prepared.plan
    # The run exists from now: gathering and partitioning came before (prepare_run, as the form's
    # validation), so a run's time from its creation to its first batch is the broker's, not gather's.
    now = timezone.now()
    run_id = new_run_id(op.name, now)
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
        # "auto -> 4" when --agents auto chose the count
        "agents": prepared.agent_choice.label if prepared.agent_choice else prepared.agents,
        "max_cost": None if prepared.max_cost is None else str(prepared.max_cost),
        "mode": prepared.mode,
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
            max_cost=prepared.max_cost,
            mode=prepared.mode,
            params=plan.params,
            manifest=manifest,
            summary=plan.summary,
            stages=stages,
            used_simulator=bool(endpoint and endpoint.simulator),
            # The field's length; the manifest has it whole.
            api_base_url=str(manifest["api_base_url"] or "")[:200],
            created_at=now,
        )
        Batch.objects.bulk_create(
            Batch(
                run=run,
                index=n,
                stage=planned.stage,
                role=planned.role,
                inputs=planned.inputs,
                output_path=planned.filename,
                model_id=prepared.executor_for(planned.stage).model_id,
            )
            for n, planned in enumerate(plan.batches, start=1)
        )
        run.manifest["prompt_hash"] = prompt_hash(op, run)
        run.save(update_fields=["manifest"])
        # The inputs it prepared, as rows: the host that runs a batch writes what it reads from these.
        for rel in plan.files:
            if not is_relative_path(rel):
                raise ValueError(f"prepared file {rel!r} would leave the run's folder")
        RunFile.objects.bulk_create(
            RunFile(run=run, path=rel, content=text) for rel, text in plan.files.items()
        )
        driver.start_stage(run, 1)
    return run


def prompt_hash(op: Operation, run: Run) -> str:
    """Hash of what every agent of the run is told: the shared prompt(s) and the tool definitions."""
    tools = [*TOOL_SCHEMAS, SEARCH_DOCS_SCHEMA, *op.extra_tool_schemas]
    digest = hashlib.sha256(json.dumps(tools, sort_keys=True).encode())
    for batch in run.batches.order_by("index"):
        digest.update(op.system_prompt(run, batch).encode())
    return digest.hexdigest()
