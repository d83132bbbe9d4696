"""Migrations: a database made before the glossary's renames keeps every value under the new names."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("runs", "0001_initial")]
AFTER = [("runs", "0002_glossary_names")]


@pytest.fixture
def migrator():
    executor = MigrationExecutor(connection)
    yield executor
    # Back to the newest schema, whatever migrations come after these, for the tests that follow.
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


@pytest.mark.django_db(transaction=True)
def test_renamed_fields_keep_their_data(migrator):
    executor = migrator
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps
    run = old.get_model("runs", "Run").objects.create(
        run_id="audit-scan-20261128-100000-abcd",
        operation="audit-scan",
        model="local",
        model_id="local",
        agents=1,
        inputs={"docs_root": "/docs", "as_of": "2026-11-28"},
        scratch_dir="/tmp/x",
    )
    batch = old.get_model("runs", "Batch").objects.create(
        run=run,
        index=1,
        label="gap-identifier",
        items=["a.md", "b.md"],
        output_path="/tmp/x/b1",
        model_id="local",
    )
    old.get_model("runs", "ItemResult").objects.create(
        run=run, batch=batch, key="a.md", position=0, score=4, tier="LOW", signals={"lines": 40}
    )

    executor = MigrationExecutor(connection)
    executor.migrate(AFTER)
    new = executor.loader.project_state(AFTER).apps
    run = new.get_model("runs", "Run").objects.get(run_id="audit-scan-20261128-100000-abcd")
    assert run.params == {"docs_root": "/docs", "as_of": "2026-11-28"}
    batch = new.get_model("runs", "Batch").objects.get(run=run)
    assert (batch.role, batch.inputs) == ("gap-identifier", ["a.md", "b.md"])
    item = new.get_model("runs", "ItemResult").objects.get(run=run)
    assert (item.group, item.data) == ("LOW", {"lines": 40})


@pytest.mark.django_db(transaction=True)
def test_a_transcript_becomes_rows_of_its_batchs_attempt(migrator):
    before, after = [("runs", "0005_heartbeats")], [("runs", "0006_transcript_entries")]
    executor = migrator
    executor.migrate(before)
    old = executor.loader.project_state(before).apps
    run = old.get_model("runs", "Run").objects.create(
        run_id="audit-scan-20261201-100000-abcd",
        operation="audit-scan",
        model="haiku",
        model_id="x",
        agents=1,
    )
    transcript = [
        {"role": "system", "text": "instructions"},
        {"role": "assistant", "content": [{"type": "text", "text": "done"}], "stop_reason": "end_turn"},
    ]
    old.get_model("runs", "Batch").objects.create(
        run=run, index=1, output_path="b1", model_id="x", attempts=2, transcript=transcript
    )

    executor = MigrationExecutor(connection)
    executor.migrate(after)
    new = executor.loader.project_state(after).apps
    rows = new.get_model("runs", "TranscriptEntry").objects.order_by("sequence")
    assert [(r.attempt, r.sequence, r.role, r.content) for r in rows] == [
        (2, 1, "system", {"text": "instructions"}),
        (2, 2, "assistant", {"content": [{"type": "text", "text": "done"}], "stop_reason": "end_turn"}),
    ]


@pytest.mark.django_db(transaction=True)
def test_a_run_of_before_gets_relative_paths_and_its_outputs_and_inputs_as_rows(migrator, tmp_path):
    before, after = [("runs", "0006_transcript_entries")], [("runs", "0007_database_is_the_record")]
    scratch = tmp_path / "scratch" / "learn-20261201-100000-abcd"
    (scratch / "learn-agents").mkdir(parents=True)
    (scratch / "learn-agents" / "gap-analysis.md").write_text("## Summary Statistics\n1\n")
    (scratch / "diff.patch").write_text("diff --git a/x b/x\n")
    executor = migrator
    executor.migrate(before)
    old = executor.loader.project_state(before).apps
    run = old.get_model("runs", "Run").objects.create(
        run_id=scratch.name,
        operation="learn",
        model="local",
        model_id="local",
        agents=2,
        scratch_dir=str(scratch),
    )
    Batch = old.get_model("runs", "Batch")
    Batch.objects.create(
        run=run, index=1, inputs=["diff.patch", "log.txt"], status="verified", model_id="local",
        output_path=str(scratch / "learn-agents" / "gap-analysis.md"),
    )  # fmt: skip
    Batch.objects.create(
        run=run, index=2, inputs=["learn-agents/gap-analysis.md"], status="failed", model_id="local",
        output_path=str(scratch / "learn-agents" / "learn-plan.md"),
    )  # fmt: skip

    executor = MigrationExecutor(connection)
    executor.migrate(after)
    new = executor.loader.project_state(after).apps
    gaps, plan = new.get_model("runs", "Batch").objects.order_by("index")
    assert (gaps.output_path, plan.output_path) == (
        "learn-agents/gap-analysis.md",
        "learn-agents/learn-plan.md",
    )
    assert gaps.output == "## Summary Statistics\n1\n" and plan.output == ""
    # sha256 of that text: printf '## Summary Statistics\n1\n' | sha256sum
    assert gaps.output_sha256 == "94edeec4770fdc3eb5afb85e305c9fceca6533a79fe125f0e025161e40fc218b"
    files = new.get_model("runs", "RunFile").objects.all()
    # log.txt was not in the folder any more: only what is there is kept.
    assert [(f.path, f.content) for f in files] == [("diff.patch", "diff --git a/x b/x\n")]


@pytest.mark.django_db(transaction=True)
def test_the_history_listing_is_filled_in_for_runs_made_before_it(migrator):
    before, after = [("runs", "0008_budgets")], [("runs", "0009_history_listing")]
    executor = migrator
    executor.migrate(before)
    old = executor.loader.project_state(before).apps
    run = old.get_model("runs", "Run").objects.create(
        run_id="learn-20261128-100000-abcd",
        operation="learn",
        status="succeeded",
        model="local",
        model_id="local",
        agents=1,
        params={"repo_root": "/srv/Project-Alpha", "title": "Faster cache", "as_of": "2026-11-28"},
    )
    batch = old.get_model("runs", "Batch").objects.create(
        run=run, index=1, role="r", inputs=[], model_id="local"
    )
    for n, group in enumerate(("HIGH", "HIGH", "LOW")):
        old.get_model("runs", "ItemResult").objects.create(
            run=run, batch=batch, key=f"k{n}", position=n, score=1, group=group
        )

    executor = MigrationExecutor(connection)
    executor.migrate(after)
    new = executor.loader.project_state(after).apps
    run = new.get_model("runs", "Run").objects.get(run_id="learn-20261128-100000-abcd")
    assert (run.item_count, run.group_counts) == (3, {"HIGH": 2, "LOW": 1})
    terms = set(new.get_model("runs", "RunSearchTerm").objects.filter(run=run).values_list("term", flat=True))
    # Every word start of the run id, the repository and the title, lowercased; as_of is not searched.
    assert {"learn-20261128-100000-abcd", "abcd", "/srv/project-alpha", "project-alpha", "alpha"} <= terms
    assert {"faster cache", "cache"} <= terms and not any(t.startswith("2026-11-28") for t in terms)
