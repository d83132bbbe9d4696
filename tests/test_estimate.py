"""The new-run preview's estimate: the shape of the bill, including Haiku's long-prompt rate."""

from decimal import Decimal

from django.conf import settings

from runs.estimate import estimate
from runs.model_choice import resolve_model
from runs.operations.base import Plan, PlannedBatch


def plan_of(batch_chars: list[int], stages: list[int] | None = None) -> Plan:
    stages = stages or [1] * len(batch_chars)
    batches = [PlannedBatch(stage=s, inputs=[f"doc-{n}.md"], filename=f"b{n}") for n, s in enumerate(stages)]
    return Plan(
        params={},
        items=[b.inputs[0] for b in batches],
        batches=batches,
        item_sizes={f"doc-{n}.md": chars for n, chars in enumerate(batch_chars)},
    )


def test_local_costs_nothing():
    local = resolve_model("local")
    result = estimate(plan_of([35_000, 35_000]), lambda stage: local, "x" * 3500)
    assert result.cost_usd == 0 and result.billed_tokens == 0


def test_a_batch_over_haikus_long_prompt_line_is_flagged_and_costs_five_times_as_much():
    haiku = resolve_model("haiku")
    threshold = settings.ERKWEB_MODELS["haiku"]["long_prompt_threshold"]
    small = estimate(plan_of([35_000 * 9]), lambda stage: haiku, "")  # 90,000 tokens of docs
    big = estimate(plan_of([35_000 * 11]), lambda stage: haiku, "")  # 110,000 tokens of docs
    assert small.batches[0].input_tokens == 90_000 and not small.batches[0].over_long_prompt_line
    assert big.batches[0].over_long_prompt_line and big.long_prompt_threshold == threshold
    # 22% more docs, but the whole of every request over the line at five times the rate.
    assert big.cost_usd > 4 * small.cost_usd


def test_each_stage_is_costed_with_its_own_model():
    haiku, opus = resolve_model("haiku"), resolve_model("opus")
    plan = plan_of([3500, 3500], stages=[1, 2])
    mixed = estimate(plan, lambda stage: opus if stage == 2 else haiku, "")
    all_haiku = estimate(plan, lambda stage: haiku, "")
    assert mixed.cost_usd > all_haiku.cost_usd > Decimal(0)


# --- what the API bills (https://platform.claude.com/docs/en/build-with-claude/prompt-caching) ----------
def test_every_batch_of_the_first_wave_writes_the_shared_prompt():
    """A cache entry is readable only once the response that wrote it has begun: batches that start
    together each write the shared prefix; batches that start later (past the worker count) read it."""
    haiku = resolve_model("haiku")
    plan = plan_of([35_000] * 5)
    system = "s" * 35_000  # about 10,000 tokens of shared instructions
    all_at_once = estimate(plan, lambda stage: haiku, system, workers=8)
    two_workers = estimate(plan, lambda stage: haiku, system, workers=2)
    costs = [b.cost_usd for b in two_workers.batches]
    assert [b.cost_usd for b in all_at_once.batches] == [costs[0]] * 5
    assert costs[0] == costs[1] > costs[2] == costs[3] == costs[4]
    # Batches 3 to 5 read the shared prefix (0.01/MTok) instead of writing it (0.125/MTok): at least the
    # 10,000 tokens of instructions each (the tool definitions come on top).
    saved = all_at_once.cost_usd - two_workers.cost_usd
    assert saved >= Decimal(3 * 10_000) * Decimal("0.115") / 1_000_000


def test_a_prompt_shorter_than_the_minimum_cacheable_length_is_not_cached():
    """A breakpoint whose prefix is under the model's minimum cacheable prompt length creates no cache
    entry: that request is billed as plain input, and nothing is read from the cache after it."""
    haiku = resolve_model("haiku")
    tiny = plan_of([70])
    cached = estimate(tiny, lambda stage: haiku, "")
    strict = resolve_model("haiku")
    strict = type(strict)(strict.alias, strict.model_id, {**strict.prices, "min_cacheable_tokens": 1_000_000})
    uncached = estimate(tiny, lambda stage: strict, "")
    assert cached.cost_usd != uncached.cost_usd
    # Input at 0.10/MTok instead of writes at 0.125 and reads at 0.01: over the four requests of the
    # turn plan, the uncached bill is the larger one (every request pays its whole prompt).
    assert uncached.cost_usd > cached.cost_usd


class CountingCounter:
    label = "counted by the API"

    def __init__(self):
        self.calls = []

    def count(self, model_id, *, messages, system=None, tools=None):
        self.calls.append((model_id, messages, system, tools))
        return 1_000 if system else 5_000


def test_with_a_counter_the_inputs_are_counted_by_the_api():
    haiku = resolve_model("haiku")
    plan = plan_of([7, 7])
    plan.item_text = lambda item: f"text of {item}"
    counter = CountingCounter()
    result = estimate(plan, lambda stage: haiku, "shared", counter=counter)
    assert result.counted_by == "counted by the API"
    assert [b.input_tokens for b in result.batches] == [5_000, 5_000]
    # One count of the shared prefix (the system prompt and the tool definitions) per model, one of each
    # batch's inputs, sent as the agent will read them (one block per input).
    assert [call[2] is not None for call in counter.calls] == [True, False, False]
    assert counter.calls[1][1] == [
        {"role": "user", "content": [{"type": "text", "text": "text of doc-0.md"}]}
    ]
    offline = estimate(plan, lambda stage: haiku, "shared")
    assert offline.counted_by == "an estimate: 3.5 characters a token"
