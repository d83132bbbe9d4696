"""A budget against parallel agents, through a real ``qcluster`` and the simulator as subprocesses and
``erk run --max-cost``: the agents do not see each other's turns in flight, so the run may end over its
budget, by no more than one turn per agent running (README: what a run costs)."""

import json
import re
import sqlite3
from decimal import Decimal
from pathlib import Path

import pytest

from runs.claude.pricing import call_cost

from .test_e2e import EXAMPLE_DOCS, app_env, erk, last_json, start, wait_for_http  # noqa: F401

pytestmark = pytest.mark.e2e
AGENTS = 5


@pytest.fixture
def slow_cluster(app_env, tmp_path):  # noqa: F811
    """Five workers, small answers (a turn's worst case is a small part of the run), 200 ms a call."""
    app_env["ERKWEB_AGENT_MAX_OUTPUT_TOKENS"] = "4096"
    procs = [
        start(["simulator", "--port", app_env["_PORT"], "--latency-ms", "200"], app_env, tmp_path / "s.log"),
        start(["qcluster"], app_env, tmp_path / "qcluster.log"),
    ]
    wait_for_http(app_env["ERKWEB_SIMULATOR_URL"] + "/_simulator/health")
    yield app_env
    for proc in procs:
        proc.terminate()
    for proc in procs:
        proc.wait(timeout=30)


def scan(env, *extra) -> tuple[int, str, str]:
    return erk(
        env,
        "run", "audit-scan", "--docs-root", str(EXAMPLE_DOCS), "--agents", str(AGENTS),
        "--model", "haiku", "--as-of", "2026-11-28", *extra,
    )  # fmt: skip


def turn_costs(env, run_id: str) -> dict[int, list[Decimal]]:
    """Every turn the run was billed, by batch, priced from its transcript's usage with the manifest's
    prices."""
    database = Path(env["ERKWEB_DATA_DIR"]) / "erkweb.sqlite3"
    with sqlite3.connect(database) as db:
        (manifest,) = db.execute("select manifest from runs_run where run_id = ?", (run_id,)).fetchone()
        rows = db.execute(
            "select b.id, e.content from runs_transcriptentry e join runs_batch b on e.batch_id = b.id "
            "join runs_run r on b.run_id = r.id where r.run_id = ? and e.role = 'assistant'",
            (run_id,),
        ).fetchall()
    prices = json.loads(manifest)["stage_models"]["1"]["prices"]
    costs: dict[int, list[Decimal]] = {}
    for batch, content in rows:
        costs.setdefault(batch, []).append(call_cost(prices, json.loads(content)["usage"]))
    return costs


def test_parallel_agents_go_over_the_budget_by_at_most_one_turn_each(slow_cluster):
    code, out, err = scan(slow_cluster, "--max-cost", "0.000001")
    assert code == 2 and out == ""
    found = re.search(r"the estimate of this run \(\$([0-9.]+)\) is over its budget \(\$0\.0000\)", err)
    assert found, err
    # Enough for the estimate (so the run is accepted), far from enough for every turn's worst case.
    budget = Decimal(found.group(1)) + Decimal("0.0001")

    code, out, err = scan(slow_cluster, "--max-cost", str(budget), "--wait", "--json")
    assert code == 1, (err, out[-3000:])
    data = last_json(out)
    assert data["status"] == "failed" and data["error"].startswith("budget reached: ")
    stopped = [b for b in data["batches"] if (b["reason"] or "").startswith("budget reached: ")]
    assert stopped
    costs = turn_costs(slow_cluster, data["run_id"])
    spent = Decimal(str(data["cost_usd"]))
    assert spent == sum(sum(turns) for turns in costs.values()) > 0
    # Over the budget by at most one turn of each agent that was running: its dearest.
    assert spent - budget <= sum(max(turns) for turns in costs.values()), (spent, budget, costs)

    code, out, err = erk(slow_cluster, "retry", data["run_id"], "--max-cost", "1", "--wait", "--json")
    assert code == 0, err
    assert last_json(out)["status"] == "succeeded"
