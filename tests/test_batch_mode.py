"""Batch mode (runs/claude/batch_mode.py): every turn of a stage's agents as one request of a Message
Batch, through the simulator's Message Batches API, driven by the driver's step as the sweep would.

What the docs say, and each test holds it to:
- https://platform.claude.com/docs/en/build-with-claude/batch-processing: results come as JSON Lines in
  no promised order, matched by ``custom_id`` (the simulator returns them reversed); a request can end
  ``errored`` or ``expired``; cancelling a batch ends its unprocessed requests ``canceled``; batch requests
  cost 50% of the standard prices, and batch discounts stack with prompt caching;
- https://platform.claude.com/docs/en/build-with-claude/prompt-caching: the 1-hour cache duration
  (``"ttl": "1h"``), written at 2x the input price, for batches that take longer than 5 minutes.
"""

from datetime import date
from decimal import Decimal

import pytest

from runs import engine
from runs.claude.pricing import CENT_PRECISION, MILLION, call_cost, long_prompt_multiplier, prompt_tokens
from runs.models import BatchStatus, ItemResult, MessageBatch, Run, RunStatus, TranscriptEntry

from .batch_mode_fixtures import drive, start
from .conftest import AS_OF

pytestmark = pytest.mark.django_db(transaction=True)


def turn_usages(run):
    return [e.content["usage"] for e in TranscriptEntry.objects.filter(batch__run=run, role="assistant")]


def normal_price(prices, usage) -> Decimal:
    """The same usage at the standard (non-batch) rates, from the price table, unrounded."""
    rate = long_prompt_multiplier(prices, prompt_tokens(usage)) / MILLION
    writes = usage["cache_write_tokens"]
    return rate * (
        usage["input_tokens"] * Decimal(str(prices["input"]))
        + usage["output_tokens"] * Decimal(str(prices["output"]))
        + (writes - usage["cache_write_1h_tokens"]) * Decimal(str(prices["cache_write_5m"]))
        + usage["cache_write_1h_tokens"] * Decimal(str(prices["cache_write_1h"]))
        + usage["cache_read_tokens"] * Decimal(str(prices["cache_read"]))
    )


def test_a_batch_mode_run_agrees_with_local_and_bills_half_of_its_usage(docs_root, sync_tasks, simulator):
    local = start(docs_root, mode="live", model="local")
    run = drive(start(docs_root), simulator)
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert run.mode == "batch" and run.manifest["mode"] == "batch"
    from runs.summary import run_json, run_text

    assert run_json(run)[
        "mode"
    ] == "batch" and "(batch mode: the Message Batches API, half price)" in run_text(run)
    assert {i.key: i.data for i in ItemResult.objects.filter(run=run)} == {
        i.key: i.data for i in ItemResult.objects.filter(run=local)
    }
    # One message batch a turn, holding that turn of both agents; every batch took its 4 turns there.
    message_batches = list(MessageBatch.objects.filter(run=run))
    assert [mb.request_total for mb in message_batches] == [2, 2, 2, 2]
    assert all(mb.processing_status == "ended" and mb.results_taken for mb in message_batches)
    assert all(mb.request_counts["succeeded"] == 2 for mb in message_batches)
    assert [b.turns for b in run.batches.all()] == [4, 4]

    prices = run.manifest["stage_models"]["1"]["prices"]
    usages = turn_usages(run)
    assert len(usages) == 8 and all(u["service_tier"] == "batch" for u in usages)
    # Every cache write is a 1-hour one, and the docs written in one turn are read back in the next.
    assert all(u["cache_write_1h_tokens"] == u["cache_write_tokens"] for u in usages)
    assert (
        sum(u["cache_write_tokens"] for u in usages) > 0 and sum(u["cache_read_tokens"] for u in usages) > 0
    )
    # The bill is half of the same usage at the standard rates, call by call (each rounded to $0.000001).
    halves = [(normal_price(prices, u) / 2).quantize(CENT_PRECISION) for u in usages]
    assert run.cost_usd == sum(halves) == sum(call_cost(prices, u) for u in usages)


def test_the_run_page_shows_the_mode_and_each_message_batch(client, docs_root, sync_tasks, simulator):
    run = drive(start(docs_root), simulator)
    page = client.get(f"/runs/{run.run_id}/").content.decode()
    assert "batch (Message Batches API, half price)" in page
    first = MessageBatch.objects.filter(run=run).first()
    assert f"<code>{first.api_id}</code>" in page and page.count('id="message-batch-') == 4


@pytest.mark.parametrize("behaviour", ["overloaded", "batch-expire"])
def test_an_errored_or_expired_request_is_resubmitted(docs_root, sync_tasks, simulator, behaviour):
    simulator.set_rules([{"behaviour": behaviour, "batch": 2, "times": 1}])
    run = drive(start(docs_root), simulator)
    assert run.status == RunStatus.SUCCEEDED, run.error
    kind = "errored" if behaviour == "overloaded" else "expired"
    assert any(mb.request_counts.get(kind) == 1 for mb in MessageBatch.objects.filter(run=run))
    errors = [e.content["text"] for e in TranscriptEntry.objects.filter(batch__run=run, role="error")]
    assert len(errors) == 1 and errors[0].endswith("; resubmitted")
    assert MessageBatch.objects.filter(run=run).count() == 5  # batch 2's first turn went out twice


def test_an_agent_that_misbehaves_fails_its_batch_by_name(docs_root, sync_tasks, simulator):
    simulator.set_rules([{"behaviour": "max-tokens", "batch": 1}])
    run = drive(start(docs_root), simulator)
    assert run.status == RunStatus.FAILED
    failed = run.batches.get(index=1)
    assert failed.status == BatchStatus.FAILED and failed.failure_reason.startswith("truncated")
    assert run.batches.get(index=2).status == BatchStatus.VERIFIED


def test_cancelling_the_run_cancels_its_message_batch(docs_root, sync_tasks, simulator):
    # Long enough for the cancel to find the message batch still in progress, however busy the machine.
    simulator.set_batch_delay(60_000)
    run = start(docs_root)
    engine.advance(run.pk)  # the first turns go out
    open_batch = MessageBatch.objects.get(run=run)
    assert open_batch.processing_status == "in_progress"
    assert engine.cancel_run(Run.objects.get(pk=run.pk))  # no sweep needed: cancelled at once
    run = Run.objects.get(pk=run.pk)
    assert run.status == RunStatus.CANCELLED
    assert [b.status for b in run.batches.all()] == [BatchStatus.CANCELLED] * 2
    import anthropic

    seen = anthropic.Anthropic(base_url=simulator.url, api_key="x").messages.batches.retrieve(
        open_batch.api_id
    )
    assert seen.processing_status in ("canceling", "ended") and seen.cancel_initiated_at is not None


def test_batch_mode_needs_a_claude_model_and_a_known_mode(docs_root):
    from runs.errors import InputError

    with pytest.raises(InputError, match="pick a Claude model"):
        start(docs_root, model="local")
    with pytest.raises(InputError, match="the mode must be live or batch"):
        start(docs_root, mode="fast")


def test_a_budget_stops_a_batch_mode_run_before_a_turn_could_cross_it(
    docs_root, sync_tasks, simulator, settings
):
    from runs.budget import BUDGET_REACHED
    from runs.estimate import preview_estimate

    settings.ERKWEB_AGENT_MAX_OUTPUT_TOKENS = 1024
    prepared = engine.prepare_run(
        "audit-scan",
        {"docs_root": str(docs_root)},
        model="haiku",
        agents=2,
        as_of=date.fromisoformat(AS_OF),
        mode="batch",
    )
    estimate = preview_estimate(prepared, prepared.op.system_prompt(None, None))
    assert estimate.cost_usd == estimate.batch_cost_usd < estimate.live_cost_usd
    # Enough for the estimate, not for the worst case of every turn on top of what was spent.
    run = drive(start(docs_root, max_cost=estimate.cost_usd), simulator)
    assert run.status == RunStatus.FAILED and run.error.startswith(f"{BUDGET_REACHED}: ")
    assert run.cost_usd <= run.max_cost  # one message batch at a time: every check saw all the spend


def test_a_spend_limit_is_not_resubmitted_and_resubmissions_are_bounded(
    docs_root, sync_tasks, simulator, settings
):
    # A 429 saying a spend limit was reached is lifted by no wait (as in the live loop): the batch fails.
    simulator.set_rules([{"behaviour": "spend-limit", "batch": 1, "times": 1}])
    run = drive(start(docs_root), simulator)
    assert run.status == RunStatus.FAILED
    reason = run.batches.get(index=1).failure_reason
    assert "rate_limit_error" in reason and "spend limit" in reason and "resubmissions" not in reason
    # An overloaded request is resubmitted ERKWEB_API_MAX_RETRIES times, then fails its batch.
    settings.ERKWEB_API_MAX_RETRIES = 1
    simulator.set_rules([{"behaviour": "overloaded", "batch": 2}])
    run = drive(start(docs_root), simulator)
    assert run.status == RunStatus.FAILED
    assert run.batches.get(index=2).failure_reason.endswith(
        "overloaded_error: Overloaded (simulated) (1 resubmissions spent)"
    )
    assert run.batches.get(index=1).status == BatchStatus.VERIFIED


def test_a_failed_batch_mode_run_is_retried_in_batch_mode(docs_root, sync_tasks, simulator):
    simulator.set_rules([{"behaviour": "empty-file", "batch": 2, "times": 1}])
    run = drive(start(docs_root), simulator)
    assert run.status == RunStatus.FAILED and run.batches.get(index=2).status == BatchStatus.FAILED
    before = MessageBatch.objects.filter(run=run).count()
    assert engine.retry_failed(run) == [2]
    run = drive(run, simulator)
    assert run.status == RunStatus.SUCCEEDED, run.error
    later = list(MessageBatch.objects.filter(run=run)[before:])
    assert later and all(list(mb.requests.values()) == [[2, 2]] for mb in later)  # batch 2's attempt 2 alone


def test_one_process_at_a_time_and_no_result_is_applied_twice(docs_root, sync_tasks, simulator):
    from runs.claude import batch_mode
    from runs.models import Lease

    run = start(docs_root)
    Lease.take(f"message-batches-{run.pk}", "another-host:1:x", 60)
    assert batch_mode.step(run.pk) is None  # held elsewhere: nothing submitted here
    assert not MessageBatch.objects.filter(run=run).exists()
    Lease.objects.all().delete()
    assert batch_mode.step(run.pk).startswith("submitted message batch ")
    simulator.advance_clock(1)
    assert "applied message batch" in batch_mode.step(run.pk)
    turns = [b.turns for b in Run.objects.get(pk=run.pk).batches.all()]
    entries = TranscriptEntry.objects.filter(batch__run=run).count()
    # A step that died after applying the results but before marking them taken: the next one skips
    # every result, their batches no longer awaiting them.
    first = MessageBatch.objects.filter(run=run).first()
    MessageBatch.objects.filter(pk=first.pk).update(results_taken=False)
    batch_mode._Round(Run.objects.get(pk=run.pk))._apply(MessageBatch.objects.get(pk=first.pk))
    assert [b.turns for b in Run.objects.get(pk=run.pk).batches.all()] == turns
    assert TranscriptEntry.objects.filter(batch__run=run).count() == entries


def test_learn_in_batch_mode_goes_through_its_four_stages_like_a_live_run(tmp_path, sync_tasks, simulator):
    """Each stage's agents share their message batches; a stage starts once the one before is verified,
    and a local stage (4 here) runs in the step itself."""
    from .learn_fixtures import TITLE, make_learn_repo

    made = make_learn_repo(tmp_path)
    params = {
        "title": TITLE,
        "repo_root": str(made["repo"]),
        "sessions": [str(made["sessions"])],
        "comments": str(made["comments"]),
    }
    live = Run.objects.get(pk=engine.create_run("learn", params, model="haiku", stage_models={4: "local"}).pk)
    run = engine.create_run("learn", params, model="haiku", stage_models={4: "local"}, mode="batch")
    run = drive(run, simulator, rounds=80)
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert {i.key: i.group for i in ItemResult.objects.filter(run=run)} == {
        i.key: i.group for i in ItemResult.objects.filter(run=live)
    }
    stages = {mb.stage for mb in MessageBatch.objects.filter(run=run)}
    assert stages == {1, 2, 3}
    for mb in MessageBatch.objects.filter(run=run):
        assert all(run.batches.get(index=index).stage == mb.stage for index, _ in mb.requests.values())


def test_a_message_batch_the_api_forgot_is_sent_again(docs_root, sync_tasks, simulator):
    """Retrieving a message batch the API no longer has (deleted, or a restarted simulator) is a 404
    (https://platform.claude.com/docs/en/api/messages/batches/delete: deleted once ended): its requests
    go out again."""
    import anthropic

    from runs.claude import batch_mode

    run = start(docs_root)
    batch_mode.step(run.pk)
    simulator.advance_clock(1)
    first = MessageBatch.objects.get(run=run)
    sdk = anthropic.Anthropic(base_url=simulator.url, api_key="x")
    sdk.messages.batches.delete(first.api_id)
    assert "is gone: its requests go out again" in batch_mode.step(run.pk)
    run = drive(run, simulator)
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert MessageBatch.objects.filter(run=run).count() == 5


def test_a_message_batch_refused_whole_fails_its_batches_with_the_reason(
    docs_root, sync_tasks, simulator, monkeypatch
):
    """A create the API refuses (400: two requests with one custom_id, say) would be refused again."""
    import anthropic
    from anthropic.resources.messages.batches import Batches

    sdk = anthropic.Anthropic(base_url=simulator.url, api_key="x", max_retries=0)
    request = {"custom_id": "same", "params": {"model": "claude-haiku-5-5", "max_tokens": 10, "messages": []}}
    with pytest.raises(anthropic.BadRequestError) as refused:
        sdk.messages.batches.create(requests=[request, request])

    def create(self, **kwargs):
        raise refused.value

    monkeypatch.setattr(Batches, "create", create)
    run = drive(start(docs_root), simulator)
    assert run.status == RunStatus.FAILED
    for batch in run.batches.all():
        assert batch.failure_reason.startswith(
            "the message batch was refused: API error 400 invalid_request_error"
        )
    assert not MessageBatch.objects.filter(run=run).exists()
