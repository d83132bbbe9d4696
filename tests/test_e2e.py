"""End to end: a real ``qcluster`` and the simulator as subprocesses, on a temporary database file,
driven through ``erk run --wait --json`` on the example docs tree, as a user would."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from runs.operations.audit_scan.batchfile import parse_batch

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_DOCS = ROOT / "examples" / "docs" / "learned"
MANAGE = [sys.executable, str(ROOT / "manage.py")]

pytestmark = pytest.mark.e2e


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def app_env(tmp_path):
    """Environment for subprocesses: their own data folder (database, scratch) and simulator URL."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC_", "DJANGO_SETTINGS"))}
    env.update(
        ERKWEB_DATA_DIR=str(tmp_path / "data"),
        ERKWEB_SIMULATOR_URL=f"http://127.0.0.1:{port}",
        ERKWEB_WORKERS="5",
        ERKWEB_LOG_LEVEL="WARNING",
        PYTHONUNBUFFERED="1",
        # Fast heartbeats and sweeps, so a dead worker is known (and a live cluster seen) in seconds.
        ERKWEB_HEARTBEAT_SECONDS="0.5",
        ERKWEB_WORKER_STALE="3",
        ERKWEB_SWEEP_SECONDS="1",
    )
    subprocess.run([*MANAGE, "migrate", "--noinput"], env=env, check=True, capture_output=True)
    env["_PORT"] = str(port)
    return env


def start(args, env, log: Path) -> subprocess.Popen:
    return subprocess.Popen([*MANAGE, *args], env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)


def wait_for_http(url: str, timeout: float = 30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"{url} did not answer within {timeout} s")


@pytest.fixture
def cluster(app_env, tmp_path):
    """The simulator and a worker cluster, stopped (and checked stopped) afterwards."""
    procs = [
        start(["simulator", "--port", app_env["_PORT"]], app_env, tmp_path / "simulator.log"),
        start(["qcluster"], app_env, tmp_path / "qcluster.log"),
    ]
    wait_for_http(app_env["ERKWEB_SIMULATOR_URL"] + "/_simulator/health")
    yield app_env
    for proc in procs:
        proc.send_signal(signal.SIGTERM)
    for proc in procs:
        proc.wait(timeout=30)


def erk(env, *args, timeout=180) -> tuple[int, str, str]:
    done = subprocess.run([*MANAGE, "erk", *args], env=env, capture_output=True, text=True, timeout=timeout)
    return done.returncode, done.stdout, done.stderr


def last_json(stdout: str) -> dict:
    """What `erk ... --json` prints: one JSON object, nothing else."""
    return json.loads(stdout)


def scan(env, model: str) -> dict:
    code, out, err = erk(
        env,
        "run", "audit-scan", "--docs-root", str(EXAMPLE_DOCS), "--agents", "5",
        "--model", model, "--as-of", "2026-11-28", "--wait", "--json",
    )  # fmt: skip
    assert code == 0, f"erk exited {code}: {err}\n{out[-2000:]}"
    data = last_json(out)
    assert data["run_id"].startswith("audit-scan-")
    return data


def test_audit_scan_on_the_example_tree_through_the_cluster(cluster):
    haiku = scan(cluster, "haiku")
    local = scan(cluster, "local")

    for data in (haiku, local):
        assert data["status"] == "succeeded"
        assert data["skipped"] == 2, "the two auto-generated index files"
        assert data["excluded"] >= 1
        assert data["scanned"] == len(data["items"]) >= 40
        assert sum(data["tiers"].values()) == data["scanned"]
        assert len(data["batches"]) == 5
        seen = []
        for batch in data["batches"]:
            assert batch["status"] == "verified" and batch["reason"] is None
            text = Path(batch["output_path"]).read_text()
            records = parse_batch(text, batch["inputs"])
            assert sorted(r["path"] for r in records) == sorted(batch["inputs"])
            seen += batch["inputs"]
        assert sorted(seen) == sorted(data["items"])
        report = Path(data["report_path"]).read_text()
        assert report.startswith("# Doc Audit Scan Results")
        for heading in ("HIGH", "MODERATE", "LOW", "SKIP", "Stats"):
            assert heading in report

    assert haiku["model"] == "haiku" and haiku["simulator"] is True
    assert local["model"] == "local"
    # The simulated agents measured exactly what the Python executor measured.
    assert {p: i["signals"] for p, i in haiku["items"].items()} == {
        p: i["signals"] for p, i in local["items"].items()
    }
    assert any(i["signals"]["broken_paths"] > 0 for i in local["items"].values())
    assert any(i["signals"]["has_redirect"] for i in local["items"].values())

    # The same run read back with `erk show`.
    code, out, _ = erk(cluster, "show", haiku["run_id"], "--json")
    assert code == 0 and json.loads(out)["items"] == haiku["items"]


def test_a_failed_batch_is_named_and_retried_through_the_cluster(cluster):
    rule = {"behaviour": "missing-item", "batch": 3, "times": 1}
    request = urllib.request.Request(
        cluster["ERKWEB_SIMULATOR_URL"] + "/_simulator/rules",
        data=json.dumps({"rules": [rule]}).encode(),
        headers={"content-type": "application/json"},
        method="POST",
    )
    urllib.request.urlopen(request, timeout=5).close()
    code, out, _ = erk(
        cluster,
        "run", "audit-scan", "--docs-root", str(EXAMPLE_DOCS), "--agents", "5",
        "--model", "haiku", "--as-of", "2026-11-28", "--wait", "--json",
    )  # fmt: skip
    assert code == 1
    data = last_json(out)
    assert data["status"] == "failed"
    failed = [b for b in data["batches"] if b["status"] == "failed"]
    assert [b["index"] for b in failed] == [3] and failed[0]["reason"].startswith("missing: ")
    assert "batch 3: missing: " in data["error"]
    assert data["items"] == {}, "a failed run is not scored as if complete"

    code, out, _ = erk(cluster, "retry", data["run_id"], "--wait", "--json")
    assert code == 0
    retried = json.loads(out)
    assert retried["status"] == "succeeded" and len(retried["items"]) == data["scanned"]


def test_wait_with_no_cluster_exits_2_within_15_seconds(app_env):
    started = time.monotonic()
    code, out, err = erk(
        app_env,
        "run",
        "audit-scan",
        "--docs-root",
        str(EXAMPLE_DOCS),
        "--model",
        "local",
        "--wait",
        timeout=30,
    )
    assert code == 2 and time.monotonic() - started < 15
    assert "qcluster" in err and out == ""


def test_learn_through_the_cluster(cluster, tmp_path):
    from .learn_fixtures import TITLE, make_learn_repo

    made = make_learn_repo(tmp_path / "work")
    code, out, err = erk(
        cluster,
        "run", "learn", "--title", TITLE, "--repo-root", str(made["repo"]),
        "--sessions", str(made["sessions"]), "--comments", str(made["comments"]),
        "--model", "haiku", "--stage-model", "3=sonnet", "--wait", "--json",
    )  # fmt: skip
    assert code == 0, f"erk exited {code}: {err}\n{out[-2000:]}"
    data = last_json(out)
    assert data["status"] == "succeeded" and data["operation"] == "learn" and data["title"] == TITLE
    assert [s["stage"] for s in data["stages"]] == [1, 2, 3, 4]
    assert all(s["status"] == "verified" for s in data["stages"])
    assert (
        data["stages"][2]["model"] == "claude-sonnet-5-5" and data["stages"][0]["model"] == "claude-haiku-5-5"
    )
    assert len(data["batches"]) == 7 and all(b["status"] == "verified" for b in data["batches"])
    assert isinstance(data["tripwire_candidates"], list)
    for candidate in data["tripwire_candidates"]:
        assert candidate["action"] and candidate["warning"] and candidate["target_doc_path"]
    report = Path(data["report_path"]).read_text()
    assert report.startswith(f"# Documentation Plan: {TITLE}") and "## Preprocessing" in report


def rows(env, sql: str, *args) -> list[tuple]:
    """Read the subprocesses' database directly: far quicker than an ``erk show`` per poll."""
    import sqlite3
    from contextlib import closing

    with closing(sqlite3.connect(Path(env["ERKWEB_DATA_DIR"]) / "erkweb.sqlite3", timeout=30)) as db:
        return db.execute(sql, args).fetchall()
