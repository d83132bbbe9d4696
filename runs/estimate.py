"""Before a run: how many tokens it will take and what it will cost, from the items' sizes.

An estimate, and labelled as one: tokens are counted as 3.5 characters (specs/models.md: the current
models' tokenizer), the agent is assumed to follow the turn plan (read all, check paths, write, finish),
and its output is guessed per item. What it gets right is the shape of the bill: the cache write of the
docs, the cache reads of later turns, and Haiku's five-fold rate for requests over 100K tokens, which
batch sizing decides.
"""

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from .executors import Executor, call_cost
from .operations.base import Plan

CHARS_PER_TOKEN = 3.5
OUTPUT_TOKENS_PER_ITEM = 90  # one 13-line block of the batch file, written once
TURN_OVERHEAD_TOKENS = 300  # thinking, tool calls and tool results around the docs


@dataclass(frozen=True)
class BatchEstimate:
    index: int
    items: int
    input_tokens: int  # the docs of the batch
    largest_prompt: int  # tokens of its biggest request
    over_long_prompt_line: bool


@dataclass(frozen=True)
class Estimate:
    batches: list[BatchEstimate]
    input_tokens: int  # docs + shared prompt, as if each were sent once
    billed_tokens: int  # input + cache writes + cache reads, over every request
    cost_usd: Decimal
    long_prompt_threshold: int | None


def tokens(characters: int) -> int:
    return round(characters / CHARS_PER_TOKEN)


def estimate(plan: Plan, executor_for: Callable[[int], Executor], system_prompt: str) -> Estimate:
    """``executor_for(stage)`` gives the model of each stage (learn's tiers can each have their own)."""
    system = tokens(len(system_prompt))
    threshold = None
    batches, total_cost, billed = [], Decimal(0), 0
    for n, planned in enumerate(plan.batches, start=1):
        executor = executor_for(planned.stage)
        if executor.is_local:
            batches.append(BatchEstimate(n, len(planned.inputs), 0, 0, over_long_prompt_line=False))
            continue
        batch_threshold = executor.prices.get("long_prompt_threshold")
        threshold = threshold or batch_threshold
        docs = tokens(sum(plan.item_sizes.get(item, 0) for item in planned.inputs))
        output = OUTPUT_TOKENS_PER_ITEM * len(planned.inputs)
        shared_write = system if n == 1 else 0  # later batches read the shared prompt from the cache
        # The four requests of the turn plan, as (cache write, cache read, output).
        calls = [
            (shared_write + TURN_OVERHEAD_TOKENS, system - shared_write, TURN_OVERHEAD_TOKENS),
            (docs, system + TURN_OVERHEAD_TOKENS, TURN_OVERHEAD_TOKENS),
            (TURN_OVERHEAD_TOKENS, system + docs + TURN_OVERHEAD_TOKENS, output),
            (output, system + docs + 2 * TURN_OVERHEAD_TOKENS, 30),
        ]
        largest = 0
        for write, read, out in calls:
            usage = {
                "input_tokens": 0,
                "output_tokens": out,
                "cache_write_tokens": write,
                "cache_read_tokens": read,
            }
            total_cost += call_cost(executor.prices, usage)
            billed += write + read
            largest = max(largest, write + read)
        batches.append(
            BatchEstimate(
                index=n,
                items=len(planned.inputs),
                input_tokens=docs,
                largest_prompt=largest,
                over_long_prompt_line=bool(batch_threshold and largest > batch_threshold),
            )
        )
    return Estimate(
        batches=batches,
        input_tokens=system + sum(b.input_tokens for b in batches),
        billed_tokens=billed,
        cost_usd=total_cost.quantize(Decimal("0.0001")),
        long_prompt_threshold=threshold,
    )
