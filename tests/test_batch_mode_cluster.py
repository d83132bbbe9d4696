"""Batch mode through a real ``qcluster`` and the simulator as subprocesses: nothing but the clusters'
sweep (every second here) advances the run, submitting each turn as a message batch, polling it and
applying its results; ``erk run --mode batch --wait --json`` as a user would."""

import json
import sqlite3
from pathlib import Path

import pytest

from .test_e2e import EXAMPLE_DOCS, app_env, cluster, erk, last_json  # noqa: F401

pytestmark = pytest.mark.e2e


def test_a_batch_mode_run_is_driven_by_the_sweep_alone(cluster):  # noqa: F811
    code, out, err = erk(
        cluster,
        "run", "audit-scan", "--docs-root", str(EXAMPLE_DOCS), "--agents", "3",
        "--model", "haiku", "--as-of", "2026-11-28", "--mode", "batch", "--wait", "--json",
    )  # fmt: skip
    assert code == 0, f"erk exited {code}: {err}\n{out[-2000:]}"
    data = last_json(out)
    assert data["status"] == "succeeded" and len(data["batches"]) == 3
    assert all(b["status"] == "verified" for b in data["batches"])
    with sqlite3.connect(Path(cluster["ERKWEB_DATA_DIR"]) / "erkweb.sqlite3") as db:
        (mode,) = db.execute("select mode from runs_run where run_id = ?", (data["run_id"],)).fetchone()
        rows = db.execute(
            "select m.requests, m.processing_status from runs_messagebatch m "
            "join runs_run r on m.run_id = r.id where r.run_id = ? order by m.id",
            (data["run_id"],),
        ).fetchall()
        tasks = db.execute("select count(*) from django_q_task where name like ?", (data["run_id"] + "%",))
        (task_count,) = tasks.fetchone()
    assert mode == "batch"
    # Every turn of the three agents went out together: one message batch a turn, three requests each.
    assert [len(json.loads(requests)) for requests, _ in rows] == [3] * len(rows) and len(rows) >= 4
    assert {status for _, status in rows} == {"ended"}
    assert task_count == 0, "no batch task held a worker"
