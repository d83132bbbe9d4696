"""A user's cancel and retry of a batch-mode run, from the run page: the request does no batch-mode step
(its API calls could outlast the request, which gunicorn stops at 30 s); the cancel of the open message
batch is tried at once within a short timeout, and what it cannot reach the sweep cancels later.

Cancelling a message batch: https://platform.claude.com/docs/en/build-with-claude/batch-processing
("Canceling a Message Batch": the batch goes ``canceling``, then ``ended``, with ``cancel_initiated_at``).
"""

import socket

import anthropic
import pytest

from runs import actions, driver, engine
from runs.claude import batch_mode
from runs.models import BatchStatus, MessageBatch, Run, RunStatus

from .batch_mode_fixtures import start

pytestmark = pytest.mark.django_db(transaction=True)


def closed_port_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"  # nothing listens there any more: every call is refused


def test_a_cancel_that_cannot_reach_the_api_still_cancels_and_the_sweep_cancels_the_message_batch(
    client, docs_root, sync_tasks, simulator, monkeypatch
):
    simulator.set_batch_delay(60_000)  # still in progress when the cancel comes
    run = start(docs_root)
    engine.advance(run.pk)
    open_batch = MessageBatch.objects.get(run=run)
    manifest = dict(run.manifest)
    Run.objects.filter(pk=run.pk).update(manifest={**manifest, "api_base_url": closed_port_url()})
    steps = []
    monkeypatch.setattr(batch_mode, "step", lambda run_pk: steps.append(run_pk))
    response = client.post(f"/runs/{run.run_id}/cancel/")
    assert response.status_code == 302  # never a 500: the cancel had committed
    run = Run.objects.get(pk=run.pk)
    assert run.status == RunStatus.CANCELLED
    assert [b.status for b in run.batches.all()] == [BatchStatus.CANCELLED] * 2
    assert steps == []
    open_batch.refresh_from_db()
    assert not open_batch.results_taken  # not cancelled at the API yet: left for the sweep
    sdk = anthropic.Anthropic(base_url=simulator.url, api_key="x")
    assert sdk.messages.batches.retrieve(open_batch.api_id).cancel_initiated_at is None
    # The API is reachable again: the sweep's next pass cancels it.
    Run.objects.filter(pk=run.pk).update(manifest=manifest)
    driver.sweep()
    open_batch.refresh_from_db()
    assert open_batch.results_taken
    assert sdk.messages.batches.retrieve(open_batch.api_id).cancel_initiated_at is not None


def test_the_cancel_in_a_request_is_bounded(docs_root, sync_tasks, simulator, monkeypatch):
    seen = []
    monkeypatch.setattr(
        "runs.claude.batch_recovery.cancel_leftovers", lambda pk, timeout: seen.append(timeout)
    )
    assert engine.cancel_run(start(docs_root))
    assert seen == [actions.CANCEL_TIMEOUT_S] and actions.CANCEL_TIMEOUT_S <= 10


def test_a_retry_from_the_run_page_leaves_the_step_to_the_sweep(
    client, docs_root, sync_tasks, simulator, monkeypatch
):
    simulator.set_rules([{"behaviour": "empty-file", "batch": 2, "times": 1}])
    run = start(docs_root)
    for _ in range(40):
        engine.advance(run.pk)
        if Run.objects.get(pk=run.pk).is_finished:
            break
        simulator.advance_clock(1)
    assert Run.objects.get(pk=run.pk).status == RunStatus.FAILED
    real_step, steps = batch_mode.step, []
    monkeypatch.setattr(batch_mode, "step", lambda run_pk: steps.append(run_pk))
    response = client.post(f"/runs/{run.run_id}/retry/")
    assert response.status_code == 302
    run = Run.objects.get(pk=run.pk)
    assert steps == [] and run.status == RunStatus.RUNNING
    assert run.batches.get(index=2).status == BatchStatus.PENDING  # for the sweep's step to claim
    monkeypatch.setattr(batch_mode, "step", real_step)
    for _ in range(40):
        driver.sweep()
        if Run.objects.get(pk=run.pk).is_finished:
            break
        simulator.advance_clock(1)
    assert Run.objects.get(pk=run.pk).status == RunStatus.SUCCEEDED
