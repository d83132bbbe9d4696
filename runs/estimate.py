"""Before a run: how many tokens it will take and what it will cost, the way the API bills them.

The agent is assumed to follow the turn plan every operation's prompt asks for (read all its inputs in
one turn, check what it must in a second, write its file in a third, end in a fourth), and each request
is priced with the same function as a real call (runs/claude/pricing.py). What the bill is made of:

- the tool definitions and the system prompt (the shared prefix) in every request, and the cache: each
  turn writes what it added and reads the rest; the first wave of a stage (as many batches as there are
  workers, which all start together) each write the shared prefix, because a cache entry is readable only
  once the response that wrote it has begun; later batches read it;
- a prefix shorter than the model's minimum cacheable prompt length is not cached at all: billed as input
  (https://platform.claude.com/docs/en/build-with-claude/prompt-caching, cache limitations);
- thinking, billed as output, and sent back as input in the turns after it;
- the long-prompt rule of the models that have one (Haiku 5.5: a request over 100,000 prompt tokens is
  billed at five times every rate), which batch sizing decides.

Tokens are counted by the endpoint's ``count_tokens`` when a counter is given (``counted by the API``),
else estimated as 3.5 characters a token (specs/models.md: the current models' tokenizer), and labelled
as an estimate. What the agent writes is guessed per item either way.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol

from .claude.pricing import BATCH_TIER, call_cost
from .model_choice import Executor
from .models.status import RunMode
from .operations.base import Plan

if TYPE_CHECKING:
    from .launch import Prepared


class Counter(Protocol):
    """What counts a request's prompt tokens: CharCounter here, preflight.TokenCounter with the API."""

    label: str

    def count(
        self, model_id: str, *, messages: list[dict[str, Any]], system: object = None, tools: object = None
    ) -> int: ...


CHARS_PER_TOKEN = 3.5
LIVE, BATCH = RunMode.LIVE.value, RunMode.BATCH.value
ESTIMATED = "an estimate: 3.5 characters a token"
# What the agent writes, guessed per item and per turn (what the API counts of it is billed as output,
# then sent back as input): its output file (audit-scan: one 13-line block of about 230 characters per
# doc), a tool call per input read and per path checked (about one reference a doc), a short thinking
# block before each tool turn, and the final message.
OUTPUT_TOKENS_PER_ITEM = 66
THINKING_TOKENS_PER_TURN = 60
TOOL_CALL_TOKENS = 10  # one tool_use block: its name and a path
TOOL_RESULT_TOKENS = 4  # a short tool result (true/false, "wrote N characters to ...")
PATH_CHECKS_PER_ITEM = 1
FINAL_TOKENS = 20  # Output written to <path>
BATCH_MESSAGE_CHARS = 600  # the first user message around the list of its inputs


def tokens(characters: int) -> int:
    return round(characters / CHARS_PER_TOKEN)


class CharCounter:
    """Token counts from characters, for when no endpoint can count them (no key)."""

    label = ESTIMATED

    def count(
        self, model_id: str, *, messages: list[dict[str, Any]], system: object = None, tools: object = None
    ) -> int:
        return tokens(len(json.dumps([system or [], tools or [], messages], ensure_ascii=False)))


@dataclass(frozen=True)
class BatchEstimate:
    index: int
    items: int
    input_tokens: int  # the batch's inputs (docs...), as the agent reads them
    largest_prompt: int  # tokens of its biggest request
    over_long_prompt_line: bool
    cost_usd: Decimal


@dataclass(frozen=True)
class Estimate:
    batches: list[BatchEstimate]
    input_tokens: int  # inputs + shared prompt, as if each were sent once
    billed_tokens: int  # input + cache writes + cache reads, over every request
    cost_usd: Decimal
    long_prompt_threshold: int | None
    counted_by: str  # "counted by the API" or what the estimate assumed
    mode: str = "live"  # the run's mode, whose figure cost_usd is
    live_cost_usd: Decimal = Decimal(0)  # every turn streamed
    batch_cost_usd: Decimal = Decimal(0)  # every turn a request of a Message Batch


@dataclass
class _Cache:
    """What the agent's requests find in the prompt cache, turn by turn."""

    minimum: int
    readable: int = 0  # tokens of the longest prefix already in the cache

    def bill(self, prompt: int, shared: int, shared_cached: bool) -> dict[str, Any]:
        """Usage of one request of ``prompt`` tokens whose breakpoints are the shared prefix and the end."""
        read = self.readable if self.readable <= prompt else 0
        if not read and shared_cached and shared >= self.minimum:
            read = shared
        written = prompt - read if prompt >= self.minimum else 0
        usage = {
            "input_tokens": prompt - read - written,
            "cache_write_tokens": written,
            "cache_read_tokens": read,
        }
        if written:
            self.readable = prompt
        return usage


def _batch_calls(shared: int, message: int, docs: int, items: int) -> list[tuple[int, int]]:
    """(tokens the request adds to the one before, output tokens) of each request of the turn plan: a
    request adds the previous answer (thinking included) and the tool results that came back."""
    reads = items * TOOL_CALL_TOKENS
    checks = items * PATH_CHECKS_PER_ITEM
    written = items * OUTPUT_TOKENS_PER_ITEM
    out1 = THINKING_TOKENS_PER_TURN + reads
    out2 = THINKING_TOKENS_PER_TURN + checks * TOOL_CALL_TOKENS
    out3 = THINKING_TOKENS_PER_TURN + written + TOOL_CALL_TOKENS
    return [
        (shared + message, out1),  # read every input
        (out1 + docs, out2),  # the inputs came back; check paths
        (out2 + checks * TOOL_RESULT_TOKENS, out3),  # write the file
        (out3 + TOOL_RESULT_TOKENS, FINAL_TOKENS),  # end with the final message
    ]


def estimate(
    plan: Plan,
    executor_for: Callable[[int], Executor],
    system_prompt: str,
    *,
    tools: list[dict[str, Any]] | None = None,
    counter: Counter | None = None,
    workers: int | None = None,
    mode: str = LIVE,
) -> Estimate:
    """``executor_for(stage)`` gives the model of each stage (learn's tiers can each have their own);
    ``counter`` counts tokens (preflight.TokenCounter), else they are estimated from characters.
    ``cost_usd`` is the figure of ``mode``; both modes' figures are given (``live_cost_usd``,
    ``batch_cost_usd``): in batch mode every batch's first turn goes out in one message batch, whose
    requests never read each other's cache writes, so each writes the shared prompt; writes are 1-hour
    ones, and every price is halved."""
    from django.conf import settings

    from .tools import TOOL_SCHEMAS

    counter = counter or CharCounter()
    workers = workers or settings.ERKWEB_WORKERS
    tools = TOOL_SCHEMAS if tools is None else tools
    system = [{"type": "text", "text": system_prompt}] if system_prompt else None
    texts = plan.item_text
    shared_by_model: dict[str, int] = {}
    started_in_stage: dict[int, int] = {}
    batches, total_cost, billed, threshold = [], Decimal(0), 0, None
    totals = {LIVE: Decimal(0), BATCH: Decimal(0)}
    for n, planned in enumerate(plan.batches, start=1):
        executor = executor_for(planned.stage)
        if executor.is_local:
            batches.append(BatchEstimate(n, len(planned.inputs), 0, 0, False, Decimal(0)))
            continue
        prices, model_id = executor.prices, executor.model_id
        threshold = threshold or prices.get("long_prompt_threshold")
        if model_id not in shared_by_model:
            shared_by_model[model_id] = counter.count(
                model_id, system=system, tools=tools, messages=[{"role": "user", "content": "."}]
            )
        shared = shared_by_model[model_id]
        docs = _inputs_tokens(counter, model_id, plan, planned.inputs, texts)
        message = tokens(BATCH_MESSAGE_CHARS + sum(len(item) + 3 for item in planned.inputs))
        # The first wave of a stage starts together: none finds the shared prefix in the cache yet.
        started_in_stage[planned.stage] = started_in_stage.get(planned.stage, 0) + 1
        shared_cached = started_in_stage[planned.stage] > workers
        cache = _Cache(minimum=int(prices.get("min_cacheable_tokens") or 0))
        in_batch = _Cache(minimum=cache.minimum)
        prompt, largest, live_cost, batched_cost = 0, 0, Decimal(0), Decimal(0)
        for added, output in _batch_calls(shared, message, docs, len(planned.inputs)):
            prompt += added
            usage = {**cache.bill(prompt, shared, shared_cached), "output_tokens": output}
            live_cost += call_cost(prices, usage)
            batched = {**in_batch.bill(prompt, shared, False), "output_tokens": output}
            batched.update(cache_write_1h_tokens=batched["cache_write_tokens"], service_tier=BATCH_TIER)
            batched_cost += call_cost(prices, batched)
            billed += prompt
            largest = max(largest, prompt)
        batch_cost = batched_cost if mode == BATCH else live_cost
        total_cost += batch_cost
        totals[LIVE] += live_cost
        totals[BATCH] += batched_cost
        batch_threshold = prices.get("long_prompt_threshold")
        batches.append(
            BatchEstimate(
                index=n,
                items=len(planned.inputs),
                input_tokens=docs,
                largest_prompt=largest,
                over_long_prompt_line=bool(batch_threshold and largest > batch_threshold),
                cost_usd=batch_cost.quantize(Decimal("0.000001")),
            )
        )
    return Estimate(
        batches=batches,
        input_tokens=max(shared_by_model.values(), default=0) + sum(b.input_tokens for b in batches),
        billed_tokens=billed,
        cost_usd=total_cost.quantize(Decimal("0.0001")),
        long_prompt_threshold=threshold,
        counted_by=counter.label,
        mode=mode,
        live_cost_usd=totals[LIVE].quantize(Decimal("0.0001")),
        batch_cost_usd=totals[BATCH].quantize(Decimal("0.0001")),
    )


def _inputs_tokens(
    counter: Counter, model_id: str, plan: Plan, items: list[str], texts: Callable[[str], str] | None
) -> int:
    """Tokens of a batch's inputs as its agent reads them back (one tool result each)."""
    if texts is None or isinstance(counter, CharCounter):
        return tokens(sum(plan.item_sizes.get(item, 0) for item in items))
    blocks = [{"type": "text", "text": texts(item) or "(empty file: 0 bytes)"} for item in items]
    return counter.count(model_id, messages=[{"role": "user", "content": blocks}]) if blocks else 0


def preview_estimate(prepared: Prepared, system_prompt: str) -> Estimate:
    """The new-run preview's figure: counted by the run's endpoint when it is the real API or another
    server with a credential (count_tokens is free), else estimated from characters; a count that fails
    falls back to the estimate rather than failing the page."""
    from .claude.endpoint import make_client
    from .claude.preflight import TokenCounter
    from .claude.retries import classify
    from .tools import TOOL_SCHEMAS

    tools = [*TOOL_SCHEMAS, *prepared.op.extra_tool_schemas]
    mode = prepared.mode
    endpoint = prepared.endpoint
    if endpoint is not None and not endpoint.simulator:
        counter = TokenCounter(make_client(endpoint, timeout=15.0))
        try:
            return estimate(
                prepared.plan, prepared.executor_for, system_prompt, tools=tools, counter=counter, mode=mode
            )
        except Exception as exc:
            if classify(exc) is None:
                raise
    return estimate(prepared.plan, prepared.executor_for, system_prompt, tools=tools, mode=mode)
