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
