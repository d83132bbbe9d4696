"""Several hosts with no shared disk: two ``qcluster`` processes, each with its own ``ERKWEB_DATA_DIR``, on
one PostgreSQL database (with django-q2's ORM broker, and with Redis as the broker), run audit-scan and
learn to success, each cluster running some of the batches; then the pages and the exports work from a
third data folder, the web host's.

On one machine every process could read every folder, which would prove nothing: each process runs in a
mount namespace of its own (``unshare --mount``) where the other hosts' data folders are covered by an
empty tmpfs, and in a UTS namespace of its own with its own host name (the name its workers claim with).
The docs and the learn repository are the checkout every host has; the data folders are the hosts' own.

PostgreSQL and Redis listen on 127.0.0.1 on the development and CI machines, and CI runs as root: with
``CI`` set, a missing one fails the test; elsewhere it is skipped, saying why.
"""

import json
import os
import secrets
import shlex
import signal
import subprocess
import urllib.request
from pathlib import Path

import pytest

from .test_e2e import EXAMPLE_DOCS, MANAGE, free_port, last_json, wait_for_http
from .test_scale_out import PG, REDIS, listening, missing

pytestmark = [pytest.mark.scale_out, pytest.mark.e2e]
HOSTS = ("host-a", "host-b", "web")
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


@pytest.fixture
def database():
    if not listening(PG):
        missing("PostgreSQL on 127.0.0.1:5432")
    import psycopg

    name = f"erkweb_hosts_{secrets.token_hex(4)}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield f"postgres://postgres@127.0.0.1:5432/{name}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class Hosts:
    """Three hosts on one machine: each process is started as one of them, seeing only its own folder."""

    def __init__(self, tmp_path: Path, env: dict):
        self.tmp_path, self.env, self.procs = tmp_path, env, []
        self.folders = {name: tmp_path / name for name in HOSTS}
        for folder in self.folders.values():
            folder.mkdir()

    def command(self, host: str, args: list[str]) -> list[str]:
        others = [folder for name, folder in self.folders.items() if name != host]
        hide = [f"mount -t tmpfs -o size=1m hidden {shlex.quote(str(folder))}" for folder in others]
        script = " && ".join([*hide, f"hostname {host}", 'exec "$@"'])
        return ["unshare", "--mount", "--uts", "--propagation", "private", "sh", "-c", script, "sh", *args]

    def env_of(self, host: str) -> dict:
        return {**self.env, "ERKWEB_DATA_DIR": str(self.folders[host] / "data")}

    def start(self, host: str, args: list[str]) -> subprocess.Popen:
        log = (self.tmp_path / f"{host}-{args[0]}.log").open("w")
        proc = subprocess.Popen(
            self.command(host, [*MANAGE, *args]), env=self.env_of(host), stdout=log, stderr=subprocess.STDOUT
        )
        self.procs.append(proc)
        return proc

    def run(self, host: str, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
        return subprocess.run(
            self.command(host, [*MANAGE, *args]),
            env=self.env_of(host), capture_output=True, text=True, timeout=timeout,
        )  # fmt: skip

    def stop(self) -> None:
        for proc in self.procs:
            proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()


@pytest.fixture(params=["orm", "redis"])
def hosts(request, tmp_path, database):
    if os.geteuid() != 0 or not Path("/usr/bin/unshare").exists():
        missing("root and unshare (each host in its own mount namespace)")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC_", "DJANGO_SETTINGS"))}
    port = free_port()
    env.update(
        DATABASE_URL=database,
        ERKWEB_SIMULATOR_URL=f"http://127.0.0.1:{port}",
        ERKWEB_SECRET_KEY=secrets.token_urlsafe(40),  # the same on every host
        # One worker a host: a cluster holds at most three tasks (one running, one queued, one in its
        # pusher's hand), so a stage of four or more batches is shared between the hosts.
        ERKWEB_WORKERS="1",
        ERKWEB_LOG_LEVEL="WARNING",
        ERKWEB_Q_NAME=f"erkweb-hosts-{secrets.token_hex(3)}",
        ERKWEB_HEARTBEAT_SECONDS="0.5",
        ERKWEB_WORKER_STALE="5",
        ERKWEB_SWEEP_SECONDS="1",
    )
    if request.param == "redis":
        if not listening(REDIS):
            missing("Redis on 127.0.0.1:6379")
        env["ERKWEB_REDIS_URL"] = "redis://127.0.0.1:6379/0"
    made = Hosts(tmp_path, env)
    done = made.run("web", "migrate", "--noinput")
    assert done.returncode == 0, done.stderr
    simulator = subprocess.Popen(
        [*MANAGE, "simulator", "--port", str(port), "--latency-ms", "150"],
        env=env, stdout=(tmp_path / "simulator.log").open("w"), stderr=subprocess.STDOUT,
    )  # fmt: skip
    wait_for_http(env["ERKWEB_SIMULATOR_URL"] + "/_simulator/health")
    for host in ("host-a", "host-b"):
        made.start(host, ["qcluster"])
    yield made
    made.stop()
    simulator.send_signal(signal.SIGTERM)
    simulator.wait(timeout=30)
    logs = "".join(p.read_text(errors="replace") for p in tmp_path.glob("*.log"))
    assert "Traceback" not in logs, logs[-4000:]


def sql(database: str, query: str, *args) -> list[tuple]:
    import psycopg

    with psycopg.connect(database.replace("postgres://", "postgresql://")) as conn:
        return conn.execute(query, args).fetchall()


def wait_for_both_clusters(database: str) -> None:
    import time

    deadline = time.monotonic() + 60
    while {row[0] for row in sql(database, "SELECT host FROM runs_clusterheartbeat")} != {"host-a", "host-b"}:
        assert time.monotonic() < deadline, "both clusters' workers did not report within 60 s"
        time.sleep(0.2)


def erk_json(hosts: Hosts, *args: str) -> dict:
    done = hosts.run("web", "erk", *args)
    assert done.returncode == 0, f"erk {args[0]} exited {done.returncode}: {done.stderr}\n{done.stdout}"
    return last_json(done.stdout)


def batch_hosts(database: str, run_id: str) -> dict[int, str]:
    rows = sql(
        database,
        "SELECT b.index, b.worker FROM runs_batch b JOIN runs_run r ON r.id = b.run_id WHERE r.run_id = %s",
        run_id,
    )
    return {index: worker.split(":")[0] for index, worker in rows}


def scratch_files(hosts: Hosts, host: str, run_id: str) -> set[str]:
    folder = hosts.folders[host] / "data" / "scratch" / run_id
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}


def get(url: str) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=30) as response:
        return response.status, response.read().decode()


def test_two_hosts_with_no_shared_disk_run_audit_scan_and_learn(hosts, database, tmp_path):
    from .learn_fixtures import TITLE, make_learn_repo

    wait_for_both_clusters(database)
    # Each process sees its own folder only: the other hosts' are empty where it looks.
    (hosts.folders["host-a"] / "mine").write_text("host-a's\n")
    look = f"import os; print(os.listdir({str(hosts.folders['host-a'])!r}))"
    seen = hosts.run("host-b", "shell", "-c", look)
    assert seen.returncode == 0 and seen.stdout.strip().splitlines()[-1] == "[]", seen.stdout + seen.stderr

    scan = erk_json(
        hosts, "run", "audit-scan", "--docs-root", str(EXAMPLE_DOCS), "--agents", "4", "--model", "haiku",
        "--as-of", "2026-11-28", "--wait", "--json",
    )  # fmt: skip
    assert scan["status"] == "succeeded", scan.get("error")
    assert len(scan["batches"]) == 4 and all(b["status"] == "verified" for b in scan["batches"])
    assert scan["scanned"] == len(scan["items"]) >= 40
    ran = batch_hosts(database, scan["run_id"])
    assert set(ran.values()) == {"host-a", "host-b"}, f"each cluster runs some batches: {ran}"
    for host in ("host-a", "host-b"):
        # A host holds the files of the batches it ran and no other's, besides the run's manifest (written
        # from the database for its agents) and the report, if it aggregated.
        mine = {f"batch-{i}.md" for i, h in ran.items() if h == host}
        assert scratch_files(hosts, host, scan["run_id"]) - {"report.md", "manifest.json"} == mine

    local = erk_json(
        hosts, "run", "audit-scan", "--docs-root", str(EXAMPLE_DOCS), "--agents", "4", "--model", "local",
        "--as-of", "2026-11-28", "--wait", "--json",
    )  # fmt: skip
    assert local["status"] == "succeeded" and local["items"].keys() == scan["items"].keys()

    made = make_learn_repo(tmp_path / "checkout")
    learn = erk_json(
        hosts, "run", "learn", "--title", TITLE, "--repo-root", str(made["repo"]),
        "--sessions", str(made["sessions"]), "--comments", str(made["comments"]), "--model", "haiku",
        "--wait", "--json",
    )  # fmt: skip
    assert learn["status"] == "succeeded", learn.get("error")
    assert len(learn["batches"]) == 7 and all(b["status"] == "verified" for b in learn["batches"])
    assert set(batch_hosts(database, learn["run_id"]).values()) == {"host-a", "host-b"}

    # The web host: its own data folder, no cluster; the pages and the exports from the database.
    port = free_port()
    web = hosts.start("web", ["runserver", "--noreload", f"127.0.0.1:{port}"])
    base = f"http://127.0.0.1:{port}"
    wait_for_http(base + "/")
    status, history = get(base + "/")
    assert status == 200 and scan["run_id"] in history and learn["run_id"] in history
    # The search on PostgreSQL (its index compares bytes, runs/models/search.py): a word of the run id.
    status, found = get(f"{base}/?q={scan['run_id'].split('-')[-1].upper()}")
    assert status == 200 and scan["run_id"] in found and learn["run_id"] not in found
    for data in (scan, learn):
        status, page = get(f"{base}/runs/{data['run_id']}/")
        assert status == 200 and "succeeded" in page
        for batch in data["batches"]:
            status, page = get(f"{base}/runs/{data['run_id']}/batches/{batch['index']}/")
            assert status == 200 and "Output written to" in page
        status, exported = get(f"{base}/runs/{data['run_id']}/export.md")
        assert status == 200 and exported.startswith("# ")
    status, compared = get(f"{base}/compare/?a={scan['run_id']}&b={local['run_id']}")
    assert status == 200 and scan["run_id"] in compared and local["run_id"] in compared
    assert "kappa" in compared  # the comparison, from both runs' item rows
    status, csv = get(f"{base}/runs/{scan['run_id']}/export.csv")
    assert status == 200 and len(csv.strip().splitlines()) == 1 + len(scan["items"])
    status, exported = get(f"{base}/runs/{scan['run_id']}/export.json")
    assert json.loads(exported)["items"] == scan["items"]
    assert scratch_files(hosts, "web", scan["run_id"]) == set(), "the web host needed no file of the run"
    web.terminate()
