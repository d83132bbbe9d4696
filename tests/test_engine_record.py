"""The database is the record: a verified output is saved with its batch (and its sha256) and its items
as rows, by the batch's own worker; a run's prepared inputs are rows; aggregation, the batch page and
the exports read the database, and a host runs a batch with only its own scratch folder.

"Another host" here is another ``SCRATCH_DIR``: the host that creates a run, the hosts that run its
stages and the host that shows it each get their own, and each starts empty.
"""

import hashlib
import shutil
from datetime import date

import pytest

from runs import engine
from runs.models import Batch, BatchStatus, ItemResult, Run, RunFile, RunStatus
from runs.operations.learn import agents as A
from runs.scratch import output_file, run_scratch
from runs.summary import run_json

from .conftest import AS_OF

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def hosts(tmp_path, settings):
    """Switch this process to the scratch folder of host ``name``."""

    def be(name: str):
        settings.SCRATCH_DIR = tmp_path / "hosts" / name / "scratch"
        return settings.SCRATCH_DIR

    return be


def deliver_all(held_tasks: list[int]) -> None:
    """A worker takes every task there is, including those the driver enqueues as stages start."""
    while held_tasks:
        engine.execute_batch(held_tasks.pop(0))


def test_a_verified_output_and_its_items_are_the_record(docs_root, sync_tasks):
    run = engine.create_run(
        "audit-scan", {"docs_root": str(docs_root)}, model="local", agents=2, as_of=date.fromisoformat(AS_OF)
    )
    run = Run.objects.get(pk=run.pk)
    assert run.status == RunStatus.SUCCEEDED, run.error
    for batch in run.batches.all():
        text = output_file(batch).read_bytes().decode("utf-8")
        assert batch.output == text
        assert batch.output_sha256 == hashlib.sha256(text.encode("utf-8")).hexdigest()
        assert batch.output_path == f"batch-{batch.index}.md", "relative to the run's scratch folder"
        keys = list(ItemResult.objects.filter(batch=batch).values_list("key", flat=True))
        assert sorted(keys) == sorted(batch.inputs), "each doc's row saved with its own batch"
    positions = list(run.items.values_list("key", flat=True))
    assert positions == run.manifest["items"], "rows in the run's gathered order"


def test_aggregation_the_batch_page_and_the_exports_need_no_scratch_file(docs_root, sync_tasks, client):
    run = engine.create_run(
        "audit-scan", {"docs_root": str(docs_root)}, model="local", agents=2, as_of=date.fromisoformat(AS_OF)
    )
    run = Run.objects.get(pk=run.pk)
    report, shown = run.report, run_json(run)
    exports = {fmt: client.get(f"/runs/{run.run_id}/export.{fmt}").content for fmt in ("md", "csv")}
    # Every file of the run gone (another host, or a lost disk), and the run back before aggregation.
    shutil.rmtree(run_scratch(run))
    Run.objects.filter(pk=run.pk).update(status=RunStatus.RUNNING, report="", finished_at=None)
    assert engine.advance(run.pk) == ["aggregated"]
    run = Run.objects.get(pk=run.pk)
    assert run.status == RunStatus.SUCCEEDED and run.report == report
    assert run_json(run)["items"] == shown["items"] and run_json(run)["tiers"] == shown["tiers"]
    for fmt, body in exports.items():
        assert client.get(f"/runs/{run.run_id}/export.{fmt}").content == body
    batch = run.batches.get(index=1)
    page = client.get(f"/runs/{run.run_id}/batches/1/").content.decode()
    first_line = batch.output.splitlines()[0]
    assert first_line in page and batch.output_sha256 in page


def test_learn_runs_its_stages_on_hosts_that_share_no_disk(tmp_path, hosts, held_tasks):
    from .learn_fixtures import TITLE, make_learn_repo

    made = make_learn_repo(tmp_path / "work")
    params = {"title": TITLE, "repo_root": str(made["repo"]), "sessions": [str(made["sessions"])]}
    creator = hosts("creator")
    run = Run.objects.get(pk=engine.create_run("learn", params, model="local").pk)
    # The prepared inputs are rows, and the creating host wrote nothing.
    prepared = set(RunFile.objects.filter(run=run).values_list("path", flat=True))
    assert {"diff.patch", "log.txt"} <= prepared and any(p.startswith("sessions/") for p in prepared)
    assert not (creator / run.run_id).exists()

    first = hosts("first")
    deliver_all([pk for pk in held_tasks if Batch.objects.get(pk=pk).stage == 1])
    held_tasks[:] = [pk for pk in held_tasks if Batch.objects.get(pk=pk).stage > 1]
    assert {b.status for b in run.batches.filter(stage=1)} == {BatchStatus.VERIFIED}
    gaps = run.batches.get(role=A.GAPS)
    assert gaps.status == BatchStatus.PENDING and held_tasks == [gaps.pk]

    second = hosts("second")  # it has never seen this run
    deliver_all(held_tasks)
    run = Run.objects.get(pk=run.pk)
    assert run.status == RunStatus.SUCCEEDED, run.error
    # The second host's agents read the first stage's outputs, written there from the database.
    for analysis in run.batches.filter(stage=1):
        assert (second / run.run_id / analysis.output_path).read_text() == analysis.output
        assert (first / run.run_id / analysis.output_path).is_file()
    assert not (second / run.run_id / "sessions").exists(), "a stage-1 input, not needed by later stages"
    assert run.report.startswith(f"# Documentation Plan: {TITLE}")
    plan = run.batches.get(role=A.PLAN)
    assert run.report.startswith(plan.output.rstrip()), "the report begins with the plan, from its row"
    assert run.items.filter(group="TRIPWIRE").count() == len(run_json(run)["tripwire_candidates"])


def test_each_batch_keeps_its_share_of_the_report_and_aggregation_merges_them(docs_root, sync_tasks):
    run = engine.create_run(
        "audit-scan", {"docs_root": str(docs_root)}, model="local", agents=3, as_of=date.fromisoformat(AS_OF)
    )
    run = Run.objects.get(pk=run.pk)
    assert run.status == RunStatus.SUCCEEDED, run.error
    for batch in run.batches.all():
        # Its docs, in report order (score descending, then path), as its own worker rendered them.
        docs = batch.report_part["docs"]
        assert sorted(path for _, path, _, _ in docs) == sorted(batch.inputs)
        assert [(-points, path) for points, path, _, _ in docs] == sorted((-p, k) for p, k, _, _ in docs)
    merged = run.report
    # A run whose batches were verified before they kept a share: the same report, from the item rows.
    run.batches.update(report_part={})
    Run.objects.filter(pk=run.pk).update(status=RunStatus.RUNNING, report="", finished_at=None)
    assert engine.advance(run.pk) == ["aggregated"]
    assert Run.objects.get(pk=run.pk).report == merged
