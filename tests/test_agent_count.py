"""``--agents auto`` (runs/agent_count.py): the cheapest number of batches by the estimate's cost model,
the long-prompt rule among what it weighs; through prepare_run, the form's preview and a simulated run."""

import re
from datetime import date
from decimal import Decimal

import pytest

from runs import engine
from runs.agent_count import choose_agent_count, partitioned
from runs.estimate import estimate
from runs.model_choice import resolve_model
from runs.models import Run
from runs.operations.base import Plan, PlannedBatch

from .conftest import AS_OF, write_docs

# Haiku 5.5 bills a request over 100,000 prompt tokens at five times every rate (erkweb/published_models.py,
# from https://platform.claude.com/docs/en/about-claude/pricing, long context pricing).
HAIKU_LINE = 100_000
DOC_CHARS = 56_000  # 16,000 tokens at the estimate's 3.5 characters a token


def plan_of(sizes: dict[str, int]) -> Plan:
    items = sorted(sizes)
    return Plan(params={}, items=items, batches=[PlannedBatch(1, items, "batch-1.md")], item_sizes=sizes)


def test_the_cheapest_count_wins_under_the_largest_batch_limit():
    plan = plan_of({f"{n:02}.md": 100 for n in range(12)})
    prices = {1: 9, 2: 5, 3: 4, 4: 4, 5: 6}

    def cost_of(candidate: Plan) -> Decimal:
        return Decimal(prices.get(len(candidate.batches), 10))

    choice = choose_agent_count(plan, cost_of, workers=8, max_batch_items=100)
    # 3 and 4 tie: the one nearer the 8 workers (the run takes less time) wins.
    assert choice.agents == 4 and choice.cost_usd == 4
    assert choice.compared_with == 5 and choice.saving_usd == 2 and choice.label == "auto -> 4"
    assert sorted(choice.costs) == list(range(1, 13))
    # No batch of more than 3 items: 1 to 3 batches are not candidates.
    limited = choose_agent_count(plan, cost_of, workers=8, max_batch_items=3)
    assert limited.agents == 4 and min(limited.costs) == 4
    assert partitioned(plan, 5).batches[0].inputs == ["00.md", "05.md", "10.md"]


def test_more_items_than_twenty_batches_hold_take_the_fewest_batches_that_hold_them():
    plan = plan_of({f"{n:04}.md": 100 for n in range(2_001)})
    choice = choose_agent_count(
        plan, lambda candidate: Decimal(len(candidate.batches)), workers=8, max_batch_items=100
    )
    # 2,001 items, at most 100 a batch: 21 batches (20 would need 101 in one), never more than 100 each.
    assert choice.agents == 21 and list(choice.costs) == [21]
    assert max(len(b.inputs) for b in partitioned(plan, choice.agents).batches) == 96


def test_haiku_takes_the_fewest_batches_that_stay_under_its_long_prompt_line():
    """Ten docs of 16,000 tokens: in one batch every request after the first carries 160,000 tokens of
    docs, over Haiku's line; in two, 80,000 plus the shared prompt, under it. Every batch more only pays
    the shared prompt and its first message again, so two is the cheapest. Sonnet has no such rule:
    one batch is its cheapest."""
    plan = plan_of({f"{n:02}.md": DOC_CHARS for n in range(10)})
    for model, expected in (("haiku", 2), ("sonnet", 1)):
        executor = resolve_model(model)

        def cost_of(candidate: Plan, executor=executor) -> Decimal:
            return estimate(candidate, lambda stage: executor, "shared prompt " * 200, workers=8).cost_usd

        choice = choose_agent_count(plan, cost_of, workers=8, max_batch_items=100)
        assert choice.agents == expected, (model, choice.costs)
        if model == "haiku":  # one batch pays five times every rate on all but its first request
            assert choice.costs[1] > 3 * choice.costs[2], choice.costs
    haiku = resolve_model("haiku")
    one = estimate(partitioned(plan, 1), lambda stage: haiku, "shared prompt " * 200, workers=8)
    assert one.batches[0].largest_prompt > HAIKU_LINE and one.batches[0].over_long_prompt_line


@pytest.fixture
def big_docs(tmp_path):
    return write_docs(
        tmp_path / "docs", {f"d{n:02}.md": f"# Doc {n}\n\n" + "word " * (DOC_CHARS // 5) for n in range(10)}
    )


@pytest.mark.django_db(transaction=True)
def test_auto_is_recorded_in_the_manifest_and_bills_less_than_five_agents(big_docs, sync_tasks, simulator):
    def run(agents):
        prepared = engine.prepare_run(
            "audit-scan",
            {"docs_root": str(big_docs)},
            model="haiku",
            agents=agents,
            as_of=date.fromisoformat(AS_OF),
        )
        return prepared, Run.objects.get(pk=engine.launch(prepared).pk)

    prepared, auto = run("auto")
    assert prepared.agent_choice and prepared.agent_choice.agents == 2
    assert auto.status == "succeeded", auto.error
    assert auto.agents == 2 and auto.batches.count() == 2 and auto.manifest["agents"] == "auto -> 2"
    _, five = run(5)
    assert five.status == "succeeded" and five.manifest["agents"] == 5
    assert auto.cost_usd < five.cost_usd


@pytest.mark.django_db(transaction=True)
def test_the_form_defaults_to_auto_and_its_preview_says_what_auto_saves(client, big_docs, simulator):
    assert 'name="agents" value="auto"' in client.get("/runs/new/").content.decode()
    query = {
        "operation": "audit-scan",
        "docs_root": str(big_docs),
        "model": "haiku",
        "as_of": AS_OF,
        "preview": "1",
    }
    page = client.get("/runs/new/", {**query, "agents": "auto"}).content.decode()
    assert "auto chose 2</strong>" in page
    found = re.search(
        r"about \$([0-9.]+)\): 5 agents would cost about \$([0-9.]+), so it saves \$([0-9]+\.[0-9]+)", page
    )
    assert found, page
    chosen, five, saved = (Decimal(x) for x in found.groups())
    assert five > chosen and five - chosen == saved
    fixed = client.get("/runs/new/", {**query, "agents": "3"}).content.decode()
    assert "auto chose" not in fixed
    bad = client.get("/runs/new/", {**query, "agents": "lots"}).content.decode()
    assert "Enter a whole number" in bad


def test_an_operation_that_decides_its_own_agents_refuses_auto():
    from runs.errors import InputError

    with pytest.raises(InputError, match="decides its own agents"):
        engine.prepare_run("learn", {}, model="local", agents="auto")


def test_a_count_by_the_endpoint_calibrates_the_sizes_before_the_choice():
    """Six docs of 70,000 characters: 120,000 tokens at the estimate's 3.5 characters a token, over
    Haiku's line in one batch; counted by an endpoint at 90,000, one batch stays under it (and is the
    cheapest: every batch more pays the shared prompt again)."""
    from runs.agent_count import calibrated

    plan = plan_of({f"{n}.md": 70_000 for n in range(6)})
    haiku = resolve_model("haiku")

    def cost_of(candidate: Plan) -> Decimal:
        return estimate(candidate, lambda stage: haiku, "shared prompt " * 200, workers=8).cost_usd

    assert choose_agent_count(plan, cost_of, workers=8, max_batch_items=100).agents == 2
    counted = calibrated(plan, 90_000)
    assert counted.item_sizes == {f"{n}.md": 52_500 for n in range(6)}  # 90,000 x 3.5 / 6
    assert choose_agent_count(counted, cost_of, workers=8, max_batch_items=100).agents == 1
    assert calibrated(plan, None) is plan
