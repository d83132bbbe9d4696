"""Agent output cannot break the engine: whatever an agent leaves at its output path fails that batch
with a reason, through the real verification path (the driver verifying a file its worker wrote and
left), and the batch page shows it safely."""

import os
from datetime import date, timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.db.models.functions import Now

from runs import engine
from runs.models import Batch, BatchStatus, Run, RunStatus
from runs.operations.audit_scan.local import local_batch_text
from runs.scratch import output_file
from runs.workers import worker_name

from .conftest import AS_OF

pytestmark = pytest.mark.django_db(transaction=True)

MB = 1024 * 1024


def written_by_a_worker_that_died(run: Run, batch: Batch) -> None:
    """The agent wrote its file on this host; its worker died before verifying it."""
    Batch.objects.filter(pk=batch.pk).update(
        status=BatchStatus.WRITTEN,
        attempts=1,
        claims=1,
        worker=worker_name(),
        written_at=Now() - timedelta(seconds=60),
    )


@pytest.fixture
def one_batch(docs_root, held_tasks):
    run = engine.create_run(
        "audit-scan", {"docs_root": str(docs_root)}, model="local", agents=1, as_of=date.fromisoformat(AS_OF)
    )
    run = Run.objects.get(pk=run.pk)
    batch = run.batches.get()
    output_file(batch).parent.mkdir(parents=True, exist_ok=True)  # no attempt started: nothing made it
    good = local_batch_text(batch.inputs, Path(run.params["docs_root"]), Path(run.params["repo_root"]))
    return run, batch, good


def verify(run, batch) -> Batch:
    written_by_a_worker_that_died(run, batch)
    engine.advance(run.pk)
    batch.refresh_from_db()
    assert batch.status == BatchStatus.FAILED
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED and f"batch {batch.index}: {batch.failure_reason}" in run.error
    return batch


def test_a_number_of_five_thousand_digits(one_batch):
    run, batch, good = one_batch
    lines = good.splitlines()
    at = next(n for n, line in enumerate(lines) if line.startswith("lines: "))
    lines[at] = "lines: " + "7" * 5000
    output_file(batch).write_text("\n".join(lines) + "\n")
    assert verify(run, batch).failure_reason == "block 1: lines is not a whole number"


def test_nul_bytes(one_batch):
    run, batch, _ = one_batch
    output_file(batch).write_bytes(b"path: a.md\n\x00\x00lines: 3\n")
    batch = verify(run, batch)
    assert batch.failure_reason == "not text: a NUL character at offset 11"  # after "path: a.md\n"
    assert "\x00" not in batch.rejected_output and batch.rejected_output.startswith("path: a.md\n")


def test_invalid_utf8(one_batch):
    run, batch, good = one_batch
    output_file(batch).write_bytes(b"path: caf\xe9.md\n" + good.encode())
    batch = verify(run, batch)
    assert batch.failure_reason == "not UTF-8 text: invalid byte at offset 9"  # the \xe9 after "path: caf"
    assert batch.rejected_output.startswith("path: caf\ufffd.md\n")


def test_a_100_mb_file(one_batch):
    run, batch, _ = one_batch
    with open(output_file(batch), "wb") as fh:
        fh.truncate(100 * MB)  # sparse: costs no disk, reads as 100 MB of zeros
    limit = settings.ERKWEB_OUTPUT_MAX_BYTES
    batch = verify(run, batch)
    assert batch.failure_reason == f"file too large: {100 * MB:,} bytes (the limit is {limit:,})"
    assert limit == 10 * MB


def test_a_folder_where_the_file_should_be(one_batch):
    run, batch, _ = one_batch
    output_file(batch).mkdir()
    assert verify(run, batch).failure_reason == "not a file: a folder"


def test_a_symlink_where_the_file_should_be(one_batch, tmp_path):
    run, batch, good = one_batch
    elsewhere = tmp_path / "elsewhere.md"
    elsewhere.write_text(good)  # a file that would pass: the link itself is refused, not followed
    os.symlink(elsewhere, output_file(batch))
    assert verify(run, batch).failure_reason == "not a file: a symlink"


def test_a_fifo_where_the_file_should_be_does_not_block(one_batch):
    run, batch, _ = one_batch
    os.mkfifo(output_file(batch))
    assert verify(run, batch).failure_reason == "not a regular file"


def test_a_check_that_raises_something_unexpected(one_batch, monkeypatch):
    from runs.operations.audit_scan.operation import AuditScan

    run, batch, good = one_batch
    output_file(batch).write_text(good)

    def broken(self, run, batch, text):
        raise KeyError("a parser's bug")

    monkeypatch.setattr(AuditScan, "check_output", broken)
    assert verify(run, batch).failure_reason == "could not check the file: KeyError"


def test_deeply_nested_tripwire_json(tmp_path, sync_tasks):
    from runs.operations.learn import agents as A

    from .learn_fixtures import TITLE, make_learn_repo

    made = make_learn_repo(tmp_path)
    params = {"title": TITLE, "repo_root": str(made["repo"]), "sessions": [str(made["sessions"])]}
    run = Run.objects.get(pk=engine.create_run("learn", params, model="local").pk)
    assert run.status == RunStatus.SUCCEEDED, run.error
    tripwires = run.batches.get(role=A.TRIPWIRES)
    output_file(tripwires).write_text('{"candidates": ' + "[" * 100_000 + "]" * 100_000 + "}")
    Run.objects.filter(pk=run.pk).update(status=RunStatus.RUNNING, report="", finished_at=None)
    tripwires = verify(run, tripwires)
    assert tripwires.failure_reason == "tripwire JSON nested too deeply"


def test_the_batch_page_shows_a_rejected_file_escaped_and_bounded(client, one_batch):
    run, batch, _ = one_batch
    hostile = "<script>alert(1)</script>\n" + "x" * (200 * 1024)
    output_file(batch).write_bytes(hostile.encode() + b"\xff\x00")
    verify(run, batch)
    body = client.get(f"/runs/{run.run_id}/batches/1/").content.decode()
    assert "Failed: not UTF-8 text: invalid byte at offset" in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body and "<script>alert(1)" not in body
    # Only its first 64 KiB were kept.
    assert body.count("x") < 70 * 1024


def test_the_batch_page_never_reads_a_scratch_file(client, one_batch):
    run, batch, _ = one_batch
    with open(output_file(batch), "wb") as fh:
        fh.truncate(100 * MB)
    written_by_a_worker_that_died(run, batch)
    response = client.get(f"/runs/{run.run_id}/batches/1/")  # not verified yet: nothing to show
    body = response.content.decode()
    assert response.status_code == 200 and len(body) < MB
    assert "Not verified yet." in body and "Shown once verified." in body
