"""Fencing: every write an attempt makes is conditioned on its number, and leases and claims on the
database clock, so a superseded attempt or an aggregator that lost its lease changes nothing."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db.models.functions import Now
from django.utils import timezone

from runs.models import Batch, BatchStatus, Run, RunStatus, TranscriptEntry

pytestmark = pytest.mark.django_db

USAGE = {"input_tokens": 10, "output_tokens": 5, "cache_write_tokens": 0, "cache_read_tokens": 0}


def make_batch(tmp_path, **fields) -> Batch:
    run = Run.objects.create(
        run_id="audit-scan-20261201-120000-f00d",
        operation="audit-scan",
        model="haiku",
        model_id="claude-haiku-5-5",
        agents=1,
        status=RunStatus.RUNNING,
        current_stage=1,
    )
    return Batch.objects.create(
        run=run, index=1, inputs=["a.md"], output_path="batch-1.md", model_id="x", **fields
    )


def test_a_claim_makes_a_new_attempt_and_a_duplicate_is_refused(tmp_path):
    batch = make_batch(tmp_path, status=BatchStatus.PENDING)
    assert batch.claim("host:1:a") == 1
    assert batch.status == BatchStatus.RUNNING and batch.worker == "host:1:a" and batch.claims == 1
    assert Batch.objects.get(pk=batch.pk).claim("host:2:b") is None, "a running batch is not claimed again"


def test_a_superseded_attempt_changes_nothing(tmp_path):
    batch = make_batch(tmp_path, status=BatchStatus.PENDING)
    first = batch.claim("host:1:a")
    # The first attempt's worker was taken for dead and the batch claimed again.
    Batch.objects.filter(pk=batch.pk).update(status=BatchStatus.PENDING)
    second = Batch.objects.get(pk=batch.pk).claim("host:2:b")
    assert (first, second) == (1, 2)

    stale = Batch.objects.get(pk=batch.pk)
    assert not stale.record_turn(
        first, usage=USAGE, cost=Decimal("0.5"), entries=[{"role": "assistant", "content": []}]
    )
    assert not stale.mark_written(first, final_message="done", warnings=[])
    assert not stale.fail("crashed", first)
    assert not stale.cancel(first)
    after = Batch.objects.get(pk=batch.pk)
    assert (after.status, after.attempts, after.worker) == (BatchStatus.RUNNING, 2, "host:2:b")
    assert (after.turns, after.input_tokens, after.cost_usd) == (0, 0, 0)
    assert not TranscriptEntry.objects.exists()
    assert Run.objects.get(pk=batch.run_id).input_tokens == 0

    # The current attempt's writes count, on the batch and on its run alike.
    assert after.record_turn(
        second, usage=USAGE, cost=Decimal("0.5"), entries=[{"role": "assistant", "content": []}]
    )
    assert after.mark_written(second, final_message="done", warnings=[])
    after.refresh_from_db()
    run = Run.objects.get(pk=batch.run_id)
    assert (after.turns, after.input_tokens, after.status) == (1, 10, BatchStatus.WRITTEN)
    assert (run.input_tokens, run.output_tokens, run.cost_usd) == (10, 5, Decimal("0.5"))
    assert not after.mark_verified(first, output="theirs"), "verified only by the attempt that wrote it"
    assert after.mark_verified(second, output="path: a.md\n")
    after.refresh_from_db()
    # The output is the record, with its sha256: `printf "path: a.md\\n" | sha256sum`.
    assert after.output == "path: a.md\n"
    assert after.output_sha256 == "63ec79ec93b7ddd4a2770f5b13e5f20c8f7f7467d6c5fb647794ead61caea8e8"


def test_only_the_lease_holder_finishes_an_aggregation(tmp_path):
    run = make_batch(tmp_path).run
    first, second = Run.objects.get(pk=run.pk), Run.objects.get(pk=run.pk)
    assert first.begin_aggregation("host:1:a", lease_seconds=60)
    assert not second.begin_aggregation("host:2:b", lease_seconds=60)
    assert not second.take_lease("host:2:b", lease_seconds=60), "the lease is held and has not expired"
    assert not second.succeed(owner="host:2:b", report="theirs")

    # The first aggregator stalls past its lease; another takes the run over and finishes it.
    Run.objects.filter(pk=run.pk).update(lease_expires_at=Now() - timedelta(seconds=1))
    assert second.take_lease("host:2:b", lease_seconds=60)
    assert not first.succeed(owner="host:1:a", report="mine")
    assert not first.fail("aggregation failed", owner="host:1:a")
    assert second.succeed(owner="host:2:b", report="theirs")
    run.refresh_from_db()
    assert (run.status, run.report, run.lease_owner) == (RunStatus.SUCCEEDED, "theirs", "")


def test_claims_and_leases_take_the_database_clock_not_the_hosts(tmp_path, monkeypatch):
    batch = make_batch(tmp_path, status=BatchStatus.PENDING)
    # A host whose clock is 25 years behind.
    monkeypatch.setattr(timezone, "now", lambda: datetime(2001, 1, 1, tzinfo=UTC))
    batch.claim("host:1:a")
    run = batch.run
    run.begin_aggregation("host:1:a", lease_seconds=60)
    real_now = datetime.now(UTC)
    assert abs((batch.started_at - real_now).total_seconds()) < 60
    assert 0 < (run.lease_expires_at - real_now).total_seconds() < 120


def test_transcript_entries_are_appended_one_row_each_never_rewritten(tmp_path):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    batch = make_batch(tmp_path, status=BatchStatus.PENDING)
    attempt = batch.claim("host:1:a")
    first = [{"role": "system", "text": "instructions"}, {"role": "user", "content": [{"type": "text"}]}]
    first.append(
        {"role": "assistant", "content": [{"type": "text", "text": "a\x00b \ud800"}], "usage": USAGE}
    )
    assert batch.record_turn(attempt, usage=USAGE, cost=Decimal("0.1"), entries=first)
    before = list(TranscriptEntry.objects.values_list("id", "sequence", "role"))
    assert before == [(before[0][0], 1, "system"), (before[1][0], 2, "user"), (before[2][0], 3, "assistant")]

    later = [{"role": "user", "content": [{"type": "tool_result", "content": "x" * 100_000}]}]
    later.append({"role": "assistant", "content": [], "usage": USAGE})
    with CaptureQueriesContext(connection) as queries:
        assert batch.record_turn(attempt, usage=USAGE, cost=Decimal("0.1"), entries=later)
    inserts = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("INSERT")]
    assert len(inserts) == 1 and "runs_transcriptentry" in inserts[0]
    assert not any("UPDATE" in q["sql"] and "transcriptentry" in q["sql"] for q in queries.captured_queries)
    assert list(TranscriptEntry.objects.values_list("id", "sequence", "role"))[:3] == before
    assert list(TranscriptEntry.objects.values_list("sequence", flat=True)) == [1, 2, 3, 4, 5]
    batch.refresh_from_db()
    assert batch.turns == 2, "one turn per response"
    # A NUL and a lone surrogate an agent echoed are stored as U+FFFD, not refused by the database.
    kept = TranscriptEntry.objects.get(sequence=3).content["content"][0]["text"]
    assert kept == "a\ufffdb \ufffd"
