"""Fault injection end to end: a real ``qcluster`` (and the simulator) SIGKILLed at a precise moment,
then a new cluster started: every run ends with the right result, every doc counted once, and the run's
tokens the sum over its batches.

The first cluster runs with ``ERKWEB_PAUSE_AT`` (runs/faults.py): the first process to reach that point
writes ``paused-at-<point>`` in the data folder and stops there, and the test kills the whole cluster the
moment the file appears. Heartbeats, sweeps and the aggregation lease are short here (settings from the
environment), so recovery takes seconds.
"""

import json
import os
import re
import shutil
import signal
import subprocess
import time
import urllib.request
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from .test_e2e import EXAMPLE_DOCS, MANAGE, erk, free_port, rows, start, wait_for_http

pytestmark = pytest.mark.e2e
AS_OF = "2026-11-28"


@pytest.fixture(scope="module")
def simulator(tmp_path_factory):
    """One simulator for the module (it keeps no state between runs); 200 ms a call, so that a batch
    takes long enough to be killed in the middle of."""
    port = free_port()
    folder = tmp_path_factory.mktemp("simulator")
    proc = start(["simulator", "--port", str(port), "--latency-ms", "200"], dict(os.environ), folder / "log")
    url = f"http://127.0.0.1:{port}"
    wait_for_http(url + "/_simulator/health")
    yield url
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=30)


@pytest.fixture
def env(tmp_path, simulator):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC_", "DJANGO_SETTINGS"))}
    env.update(
        ERKWEB_DATA_DIR=str(tmp_path / "data"),
        ERKWEB_SIMULATOR_URL=simulator,
        ERKWEB_WORKERS="4",
        ERKWEB_LOG_LEVEL="WARNING",
        PYTHONUNBUFFERED="1",
        ERKWEB_BATCH_TIME_LIMIT="60",
    )
    # Short heartbeats, sweeps and leases, so that recovery takes seconds; ERKWEB_FAULTS_AT_DEFAULTS=1
    # keeps the defaults instead, to measure the figures README quotes.
    if not os.environ.get("ERKWEB_FAULTS_AT_DEFAULTS"):
        env.update(
            ERKWEB_HEARTBEAT_SECONDS="0.5",
            ERKWEB_WORKER_STALE="3",
            ERKWEB_SWEEP_SECONDS="0.5",
            ERKWEB_AGGREGATION_LEASE="3",
            ERKWEB_CLAIM_TIMEOUT="3",
        )
    subprocess.run([*MANAGE, "migrate", "--noinput"], env=env, check=True, capture_output=True)
    return env


class Clusters:
    """The clusters a test starts, each in its own process group (so one SIGKILL takes all of it)."""

    def __init__(self, env, folder: Path):
        self.env, self.folder, self.procs = env, folder, []

    def start(self, host: str | None = None, **extra) -> subprocess.Popen:
        """A cluster; with ``host``, as another host would run it (its own host name, in a UTS namespace
        of its own: the other clusters cannot look up its processes, only its heartbeats)."""
        log = (self.folder / f"qcluster-{len(self.procs) + 1}.log").open("w")
        command = [*MANAGE, "qcluster"]
        if host:
            command = ["unshare", "--uts", "sh", "-c", f'hostname {host} && exec "$@"', "sh", *command]
        proc = subprocess.Popen(
            command,
            env={**self.env, **extra},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.procs.append(proc)
        return proc

    def kill(self, proc) -> float:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        return time.monotonic()

    def stop(self):
        # Killed, not stopped: a stopping cluster waits out its workers' timeout, and nothing is left to
        # finish.
        for proc in self.procs:
            if proc.poll() is None:
                self.kill(proc)

    def logs(self) -> str:
        return "".join(path.read_text(errors="replace") for path in sorted(self.folder.glob("*.log")))


@pytest.fixture
def clusters(env, tmp_path):
    made = Clusters(env, tmp_path)
    yield made
    made.stop()
    assert "database is locked" not in made.logs()


def wait_for(what, predicate, timeout: float = 120, every: float = 0.05):
    deadline = time.monotonic() + timeout
    while not (found := predicate()):
        assert time.monotonic() < deadline, f"{what}: not within {timeout:.0f} s"
        time.sleep(every)
    return found


def wait_for_pause(env, point: str) -> int:
    marker = Path(env["ERKWEB_DATA_DIR"]) / f"paused-at-{point}"
    wait_for(f"a process pausing at {point}", marker.exists)
    return int(wait_for("its pid", lambda: marker.read_text().strip() or None))


def run_status(env, run_id: str) -> str:
    return rows(env, "SELECT status FROM runs_run WHERE run_id = ?", run_id)[0][0]


def wait_for_end(env, run_id: str, timeout: float = 180) -> dict:
    ended = ("succeeded", "failed", "cancelled")
    wait_for(f"{run_id} ending", lambda: run_status(env, run_id) in ended, timeout)
    code, out, err = erk(env, "show", run_id, "--json")
    assert code == 0, err
    return json.loads(out)


def launch(env, *args) -> str:
    code, out, err = erk(env, "run", *args)
    assert code == 0, err
    return out.strip().splitlines()[0]


def scan(env, *, agents: int = 4) -> str:
    return launch(
        env, "audit-scan", "--docs-root", str(EXAMPLE_DOCS), "--agents", str(agents), "--model", "haiku",
        "--as-of", AS_OF,
    )  # fmt: skip


def expected_signals() -> dict:
    """What the example docs hold, measured by erkweb's Python executor here, outside any cluster."""
    from runs.operations.audit_scan.batchfile import parse_batch
    from runs.operations.audit_scan.local import local_batch_text
    from runs.operations.audit_scan.operation import AuditScan

    plan = AuditScan().prepare({"docs_root": str(EXAMPLE_DOCS)}, agents=1, as_of=date.fromisoformat(AS_OF))
    docs_root, repo_root = Path(plan.params["docs_root"]), Path(plan.params["repo_root"])
    text = local_batch_text(plan.items, docs_root, repo_root)
    return {record["path"]: record for record in parse_batch(text, plan.items)}


def check_scan(data: dict) -> None:
    """The right result, every doc counted once, and the run's tokens the sum over its batches."""
    assert data["status"] == "succeeded", data["error"]
    expected = expected_signals()
    assert {path: item["signals"] for path, item in data["items"].items()} == expected
    inputs = [path for batch in data["batches"] for path in batch["inputs"]]
    assert sorted(inputs) == sorted(expected) and len(inputs) == len(set(inputs)) == data["scanned"]
    assert sum(data["tiers"].values()) == data["scanned"]
    check_tokens(data)


def check_tokens(data: dict) -> None:
    for kind in ("input", "output", "cache_write", "cache_read"):
        assert data["tokens"][kind] == sum(b[f"{kind}_tokens"] for b in data["batches"]), kind
    assert data["tokens"]["output"] > 0
    assert abs(data["cost_usd"] - sum(b["cost_usd"] for b in data["batches"])) < 1e-6


def taken_over_after(env, run_id: str, killed_at: float) -> float:
    """Seconds from the kill (wall clock) to the first claim of a second attempt (the database's UTC
    clock, on this same machine)."""
    claims = "SELECT MIN(b.started_at) FROM runs_batch b JOIN runs_run r ON r.id = b.run_id"
    claims += " WHERE r.run_id = ? AND b.attempts >= 2"
    [(started,)] = rows(env, claims, run_id)
    return datetime.fromisoformat(started).replace(tzinfo=UTC).timestamp() - killed_at


def test_killed_in_the_middle_of_a_batch(env, clusters):
    first = clusters.start(ERKWEB_PAUSE_AT="turn")
    run_id = scan(env)
    wait_for_pause(env, "turn")
    clusters.kill(first)
    killed_at = time.time()
    clusters.start()
    started_at = time.time()
    data = wait_for_end(env, run_id)
    check_scan(data)
    attempts = sorted(b["attempts"] for b in data["batches"])
    assert attempts[-1] == 2, "the batch whose worker was killed ran again"
    delay = taken_over_after(env, run_id, killed_at)
    print(f"[figures] same host: taken over {delay:.1f} s after the kill, the new cluster started at +"
          f"{started_at - killed_at:.1f} s")  # fmt: skip


@pytest.mark.skipif(not shutil.which("unshare") or os.geteuid() != 0, reason="needs unshare, as root")
def test_a_cluster_on_another_host_killed_in_the_middle_of_a_batch(env, clusters):
    """Its workers' processes cannot be looked up from this host: their batches are taken over once their
    heartbeats are older than ERKWEB_WORKER_STALE (3 s here)."""
    first = clusters.start(host="erkweb-other-host", ERKWEB_PAUSE_AT="turn")
    run_id = scan(env)
    wait_for_pause(env, "turn")
    workers = "SELECT DISTINCT host FROM runs_clusterheartbeat"
    assert rows(env, workers) == [("erkweb-other-host",)]
    clusters.kill(first)
    killed_at = time.time()
    clusters.start()
    data = wait_for_end(env, run_id)
    check_scan(data)
    delay = taken_over_after(env, run_id, killed_at)
    stale = float(env.get("ERKWEB_WORKER_STALE", 10))
    assert delay >= stale - 1, "not before its heartbeat went stale (it may have beaten just before)"
    print(f"[figures] another host: taken over {delay:.1f} s after the kill (stale after {stale:g} s)")


def test_killed_between_writing_a_file_and_verifying_it(env, clusters):
    first = clusters.start(ERKWEB_PAUSE_AT="written")
    run_id = scan(env)
    wait_for_pause(env, "written")
    clusters.kill(first)
    written = 'SELECT b."index" FROM runs_batch b JOIN runs_run r ON r.id = b.run_id'
    written += " WHERE r.run_id = ? AND b.status = 'written'"
    [(index,)] = rows(env, written, run_id)
    clusters.start()
    data = wait_for_end(env, run_id)
    check_scan(data)
    # Its file was on this host: the driver verified it, without running the batch again (the batches
    # that were mid-turn when the cluster died ran again).
    batch = data["batches"][index - 1]
    assert (batch["status"], batch["attempts"]) == ("verified", 1)


def test_killed_while_aggregating(env, clusters):
    first = clusters.start(ERKWEB_PAUSE_AT="aggregate")
    run_id = scan(env)
    wait_for_pause(env, "aggregate")
    assert run_status(env, run_id) == "aggregating"
    clusters.kill(first)
    killed_at = time.monotonic()
    clusters.start()
    data = wait_for_end(env, run_id)
    ended = time.monotonic() - killed_at
    print(f"[figures] aggregation taken over: the run ended {ended:.1f} s after the kill")
    check_scan(data)
    assert data["report_path"], "the new aggregator wrote the report's file"
    assert Path(data["report_path"]).read_text().startswith("# Doc Audit Scan Results")


def test_killed_while_enqueueing_the_next_stage(env, clusters, tmp_path):
    from .learn_fixtures import TITLE, make_learn_repo

    made = make_learn_repo(tmp_path / "work")
    first = clusters.start(ERKWEB_PAUSE_AT="enqueue")
    run_id = launch(
        env, "learn", "--title", TITLE, "--repo-root", str(made["repo"]), "--sessions", str(made["sessions"]),
        "--comments", str(made["comments"]), "--model", "haiku",
    )  # fmt: skip
    wait_for_pause(env, "enqueue")  # stage 1 done: its last batch is starting stage 2
    clusters.kill(first)
    # The transaction died with the process: stage 2 did not start, and no batch is pending without a task.
    stages = "SELECT b.stage, b.status FROM runs_batch b JOIN runs_run r ON r.id = b.run_id"
    stages += " WHERE r.run_id = ?"
    assert {(stage, status) for stage, status in rows(env, stages, run_id) if stage > 1} == {
        (2, "waiting"), (3, "waiting"), (4, "waiting")
    }  # fmt: skip
    assert rows(env, "SELECT current_stage FROM runs_run WHERE run_id = ?", run_id) == [(1,)]
    clusters.start()
    data = wait_for_end(env, run_id)
    assert data["status"] == "succeeded", data["error"]
    assert [s["status"] for s in data["stages"]] == ["verified"] * 4
    assert [b["attempts"] for b in data["batches"]] == [1] * len(data["batches"])
    check_tokens(data)


def slower(simulator: str, latency_ms: int) -> None:
    rules = [{"behaviour": "slow", "latency_ms": latency_ms}] if latency_ms else []
    request = urllib.request.Request(
        simulator + "/_simulator/rules",
        data=json.dumps({"rules": rules}).encode(),
        headers={"content-type": "application/json"},
        method="POST",
    )
    urllib.request.urlopen(request, timeout=10).close()


@pytest.fixture
def slow_simulator(simulator):
    yield simulator
    slower(simulator, latency_ms=0)


def test_twenty_agents_on_sqlite_through_three_kills(env, clusters, slow_simulator):
    """20 batches, 8 workers; the cluster SIGKILLed three times as the run goes: it ends succeeded,
    every doc once, and no process ever met "database is locked" (the ``clusters`` fixture reads every
    log)."""
    # Each kill can cost the batches it interrupts an attempt: four, so that three kills cannot spend a
    # batch's attempts (ERKWEB_BATCH_MAX_ATTEMPTS, 3 by default, is for a batch that kills its worker).
    env.update(
        ERKWEB_WORKERS="8",
        ERKWEB_HEARTBEAT_SECONDS="1",
        ERKWEB_WORKER_STALE="4",
        ERKWEB_BATCH_MAX_ATTEMPTS="4",
    )
    cluster = clusters.start()
    slower(slow_simulator, latency_ms=600)  # so that the run lasts through three kills and restarts
    t0 = time.monotonic()
    run_id = scan(env, agents=20)
    print(f"[timing] launched at {time.monotonic() - t0:.1f} s")
    verified = "SELECT COUNT(*) FROM runs_batch b JOIN runs_run r ON r.id = b.run_id"
    verified += " WHERE r.run_id = ? AND b.status = 'verified'"
    for kills in range(3):
        # Kill once more batches have been verified than at the last kill (so the run moves between).
        done = rows(env, verified, run_id)[0][0]
        wait_for("progress", lambda done=done: rows(env, verified, run_id)[0][0] > done)
        assert run_status(env, run_id) == "running", f"the run ended before kill {kills + 1}"
        clusters.kill(cluster)
        print(f"[timing] kill {kills + 1} at {time.monotonic() - t0:.1f} s, {done} verified before")
        cluster = clusters.start()
    data = wait_for_end(env, run_id)
    print(f"[timing] ended at {time.monotonic() - t0:.1f} s")
    check_scan(data)
    assert len(data["batches"]) == 20
    assert max(b["attempts"] for b in data["batches"]) >= 2, "some batch was killed and run again"
    assert not re.search(r"database is locked", clusters.logs())
