"""A cancelled batch-mode run still bills what the API completed before the cancel took effect.

https://platform.claude.com/docs/en/build-with-claude/batch-processing ("Canceling a Message Batch"): a
canceled batch goes ``canceling``, then ends (``processing_status`` ``ended``), and its results hold
``succeeded`` results for the requests that completed before the cancel and ``canceled`` for the others;
the cancel endpoint (https://platform.claude.com/docs/en/api/messages/batches/cancel): "the system may
complete any in-progress, non-interruptible requests before finalizing cancellation" and "To determine
which requests were canceled, check the individual results within the batch". Those succeeded
requests are billed (at the batch rate, ``usage.service_tier`` ``"batch"``), so the run's cost is theirs.
"""

from decimal import Decimal

import anthropic
import pytest

from runs import driver, engine
from runs.claude.pricing import call_cost, usage_dict
from runs.models import BatchStatus, MessageBatch, Run, RunStatus, TranscriptEntry

from .batch_mode_fixtures import start

pytestmark = pytest.mark.django_db(transaction=True)


def sdk(simulator) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=simulator.url, api_key="x")


def test_a_cancelled_run_bills_what_its_message_batch_completed_once(docs_root, sync_tasks, simulator):
    # Two requests over 60 s: batch 1's at 30 s, which takes 20 s (slow), batch 2's at 60 s.
    simulator.set_batch_delay(60_000)
    simulator.set_rules([{"behaviour": "slow", "batch": 1, "latency_ms": 20_000}])
    run = start(docs_root)
    engine.advance(run.pk)  # the first turns go out
    open_batch = MessageBatch.objects.get(run=run)
    simulator.advance_clock(40)  # batch 1's request is in flight, batch 2's not started
    assert engine.cancel_run(run)
    # The cancel was taken (canceling), but the request in flight finishes first: nothing to bill yet.
    assert sdk(simulator).messages.batches.retrieve(open_batch.api_id).processing_status == "canceling"
    driver.sweep()
    open_batch.refresh_from_db()
    run = Run.objects.get(pk=run.pk)
    assert not open_batch.results_taken and open_batch.processing_status == "canceling"
    assert run.cost_usd == 0

    simulator.advance_clock(20)  # batch 1's request is done; the message batch ends
    driver.sweep()
    driver.sweep()  # a second sweep counts nothing again
    results = {r.custom_id: r.result for r in sdk(simulator).messages.batches.results(open_batch.api_id)}
    by_batch = {open_batch.requests[cid][0]: result for cid, result in results.items()}
    assert by_batch[1].type == "succeeded" and by_batch[2].type == "canceled"
    usage = usage_dict(by_batch[1].message.usage)
    assert usage["service_tier"] == "batch" and usage["output_tokens"] > 0
    expected = call_cost(run.manifest["stage_models"]["1"]["prices"], usage)
    assert expected > 0

    run = Run.objects.get(pk=run.pk)
    open_batch.refresh_from_db()
    assert open_batch.results_taken and open_batch.processing_status == "ended"
    assert run.status == RunStatus.CANCELLED
    assert run.cost_usd == expected
    assert (run.input_tokens, run.output_tokens) == (usage["input_tokens"], usage["output_tokens"])
    first, second = run.batches.order_by("index")
    assert first.cost_usd == expected and first.output_tokens == usage["output_tokens"]
    assert second.cost_usd == 0 and second.output_tokens == 0
    # Billed, not applied: no tool ran, no turn was recorded, the batches stay cancelled.
    assert [b.status for b in (first, second)] == [BatchStatus.CANCELLED] * 2
    assert [b.turns for b in (first, second)] == [0, 0]
    assert not TranscriptEntry.objects.filter(batch__run=run, role="assistant").exists()
    # Two sweeps racing: the one that marks the results taken bills; the other adds nothing.
    stale = MessageBatch.objects.get(pk=open_batch.pk)
    stale.results_taken = False
    assert not stale.bill_late_usage({1: (usage, expected)})
    assert Run.objects.get(pk=run.pk).cost_usd == expected


def test_an_api_that_cannot_be_reached_leaves_the_billing_for_the_next_sweep(
    docs_root, sync_tasks, simulator
):
    simulator.set_batch_delay(60_000)
    run = start(docs_root)
    engine.advance(run.pk)
    open_batch = MessageBatch.objects.get(run=run)
    simulator.advance_clock(31)  # batch 1's request succeeded, batch 2's not started
    assert engine.cancel_run(run)
    manifest = dict(run.manifest)
    Run.objects.filter(pk=run.pk).update(manifest={**manifest, "api_base_url": "http://127.0.0.1:9"})
    driver.sweep()
    open_batch.refresh_from_db()
    assert not open_batch.results_taken and Run.objects.get(pk=run.pk).cost_usd == 0
    Run.objects.filter(pk=run.pk).update(manifest=manifest)
    driver.sweep()
    open_batch.refresh_from_db()
    assert open_batch.results_taken
    assert Run.objects.get(pk=run.pk).cost_usd > 0


def test_a_message_batch_the_api_does_not_know_is_taken_with_nothing_billed(docs_root, sync_tasks, simulator):
    simulator.set_batch_delay(60_000)
    run = start(docs_root)
    engine.advance(run.pk)
    MessageBatch.objects.filter(run=run).update(api_id="msgbatch_neverheardof")
    assert engine.cancel_run(run)  # the cancel: 404
    driver.sweep()
    open_batch = MessageBatch.objects.get(run=run)
    assert open_batch.results_taken
    assert Run.objects.get(pk=run.pk).cost_usd == Decimal(0)


def test_results_a_step_applied_before_the_cancel_are_not_billed_again(docs_root, sync_tasks, simulator):
    simulator.set_batch_delay(60_000)
    run = start(docs_root)
    engine.advance(run.pk)  # the first turns go out
    simulator.advance_clock(61)  # both succeed, the message batch ends
    engine.advance(run.pk)  # applied (billed with their turns); the second turns go out
    first, second = MessageBatch.objects.filter(run=run).order_by("created_at", "id")
    applied_cost = Run.objects.get(pk=run.pk).cost_usd
    assert first.results_taken and not second.results_taken and applied_cost > 0
    # As if the step had died after applying the first message batch's results, before marking them.
    MessageBatch.objects.filter(pk=first.pk).update(results_taken=False)
    assert engine.cancel_run(Run.objects.get(pk=run.pk))
    simulator.advance_clock(61)
    driver.sweep()
    driver.sweep()
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.results_taken and second.results_taken
    prices = run.manifest["stage_models"]["1"]["prices"]
    late = sum(
        (
            call_cost(prices, usage_dict(r.result.message.usage))
            for r in sdk(simulator).messages.batches.results(second.api_id)
            if r.result.type == "succeeded"
        ),
        Decimal(0),
    )
    run = Run.objects.get(pk=run.pk)
    assert run.cost_usd == applied_cost + late
    assert run.cost_usd == sum(b.cost_usd for b in run.batches.all())
