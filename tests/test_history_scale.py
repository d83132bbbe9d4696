"""The history stays fast as it grows: what it lists is stored on the run when it ends, a page reads no
blob and counts no item, the search and the filters are answered from indexes, and the model filter's
choices come without reading every run. (The timings at 10,000 runs are `make bench-scale`'s.)"""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test.utils import CaptureQueriesContext

from runs.models import Batch, ItemResult, Run, RunSearchTerm
from runs.models.search import query_range, terms_of
from runs.presenters import history_queryset, model_choices, model_choices_sql

from .factories import make_run

pytestmark = pytest.mark.django_db


def aggregating_run(groups: list[str]) -> Run:
    run = Run.objects.create(
        run_id="audit-scan-20261201-100000-0a0a",
        operation="audit-scan",
        status="aggregating",
        model="local",
        model_id="local",
        agents=1,
        params={"docs_root": "/srv/Acme/docs"},
    )
    batch = Batch.objects.create(run=run, index=1, output_path="batch-1.md", model_id="local")
    for n, group in enumerate(groups):
        ItemResult.objects.create(run=run, batch=batch, key=f"d{n}.md", position=n, group=group)
    return run


def test_succeeding_stores_the_items_and_their_groups_with_the_run():
    run = aggregating_run(["HIGH", "LOW", "HIGH"])
    assert run.take_lease("me", 60)
    assert run.succeed(owner="me", report="# report\n")
    stored = Run.objects.get(pk=run.pk)
    assert (stored.item_count, stored.group_counts) == (3, {"HIGH": 2, "LOW": 1})
    # A failed run reopened for a retry lists nothing until it succeeds again.
    Run.objects.filter(pk=run.pk).update(status="failed")
    assert stored.reopen_for_retry()
    assert (stored.item_count, stored.group_counts) == (0, {})


def test_a_page_reads_no_blob_and_counts_no_item(client, tmp_path):
    for _ in range(3):
        make_run(tmp_path, model="haiku", items={"a.md": {}, "b.md": {"lines": 250}})
    with CaptureQueriesContext(connection) as few:
        first = client.get("/").content.decode()
    for _ in range(20):
        make_run(tmp_path, model="sonnet", items={"a.md": {}})
    with CaptureQueriesContext(connection) as more:
        client.get("/")
    assert len(more) == len(few), "the queries of a page do not grow with its runs"
    sql = " ".join(q["sql"] for q in more.captured_queries)
    assert "runs_itemresult" not in sql
    for blob in ('"report"', '"manifest"', '"error"'):
        assert f'"runs_run".{blob}' not in sql
    # The rows still show what the runs stored, per the spec's score table: a.md (never audited: 3,
    # 40 lines, 1 code block, 2 path refs, 1 claim in 40 lines: nothing more) and b.md (3, and 250 lines:
    # 2) are both LOW (3 to 5).
    assert 'title="LOW">2</span>' in first and 'title="HIGH">0</span>' in first


def test_the_search_finds_word_starts_of_the_run_id_and_the_docs_folder(client, tmp_path):
    run = make_run(tmp_path / "Project-Alpha", run_id="audit-scan-20261128-101010-beef")
    other = make_run(tmp_path / "gamma", run_id="audit-scan-20261128-101011-cafe")

    def found(q: str) -> set[str]:
        body = client.get("/", {"q": q}).content.decode()
        return {r.run_id for r in (run, other) if r.run_id in body}

    assert found("beef") == {run.run_id}  # the last word of the run id
    assert found("audit-scan-20261128-101010") == {run.run_id}  # a run id's start, pasted
    assert found("ALPHA") == {run.run_id}  # any case, a word inside the folder's name
    assert found("project-alpha/doc") == {run.run_id}
    assert found(str(tmp_path / "gamma")) == {other.run_id}  # a folder whole
    assert found("pha") == set()  # the middle of a word is not a word start
    assert found("audit") == {run.run_id, other.run_id}


def test_terms_are_the_word_starts_of_each_text_to_its_end():
    assert terms_of(["/Srv/Acme-docs"]) == {"/srv/acme-docs", "srv/acme-docs", "acme-docs", "docs"}
    assert query_range("  Acme ") == ("acme", "acme\U0010ffff")
    assert query_range("   ") is None


def plan_of(queryset) -> str:
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
        return " | ".join(str(row[-1]) for row in cursor.fetchall())


@pytest.mark.skipif(connection.vendor != "sqlite", reason="reads SQLite's query plans")
def test_the_search_the_filters_and_the_order_are_read_from_indexes(tmp_path):
    make_run(tmp_path)
    search = plan_of(history_queryset({"q": "docs"}))
    # The terms from their index, by range; the runs they name by primary key (then sorted: only those).
    assert "USING INDEX runs_runsearchterm_term" in search and "(term>? AND term<?)" in search
    assert "SCAN" not in search
    for params, index in (
        ({}, "run_newest"),
        ({"status": "failed"}, "run_status_newest"),
        ({"operation": "learn"}, "run_operation_newest"),
        ({"model": "haiku"}, "run_model_newest"),
    ):
        plan = plan_of(history_queryset(params))
        assert index in plan and "TEMP B-TREE" not in plan, (params, plan)


def test_the_model_filter_lists_each_model_once(client, tmp_path):
    for model in ("sonnet", "haiku", "local", "haiku"):
        make_run(tmp_path, model=model)
    assert model_choices() == ["haiku", "local", "sonnet"]
    if connection.vendor == "sqlite":  # each step one lookup in the model index, never a scan of runs
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN QUERY PLAN {model_choices_sql()}")
            plan = [str(row[-1]) for row in cursor.fetchall()]
        looked_up = [step for step in plan if "runs_run" in step]
        assert looked_up and all("USING COVERING INDEX run_model_newest" in step for step in looked_up)
    body = client.get("/").content.decode()
    assert body.count('<option value="haiku"') == 1


@pytest.mark.django_db(transaction=True)
def test_the_migration_fills_the_listing_and_the_search_of_existing_runs():
    before, after = [("runs", "0008_budgets")], [("runs", "0009_history_listing")]
    executor = MigrationExecutor(connection)
    try:
        executor.migrate(before)
        old = executor.loader.project_state(before).apps
        OldRun = old.get_model("runs", "Run")
        done = OldRun.objects.create(
            run_id="audit-scan-20261201-090000-aaaa", operation="audit-scan", status="succeeded",
            model="local", model_id="local", agents=1, params={"docs_root": "/srv/Acme/docs"},
        )  # fmt: skip
        failed = OldRun.objects.create(
            run_id="audit-scan-20261201-090001-bbbb", operation="audit-scan", status="failed",
            model="local", model_id="local", agents=1, params={"docs_root": "/srv/other"},
        )  # fmt: skip
        for run in (done, failed):
            batch = old.get_model("runs", "Batch").objects.create(
                run=run, index=1, output_path="batch-1.md", model_id="local"
            )
            for n, group in enumerate(["HIGH", "SKIP", "SKIP"]):
                old.get_model("runs", "ItemResult").objects.create(
                    run=run, batch=batch, key=f"d{n}.md", position=n, group=group
                )
        executor = MigrationExecutor(connection)
        executor.migrate(after)
        new = executor.loader.project_state(after).apps
        runs = new.get_model("runs", "Run").objects
        assert (runs.get(pk=done.pk).item_count, runs.get(pk=done.pk).group_counts) == (
            3,
            {"HIGH": 1, "SKIP": 2},
        )
        assert (runs.get(pk=failed.pk).item_count, runs.get(pk=failed.pk).group_counts) == (0, {})
        terms = set(
            new.get_model("runs", "RunSearchTerm")
            .objects.filter(run_id=done.pk)
            .values_list("term", flat=True)
        )
        assert {"aaaa", "acme/docs", "/srv/acme/docs", "audit-scan-20261201-090000-aaaa"} <= terms
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
    assert RunSearchTerm.objects.filter(run__run_id=done.run_id).exists()
