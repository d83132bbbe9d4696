"""The driver's state 12 (runs/driver.py): a batch-mode step that died or raised partway leaves no run
stuck, and no result counts twice. Each test builds the state a dead step leaves (a ``Died`` raised where
the process would have stopped: no ``except Exception`` catches it) and drives the run on as the sweep
does, through the simulator's Message Batches API.

What the docs say, and the tests hold the step to: results are matched to their requests by
``custom_id`` only, in no promised order, and can be read again as long as the batch exists
(https://platform.claude.com/docs/en/build-with-claude/batch-processing, "Retrieving batch results"), so
a second reader of the same results must change nothing.
"""

from decimal import Decimal

import pytest

from runs import engine, verification
from runs.claude import batch_mode
from runs.claude.pricing import call_cost
from runs.models import Batch, BatchStatus, ItemResult, Lease, MessageBatch, Run, RunStatus, TranscriptEntry
from runs.scratch import output_file

from .batch_mode_fixtures import drive, start

pytestmark = pytest.mark.django_db(transaction=True)


class Died(BaseException):
    """The process stopped here (a kill, a host gone): nothing after this line ran."""


def dies_once(monkeypatch, owner, name):
    real = getattr(owner, name)
    calls = []

    def dying(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise Died(name)
        return real(*args, **kwargs)

    monkeypatch.setattr(owner, name, dying)


def test_12a_a_step_that_died_between_claim_and_conversation(docs_root, sync_tasks, simulator, monkeypatch):
    run = start(docs_root)
    dies_once(monkeypatch, Batch, "save_conversation")
    with pytest.raises(Died):
        batch_mode.step(run.pk)
    left = Batch.objects.get(run=run, index=1)
    assert (left.status, left.conversation, left.attempts) == (BatchStatus.RUNNING, {}, 1)
    run = drive(run, simulator)
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert Batch.objects.get(run=run, index=1).attempts == 2  # attempt 1 superseded, attempt 2 ran
    assert ItemResult.objects.filter(run=run).count() == 5


def test_12a_a_batch_whose_steps_keep_dying_there_fails_once_its_attempts_are_spent(
    docs_root, sync_tasks, simulator, settings
):
    settings.ERKWEB_BATCH_MAX_ATTEMPTS = 2
    run = start(docs_root)
    batch = Batch.objects.get(run=run, index=1)
    Batch.objects.filter(pk=batch.pk).update(claims=2)  # its second claim, and it died again
    batch.claim("message-batches")
    run = drive(run, simulator)
    batch.refresh_from_db()
    assert run.status == RunStatus.FAILED
    assert batch.status == BatchStatus.FAILED
    assert "stopped before its conversation started; 3 attempts spent" in batch.failure_reason


def test_12b_a_step_that_died_between_written_and_verified(docs_root, sync_tasks, simulator, monkeypatch):
    run = start(docs_root, agents=1)
    dies_once(monkeypatch, verification, "verify_batch")
    for _ in range(40):
        try:
            engine.advance(run.pk)
        except Died:
            break
        simulator.advance_clock(1)
    batch = Batch.objects.get(run=run, index=1)
    assert batch.status == BatchStatus.WRITTEN
    output_file(batch).unlink()  # the next step runs on another host: the file comes from the row
    run = drive(run, simulator)
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert ItemResult.objects.filter(run=run).count() == 5


def test_12c_an_error_applying_one_result_fails_that_batch_and_the_others_go_on(
    docs_root, sync_tasks, simulator, monkeypatch
):
    real = batch_mode._Round._restore

    def broken_disk(self, batch, state):
        if batch.index == 1:
            raise OSError(28, "No space left on device")
        return real(self, batch, state)

    monkeypatch.setattr(batch_mode._Round, "_restore", broken_disk)
    run = drive(start(docs_root), simulator)
    one, two = run.batches.order_by("index")
    assert run.status == RunStatus.FAILED
    assert one.status == BatchStatus.FAILED
    assert "applying its result failed: OSError" in one.failure_reason
    assert "No space left on device" in one.failure_reason
    assert two.status == BatchStatus.VERIFIED  # the rest of the message batch was applied


def test_12d_a_new_attempt_starts_from_a_new_conversation(docs_root, sync_tasks, simulator):
    run = start(docs_root)
    batch = Batch.objects.get(run=run, index=1)
    batch.claim("message-batches")
    old = {"conversation": {"turns": 7}, "pending": [], "awaiting": "b1-a1-t8-r0", "resubmits": 2}
    assert batch.save_conversation(1, old)
    assert batch.requeue(1)
    assert batch.claim("message-batches") == 2
    batch.refresh_from_db()
    assert batch.conversation == {}


def test_12_a_batch_awaiting_a_request_no_open_message_batch_holds(docs_root, sync_tasks, simulator):
    run = start(docs_root)
    assert batch_mode.step(run.pk).startswith("submitted message batch")
    # Its results marked taken and never applied (a step that lost them): both batches still await.
    MessageBatch.objects.filter(run=run).update(results_taken=True)
    run = drive(run, simulator)
    assert run.status == RunStatus.SUCCEEDED, run.error
    errors = TranscriptEntry.objects.filter(batch__run=run, role="error")
    assert sorted(e.content["text"] for e in errors) == [
        "message batch request b1-a1-t1-r0: no open message batch holds it; resubmitted",
        "message batch request b2-a1-t1-r0: no open message batch holds it; resubmitted",
    ]


def test_two_steps_applying_one_result_count_it_once(docs_root, sync_tasks, simulator, monkeypatch):
    run = start(docs_root)
    batch_mode.step(run.pk)
    simulator.advance_clock(1)
    real = batch_mode._Round._take_turn
    raced = []

    def racing(self, batch, state, message, api_id):
        if not raced:  # a second step, which the first one's lease expired into, applies it all first
            raced.append(1)
            other = batch_mode._Round(Run.objects.get(pk=run.pk))
            other._apply(MessageBatch.objects.get(api_id=api_id))
        return real(self, batch, state, message, api_id)

    monkeypatch.setattr(batch_mode._Round, "_take_turn", racing)
    batch_mode.step(run.pk)
    run = Run.objects.get(pk=run.pk)
    prices = run.manifest["stage_models"]["1"]["prices"]
    assistant = TranscriptEntry.objects.filter(batch__run=run, role="assistant")
    assert raced and assistant.count() == 2
    assert [b.turns for b in run.batches.order_by("index")] == [1, 1]
    expected = sum((call_cost(prices, e.content["usage"]) for e in assistant), Decimal(0))
    assert run.cost_usd == expected
    assert sum(b.cost_usd for b in run.batches.all()) == expected


def test_a_step_holds_the_lease_alone_and_stops_when_it_is_lost(
    docs_root, sync_tasks, simulator, monkeypatch
):
    from runs.workers import worker_name

    run = start(docs_root)
    name = f"message-batches-{run.pk}"
    # Another thread of this very process holds it: the same process name is not the same holder.
    assert Lease.take(name, f"{worker_name()}:another-call", 60)
    assert batch_mode.step(run.pk) is None
    assert Lease.objects.get(name=name).owner == f"{worker_name()}:another-call"  # not released by us
    Lease.release(name, f"{worker_name()}:another-call")
    # The lease lost mid-step (it expired and someone took it): the step stops before its next write.
    monkeypatch.setattr(Lease, "renew", classmethod(lambda cls, name, owner, seconds: False))
    assert batch_mode.step(run.pk) is None
    assert set(run.batches.values_list("status", flat=True)) == {BatchStatus.PENDING}
    assert not MessageBatch.objects.filter(run=run).exists()


def test_no_turn_goes_out_for_a_cancelled_run(docs_root, sync_tasks, simulator):
    run = start(docs_root)
    round_ = batch_mode._Round(Run.objects.get(pk=run.pk))
    for batch in Batch.objects.filter(run=run).select_related("run"):
        round_._start(batch)
    assert Run.objects.get(pk=run.pk).cancel()
    running = list(Batch.objects.filter(run=run).select_related("run"))
    assert all(b.status == BatchStatus.RUNNING and b.conversation for b in running)
    round_._submit(running)
    assert not MessageBatch.objects.filter(run=run).exists()
    import anthropic

    at_api = anthropic.Anthropic(base_url=simulator.url, api_key="test").messages.batches.list()
    assert [b.id for b in at_api] == []


def test_a_step_that_died_after_creating_a_message_batch_leaves_its_turns_reserved(
    docs_root, sync_tasks, simulator, monkeypatch
):
    import anthropic

    from runs import budget
    from runs.claude.conversation import Conversation
    from runs.claude.pricing import worst_case_cost

    run = start(docs_root)
    batch_mode._Round(Run.objects.get(pk=run.pk))._start(
        Batch.objects.select_related("run").get(run=run, index=1)
    )
    batch_mode._Round(Run.objects.get(pk=run.pk))._start(
        Batch.objects.select_related("run").get(run=run, index=2)
    )
    prices = Run.objects.get(pk=run.pk).manifest["stage_models"]["1"]["prices"]
    worst = {}
    for batch in Batch.objects.filter(run=run):
        conversation = Conversation.from_dict(batch.conversation["conversation"])
        worst[batch.index] = worst_case_cost(
            prices, conversation.prompt_estimate(), conversation.max_tokens, batch=True
        )
    real = Batch.save_conversation

    def dies_after_create(self, attempt, state, **kwargs):
        if state.get("awaiting"):  # the message batch exists at the API; its id is not saved yet
            raise Died("after create")
        return real(self, attempt, state, **kwargs)

    with monkeypatch.context() as dying:
        dying.setattr(Batch, "save_conversation", dies_after_create)
        with pytest.raises(Died):
            batch_mode.step(run.pk)
    sdk = anthropic.Anthropic(base_url=simulator.url, api_key="x")
    assert len(list(sdk.messages.batches.list())) == 1  # created at the API, and paid
    [unrecorded] = MessageBatch.objects.filter(run=run)
    assert unrecorded.processing_status == MessageBatch.UNRECORDED
    assert sorted(unrecorded.requests) == ["b1-a1-t1-r0", "b2-a1-t1-r0"]
    assert unrecorded.reserved_cost == worst[1] + worst[2]
    # The budget counts the possibly-sent turns: a budget that fits one more turn alone, not on top.
    Run.objects.filter(pk=run.pk).update(max_cost=worst[1] + worst[2])
    one = Batch.objects.get(run=run, index=1)
    with pytest.raises(budget.BudgetReached, match="possibly sent unrecorded"):
        budget.check_turn(run.pk, one.pk, one.attempts, worst[1])
    assert budget.month_spend() == worst[1] + worst[2]
    # Without a budget in the way, the turns go out again and the run ends; the reserve stays counted.
    Run.objects.filter(pk=run.pk).update(max_cost=None)
    run = drive(run, simulator)
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert MessageBatch.objects.filter(run=run, processing_status=MessageBatch.UNRECORDED).count() == 1
    assert budget.month_spend() == run.cost_usd + worst[1] + worst[2]


def test_a_create_that_timed_out_may_have_been_sent_and_stays_reserved(
    docs_root, sync_tasks, simulator, monkeypatch
):
    """A create the API answered with an error created nothing (test_batch_mode: refused whole, no
    row); one that timed out may have created it: its row stays unrecorded, its turns reserved."""
    import anthropic
    import httpx2 as httpx
    from anthropic.resources.messages.batches import Batches

    def create(self, **kwargs):
        raise anthropic.APITimeoutError(request=httpx.Request("POST", f"{simulator.url}/v1/messages/batches"))

    monkeypatch.setattr(Batches, "create", create)
    run = start(docs_root)
    assert batch_mode.step(run.pk) == (
        "message batch possibly created, unrecorded (API request timed out): the next step tries again"
    )
    [unrecorded] = MessageBatch.objects.filter(run=run)
    assert unrecorded.processing_status == MessageBatch.UNRECORDED and unrecorded.reserved_cost > 0
