"""learn on the engine: four stages, each starting only once the stage before is verified.

Tasks run in-process (``sync_tasks``); the simulator plays the agents over real sockets.
"""

from pathlib import Path

import pytest

from runs import driver, engine
from runs.errors import InputError
from runs.models import BatchStatus, Run, RunStatus
from runs.operations.learn import agents as A
from runs.scratch import output_file, run_scratch

from .learn_fixtures import SESSION_ID, TITLE, make_learn_repo

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def learn_params(tmp_path):
    made = make_learn_repo(tmp_path)
    return {
        "title": TITLE,
        "repo_root": str(made["repo"]),
        "sessions": [str(made["sessions"])],
        "comments": str(made["comments"]),
    }


def start(params, *, model="local", **options) -> Run:
    run = engine.create_run("learn", params, model=model, **options)
    return Run.objects.get(pk=run.pk)


def by_kind(run) -> dict:
    return {b.role: b for b in run.batches.all()}


def test_local_learn_runs_the_four_stages_in_order(learn_params, sync_tasks):
    run = start(learn_params)
    assert run.status == RunStatus.SUCCEEDED, run.error
    batches = list(run.batches.order_by("index"))
    assert [(b.stage, b.role) for b in batches] == [
        (1, A.SESSION),
        (1, A.DIFF),
        (1, A.DOCS),
        (1, A.COMMENTS),
        (2, A.GAPS),
        (3, A.PLAN),
        (4, A.TRIPWIRES),
    ]
    for stage in (2, 3, 4):
        before = [b for b in batches if b.stage == stage - 1]
        for b in (b for b in batches if b.stage == stage):
            assert b.started_at >= max(x.finished_at for x in before), "a stage starts after the one before"
    scratch = run_scratch(run)
    assert (scratch / "sessions" / f"session-{SESSION_ID}-part1.xml").is_file()
    assert (scratch / "diff.patch").read_text().startswith("diff --git")
    assert (scratch / "learn-agents" / f"session-{SESSION_ID}-part1.md").is_file()
    report = run.report
    assert report.startswith(f"# Documentation Plan: {TITLE}")
    for heading in ("## Tripwire Candidates", "## Agents", "## Preprocessing"):
        assert heading in report
    # The warm-up session was dropped; the real one is in the figures.
    sessions = {s["session_id"]: s for s in run.summary["sessions"]}
    assert sessions[SESSION_ID]["chunks"] == 1 and any(s["warmup"] for s in sessions.values())
    assert run.params["hints"] == ["retry", "budget", "batch", "runner"]
    assert run.agents == 7 and run.manifest["stage_models"]["3"]["model_id"] == "local"


def test_learn_through_the_simulator(learn_params, sync_tasks, simulator):
    run = start(learn_params, model="haiku")
    assert run.status == RunStatus.SUCCEEDED, run.error
    kinds = by_kind(run)
    docs_check = kinds[A.DOCS]
    tools = [
        block["name"]
        for entry in docs_check.transcript_entries.filter(role="assistant")
        for block in entry.content["content"]
        if block["type"] == "tool_use"
    ]
    assert "search_docs" in tools and "write_file" in tools
    assert all(b.turns >= 3 and b.cost_usd > 0 for b in kinds.values())
    assert run.used_simulator


def test_a_failed_stage_1_agent_blocks_the_later_stages_until_retried(learn_params, sync_tasks, simulator):
    simulator.set_rules([{"behaviour": "empty-file", "batch": 2, "times": 1}])
    run = start(learn_params, model="haiku")
    assert run.status == RunStatus.FAILED
    kinds = by_kind(run)
    assert kinds[A.DIFF].status == BatchStatus.FAILED and kinds[A.DIFF].failure_reason == "empty file"
    assert "batch 2: empty file" in run.error
    for kind in (A.GAPS, A.PLAN, A.TRIPWIRES):
        assert kinds[kind].status == BatchStatus.WAITING and kinds[kind].started_at is None

    assert engine.retry_failed(run) == [2]
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED, run.error
    kinds = by_kind(run)
    assert kinds[A.GAPS].started_at >= kinds[A.DIFF].finished_at
    assert kinds[A.DIFF].attempts == 2 and kinds[A.SESSION].attempts == 1


def test_drift_in_the_tripwire_json_is_repaired_and_noted(learn_params, sync_tasks, simulator):
    simulator.set_rules([{"behaviour": "drift"}])
    run = start(learn_params, model="haiku")
    assert run.status == RunStatus.SUCCEEDED, run.error
    tripwires = by_kind(run)[A.TRIPWIRES]
    assert any(w.startswith("repaired drift: tripwire_candidates") for w in tripwires.protocol_warnings)
    text = output_file(tripwires).read_text()
    assert text == tripwires.output, "the repaired text is the record, and written back"
    assert '"candidates"' in text and "tripwire_candidates" not in text


def test_each_stage_can_have_its_own_model(learn_params, sync_tasks, simulator):
    run = start(learn_params, model="haiku", stage_models={3: "opus", 4: "local"})
    assert run.status == RunStatus.SUCCEEDED, run.error
    kinds = by_kind(run)
    assert kinds[A.SESSION].model_id == "claude-haiku-5-5"
    assert kinds[A.PLAN].model_id == "claude-opus-5-5"
    assert kinds[A.TRIPWIRES].model_id == "local" and kinds[A.TRIPWIRES].turns == 0
    assert run.manifest["stage_models"]["3"]["model_id"] == "claude-opus-5-5"
    with pytest.raises(InputError, match="stages 1 to 4"):
        engine.prepare_run("learn", learn_params, model="local", stage_models={5: "opus"})


def test_cancel_stops_the_later_stages(learn_params, sync_tasks, monkeypatch):
    real_start_stage = driver.start_stage

    def cancel_then_start(run, stage):
        # The user cancels just as stage 1 ends.
        if stage == 2:
            engine.cancel_run(Run.objects.get(pk=run.pk))
        return real_start_stage(run, stage)

    monkeypatch.setattr(driver, "start_stage", cancel_then_start)
    run = start(learn_params)
    assert run.status == RunStatus.CANCELLED
    statuses = {b.stage: b.status for b in run.batches.all()}
    assert statuses[1] == BatchStatus.VERIFIED
    assert statuses[2] == statuses[3] == statuses[4] == BatchStatus.CANCELLED


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"title": "  "}, "title", "title"),
        ({"repo_root": "/nonexistent"}, "repo_root", "/nonexistent"),
        ({"range": "nope..HEAD"}, "range", "nope"),
        ({"range": "HEAD"}, "range", "BASE..HEAD"),
        ({"sessions": ["/nonexistent/sessions"]}, "sessions", "/nonexistent/sessions"),
        ({"comments": "/nonexistent/comments.json"}, "comments", "does not exist"),
    ],
)
def test_bad_learn_params_are_clear_errors_and_create_nothing(learn_params, change, field, message):
    with pytest.raises(InputError, match=message) as error:
        engine.create_run("learn", {**learn_params, **change}, model="local")
    assert error.value.field == field
    assert Run.objects.count() == 0


def test_not_a_git_repository(learn_params, tmp_path):
    (tmp_path / "plain").mkdir()
    with pytest.raises(InputError) as error:
        engine.create_run("learn", {**learn_params, "repo_root": str(tmp_path / "plain")}, model="local")
    assert error.value.field == "repo_root" and "git" in str(error.value)


def test_session_file_that_is_not_json_lines(learn_params, tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"type": "user"}\nnot json\n')
    with pytest.raises(InputError, match="line 2") as error:
        engine.create_run("learn", {**learn_params, "sessions": [str(bad)]}, model="local")
    assert error.value.field == "sessions"


def test_a_weaker_model_shows_in_a_learn_comparison(learn_params, sync_tasks, simulator):
    from runs.compare import compare_runs

    simulator.set_rules([{"behaviour": "miscount", "model": "haiku"}])
    sonnet = start(learn_params, model="sonnet")
    haiku = start(learn_params, model="haiku")
    assert sonnet.status == haiku.status == RunStatus.SUCCEEDED
    c = compare_runs(sonnet.run_id, haiku.run_id)
    assert c.only_b and not c.only_a and c.matched and c.jaccard < 1
    assert [x["action"] for x in c.only_b] == ["Changing the retry settings without reading the runner docs"]
    assert c.items_a["HIGH"] and len(c.items_b["HIGH"]) == len(c.items_a["HIGH"]) - 1


def test_a_renamed_session_log_is_analysed_with_a_note(learn_params, tmp_path, sync_tasks):
    """issue 8 point 7: ``session-<id>.jsonl`` from the wild is that session, not a warm-up."""
    folder = Path(learn_params["sessions"][0])
    original = folder / f"{SESSION_ID}.jsonl"
    # Every user and assistant line of the renamed file carries its session's id (the fixture's line of
    # another session goes: with it, the lines would name two sessions and neither could be chosen).
    lines = [line for line in original.read_text().splitlines() if '"other-session"' not in line]
    (folder / f"session-{SESSION_ID}.jsonl").write_text("\n".join(lines) + "\n")
    original.unlink()
    run = start(learn_params)
    assert run.status == RunStatus.SUCCEEDED, run.error
    sessions = {s["session_id"]: s for s in run.summary["sessions"]}
    assert sessions[SESSION_ID]["chunks"] == 1 and not sessions[SESSION_ID]["warmup"]
    assert sessions[SESSION_ID]["note"] == f"renamed: session-{SESSION_ID}.jsonl holds session {SESSION_ID}"
    assert f"session-{SESSION_ID}.jsonl holds session {SESSION_ID}" in run.report
    assert (run_scratch(run) / "sessions" / f"session-{SESSION_ID}-part1.xml").is_file()


def test_no_session_left_names_each_file_and_why(learn_params, tmp_path):
    folder = tmp_path / "only-warm-ups"
    folder.mkdir()
    (folder / "w.jsonl").write_text(
        '{"type": "assistant", "sessionId": "w", "message": {"role": "assistant", "content": "ready"}}\n'
    )
    with pytest.raises(InputError) as info:
        start({**learn_params, "sessions": [str(folder)]})
    assert str(info.value) == f"no session is left to analyse: {folder / 'w.jsonl'}: no user text: a warm-up"
    assert info.value.field == "sessions" and not Run.objects.exists()
