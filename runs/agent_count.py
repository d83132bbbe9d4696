"""``--agents auto``: the number of batches that costs least, by the estimate's own cost model.

Every candidate count from 1 to ``MAX_AUTO_AGENTS`` (and no more than there are items) is priced by
runs/estimate.py on the round-robin partition the operation would make (runs/partition.py), so the
choice weighs exactly what the estimate weighs:

- the long-prompt rule: a batch whose requests go over the model's threshold (Haiku 5.5: 100,000 prompt
  tokens) is billed at five times every rate, and every turn re-sends the batch's docs, so fewer, larger
  batches can cost several times more;
- the shared prompt (tool definitions and system prompt), written to the cache by each batch of the
  first wave and read by the later ones: more batches pay it more often;
- the worker count (``ERKWEB_WORKERS``): how many batches start together, each writing the shared
  prompt, before the cache can serve it.

A count whose largest batch holds more than ``ERKWEB_AUTO_MAX_BATCH_ITEMS`` items is not a candidate
(one agent reading hundreds of docs would run into its turn and time limits). Among equal costs (every
count costs nothing with ``local``) the count nearest the worker count wins: the run takes no longer
than it must. Counting is offline (3.5 characters a token), never a call per candidate; where the
endpoint can count, one ``count_tokens`` call over every input calibrates the items' sizes first
(``calibrated``), since the long-prompt line is sharp: a tokenizer 14% off moves a batch across it.
"""

from collections.abc import Callable
from dataclasses import dataclass, replace
from decimal import Decimal

from .estimate import CHARS_PER_TOKEN
from .operations.base import Plan, PlannedBatch
from .partition import round_robin

MAX_AUTO_AGENTS = 20
COMPARED_WITH = 5  # the fixed count the form says auto saves against


@dataclass(frozen=True)
class AgentChoice:
    agents: int
    cost_usd: Decimal
    costs: dict[int, Decimal]  # every candidate count's estimated cost
    compared_with: int  # the fixed count it is compared with (5, or fewer when there are fewer items)
    saving_usd: Decimal  # what the chosen count saves against ``compared_with`` (0 when it is the same)

    @property
    def compared_cost_usd(self) -> Decimal:
        return self.cost_usd + self.saving_usd

    @property
    def label(self) -> str:
        return f"auto -> {self.agents}"


def calibrated(plan: Plan, counted_tokens: int | None) -> Plan:
    """The plan with its items' sizes scaled so that the estimate's characters a token give the
    ``counted_tokens`` the endpoint counted over all of them (unchanged when nothing was counted)."""
    characters = sum(plan.item_sizes.get(item, 0) for item in plan.items)
    if not counted_tokens or not characters:
        return plan
    scale = counted_tokens * CHARS_PER_TOKEN / characters
    sizes = {item: round(size * scale) for item, size in plan.item_sizes.items()}
    return replace(plan, item_sizes=sizes, item_text=None)


def partitioned(plan: Plan, agents: int) -> Plan:
    """The plan with its items dealt round-robin into ``agents`` batches (only the estimate reads it)."""
    chunks = round_robin(plan.items, agents)
    return replace(plan, batches=[PlannedBatch(stage=1, inputs=chunk, filename="") for chunk in chunks])


def choose_agent_count(
    plan: Plan, cost_of: Callable[[Plan], Decimal], *, workers: int, max_batch_items: int
) -> AgentChoice:
    """The cheapest count for ``plan``'s items; ``cost_of`` prices a plan (the estimate's cost)."""
    items = len(plan.items)
    if items == 0:
        return AgentChoice(1, Decimal(0), {1: Decimal(0)}, 1, Decimal(0))
    most = min(MAX_AUTO_AGENTS, items)
    # More items than MAX_AUTO_AGENTS batches of the largest size hold: the fewest batches that do.
    fewest = -(-items // max_batch_items)
    candidates = [n for n in range(1, most + 1) if -(-items // n) <= max_batch_items] or [fewest]
    costs = {n: cost_of(partitioned(plan, n)) for n in candidates}
    cheapest = min(costs.values())
    chosen = min((n for n, cost in costs.items() if cost == cheapest), key=lambda n: (abs(n - workers), n))
    compared_with = min(COMPARED_WITH, items)
    baseline = costs.get(compared_with)
    if baseline is None:
        baseline = cost_of(partitioned(plan, compared_with))
    return AgentChoice(chosen, cheapest, costs, compared_with, max(baseline - cheapest, Decimal(0)))
