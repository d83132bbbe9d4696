"""The loop against the strict simulator's rules (each rule cited in the simulator's own tests, from
Anthropic's documentation): what the real API does that a client must survive."""

import random
import time
from datetime import date
from decimal import Decimal

import anthropic
import pytest
from django.conf import settings

from runs import engine
from runs.budget import BudgetReached
from runs.claude import preflight
from runs.claude.agent import Limits, run_agent
from runs.claude.conversation import AgentFailed, Conversation
from runs.models import BatchStatus, Run, RunStatus
from runs.operations.audit_scan import prompts
from runs.operations.audit_scan.local import local_batch_text
from runs.operations.base import final_message
from runs.tools import Toolbox

from .agent_fixtures import RecordingHooks, audit_batch
from .conftest import AS_OF
from .test_erk_command import erk_cmd

LIMITS = Limits(max_turns=12, max_output_tokens=32_000, time_limit_s=60, max_retries=4)


@pytest.fixture
def batch(repo, tmp_path):
    return audit_batch(repo, tmp_path)


def run(sim, batch, *, limits=LIMITS, hooks=None, model="claude-haiku-5-5"):
    hooks = hooks or RecordingHooks()
    conversation = Conversation.start(
        model=model,
        max_tokens=limits.max_output_tokens,
        max_turns=limits.max_turns,
        system=prompts.SYSTEM_PROMPT,
        user_message=batch["message"],
        tools=batch["toolbox"].schemas,
        expected_final=final_message(str(batch["out"])),
    )
    outcome = run_agent(
        anthropic.Anthropic(api_key="test-key", base_url=sim.url, max_retries=0),
        conversation,
        batch["toolbox"],
        limits=limits,
        prices=settings.ERKWEB_MODEL_IDS.get(model, settings.ERKWEB_MODELS["haiku"]),
        hooks=hooks,
        rng=random.Random(11),
    )
    return outcome, hooks


def test_a_stream_broken_midway_is_billed_what_message_start_said_and_retried(simulator, batch):
    simulator.set_rules([{"behaviour": "break-stream", "times": 1}])
    outcome, hooks = run(simulator, batch)
    assert outcome.turns == 4 and batch["out"].read_text() == batch["expected"]
    [error] = hooks.entries("error")
    assert error["error_type"] == "broken_stream" and error["attempt"] == 1
    billed = error["usage"]
    assert billed["input_tokens"] + billed["cache_write_tokens"] + billed["cache_read_tokens"] > 1_000
    assert hooks.records[0][2] > 0, "the broken attempt's cost is recorded"


def test_an_error_event_inside_the_stream_is_retried(simulator, batch):
    simulator.set_rules([{"behaviour": "stream-error", "times": 1}])
    outcome, hooks = run(simulator, batch)
    assert outcome.turns == 4
    assert [e["error_type"] for e in hooks.entries("error")] == ["overloaded_error"]


def test_a_spend_limit_is_not_retried(simulator, batch):
    simulator.set_rules([{"behaviour": "spend-limit"}])
    hooks = RecordingHooks()
    started = time.monotonic()
    with pytest.raises(AgentFailed, match=r"^spend limit reached \(429 rate_limit_error\): "):
        run(simulator, batch, hooks=hooks)
    assert len(hooks.entries("error")) == 1 and time.monotonic() - started < 2


def test_pause_turn_is_resumed(simulator, batch):
    """https://platform.claude.com/docs/en/build-with-claude/handling-stop-reasons (pause_turn): the turn
    goes back as it is, last, to be continued; the continuation joins it as one assistant turn."""
    simulator.set_rules([{"behaviour": "pause-turn", "times": 1}])
    outcome, _ = run(simulator, batch)
    assert outcome.turns == 5 and batch["out"].read_text() == batch["expected"]


def test_a_turn_cut_at_the_context_window_fails_the_batch(simulator, batch):
    simulator.set_rules([{"behaviour": "context-exceeded", "times": 1}])
    with pytest.raises(AgentFailed, match="model_context_window_exceeded"):
        run(simulator, batch)


def test_empty_text_blocks_come_and_never_go_back(simulator, repo, tmp_path):
    """The simulator's quirk (on by default) gives about one tool-use answer in three an empty text block;
    it refuses any request that sends one back. Ten conversations meet it, and every one ends well."""
    seen_empty = 0
    docs = repo / "docs" / "learned"
    for n in range(10):
        out = tmp_path / f"batch-{n}.md"
        paths = ["arch/old.md", "arch/overview.md", "cli/flags.md"][: 1 + n % 3]
        batch = {
            "toolbox": Toolbox(read_root=docs, repo_root=repo, output_path=out),
            "message": prompts.batch_message(
                run_id=f"audit-scan-q{n}", index=n + 1, count=10, output_path=str(out), paths=paths
            ),
            "expected": local_batch_text(paths, docs, repo),
            "out": out,
        }
        outcome, hooks = run(simulator, batch)
        assert out.read_text() == batch["expected"] and outcome.turns in (3, 4)
        seen_empty += sum(
            1
            for entry in hooks.entries("assistant")
            for b in entry["content"]
            if b["type"] == "text" and not b["text"].strip()
        )
    assert seen_empty > 0


pytestmark_db = pytest.mark.django_db(transaction=True)


@pytestmark_db
def test_an_unknown_model_is_refused_by_the_preflight(proxy, monkeypatch, docs_root):
    """The Models API answers 404 not_found_error for an id it does not know
    (https://platform.claude.com/docs/en/api/models/retrieve)."""
    preflight.forget()
    proxy.state.hide_simulator = True
    monkeypatch.setenv("ANTHROPIC_BASE_URL", proxy.url)
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-good")
    monkeypatch.setitem(
        settings.ERKWEB_MODEL_IDS,
        "claude-imaginary-9",
        {"id": "claude-imaginary-9", "input": 1.0, "output": 5.0},
    )
    code, _, err = erk_cmd(
        "run", "audit-scan", "--docs-root", str(docs_root), "--model", "claude-imaginary-9"
    )
    assert code == 2 and err.count("\n") == 1
    assert f"the model id 'claude-imaginary-9' is not available at {proxy.url} (404 not_found_error" in err
    assert Run.objects.count() == 0
    preflight.forget()


@pytestmark_db
def test_a_batch_told_to_wait_longer_than_its_limit_fails_at_once_and_the_others_succeed(
    docs_root, sync_tasks, simulator, settings
):
    settings.ERKWEB_BATCH_TIME_LIMIT = 30
    simulator.set_rules([{"behaviour": "rate-limit", "batch": 2, "retry_after": 3600}])
    started = time.monotonic()
    run = engine.create_run(
        "audit-scan", {"docs_root": str(docs_root)}, model="haiku", agents=3, as_of=date.fromisoformat(AS_OF)
    )
    run = Run.objects.get(pk=run.pk)
    assert time.monotonic() - started < 30 + 5
    batches = {b.index: b for b in run.batches.all()}
    assert batches[1].status == batches[3].status == BatchStatus.VERIFIED
    assert batches[2].status == BatchStatus.FAILED
    assert batches[2].failure_reason.startswith(
        "rate limited (429 rate_limit_error): the API asked to wait 3600 s, more than the "
    ) and batches[2].failure_reason.endswith("s left of the batch's 30 s limit")
    assert run.status == RunStatus.FAILED and "batch 2: rate limited" in run.error
    # The failed attempt is in the batch's transcript, with its status and the wait asked.
    errors = [e.as_entry() for e in batches[2].transcript_entries.filter(role="error")]
    assert errors and errors[-1]["status"] == 429 and errors[-1]["error_type"] == "rate_limit_error"


# --- done when: haiku through the strict simulator matches local, doc for doc ------------------------
def _signals(run) -> dict:
    from runs.models import ItemResult

    return {item.key: (item.group, item.score, item.data) for item in ItemResult.objects.filter(run=run)}


def _same_as_local(docs_root, repo_root, agents):
    runs = {}
    for model in ("local", "haiku"):
        run = engine.create_run(
            "audit-scan",
            {"docs_root": str(docs_root), "repo_root": str(repo_root)},
            model=model,
            agents=agents,
            as_of=date.fromisoformat(AS_OF),
        )
        runs[model] = Run.objects.get(pk=run.pk)
        assert runs[model].status == RunStatus.SUCCEEDED, runs[model].error
    local, haiku = _signals(runs["local"]), _signals(runs["haiku"])
    assert set(haiku) == set(local) and len(local) == runs["local"].summary["scanned"]
    differing = [key for key in local if local[key] != haiku[key]]
    assert differing == []
    return runs, local


@pytestmark_db
def test_haiku_matches_local_on_the_example_docs_and_an_empty_doc(sync_tasks, simulator, tmp_path):
    import shutil

    repo = tmp_path / "examples"
    shutil.copytree(settings.BASE_DIR / "examples", repo)
    (repo / "docs" / "learned" / "empty.md").write_bytes(b"")
    runs, local = _same_as_local(repo / "docs" / "learned", repo, agents=5)
    assert local["empty.md"][2]["lines"] == 0
    # The strict simulator's quirk was met and survived: empty text blocks came, none went back.
    transcripts = [
        e.as_entry() for batch in runs["haiku"].batches.all() for e in batch.transcript_entries.all()
    ]
    assert any(
        block.get("type") == "text" and not block.get("text", "").strip()
        for entry in transcripts
        if entry["role"] == "assistant"
        for block in entry["content"]
    )


@pytestmark_db
def test_haiku_matches_local_on_a_generated_500_doc_corpus(sync_tasks, simulator, tmp_path):
    from bench.audit_scan import make_corpus

    make_corpus(tmp_path / "corpus", 500)
    _same_as_local(tmp_path / "corpus", tmp_path / "corpus", agents=12)


class BudgetHooks(RecordingHooks):
    """A budget as runs/budget.py keeps it (spent so far plus the next call's worst case must fit),
    set once the first attempt is billed: room for that attempt's worst case and its bill, not for a
    second attempt's worst case on top of it."""

    def __init__(self):
        super().__init__()
        self.checks, self.spent, self.limit = [], Decimal(0), None

    def before_turn(self, worst_case_cost):
        self.checks.append(worst_case_cost)
        if self.limit is not None and self.spent + worst_case_cost > self.limit:
            raise BudgetReached(f"budget reached: {self.spent} spent, next up to {worst_case_cost}")

    def record(self, entries, usage, cost):
        super().record(entries, usage, cost)
        self.spent += cost
        if self.limit is None and cost > 0:
            self.limit = self.checks[0] + cost / 2


def test_every_retry_of_a_turn_passes_the_budget_check_with_the_turns_worst_case(simulator, batch):
    simulator.set_rules([{"behaviour": "break-stream"}])  # every attempt breaks, each billed its prompt
    hooks = BudgetHooks()
    with pytest.raises(BudgetReached):
        run(simulator, batch, hooks=hooks)
    [error] = hooks.entries("error")  # the first broken attempt only: its retry was stopped before it went
    assert error["error_type"] == "broken_stream"
    assert hooks.spent == hooks.records[0][2] and hooks.spent <= hooks.limit
    assert hooks.checks[0] in hooks.checks[1:]  # the retry was checked against the turn's worst case
