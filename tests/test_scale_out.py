"""The scale-out configuration: PostgreSQL instead of SQLite (`DATABASE_URL`), with django-q2's ORM
broker on it, or Redis as the broker (`ERKWEB_REDIS_URL`). A real cluster and the simulator run as
subprocesses against a database made for the test, as in tests/test_e2e.py.

PostgreSQL (trust auth, user postgres) and Redis listen on 127.0.0.1 on the development and CI machines:
with ``CI`` set, a missing one fails these tests; elsewhere they are skipped, saying why. Several hosts,
each with its own data folder, are tests/test_scale_out_hosts.py's.
"""

import json
import os
import secrets
import signal
import socket

import pytest

from .test_e2e import EXAMPLE_DOCS, MANAGE, erk, free_port, last_json, start, wait_for_http

pytestmark = pytest.mark.scale_out

PG = ("127.0.0.1", 5432)
REDIS = ("127.0.0.1", 6379)


def listening(address) -> bool:
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(address) == 0


def missing(what: str) -> None:
    """CI has PostgreSQL and Redis: there a missing one is a failure, elsewhere a skip."""
    if os.environ.get("CI"):
        pytest.fail(f"CI needs {what} for the scale-out tests")
    pytest.skip(f"no {what}")


@pytest.fixture
def pg_url():
    if not listening(PG):
        missing("PostgreSQL on 127.0.0.1:5432")
    import psycopg

    name = f"erkweb_test_{secrets.token_hex(4)}"
    admin = "postgresql://postgres@127.0.0.1:5432/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield f"postgres://postgres@127.0.0.1:5432/{name}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def scale_out_env(tmp_path, database_url: str, **extra) -> dict:
    import os
    import subprocess

    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC_", "DJANGO_SETTINGS"))}
    env.update(
        DATABASE_URL=database_url,
        ERKWEB_DATA_DIR=str(tmp_path / "data"),
        ERKWEB_SIMULATOR_URL=f"http://127.0.0.1:{port}",
        ERKWEB_WORKERS="5",
        ERKWEB_LOG_LEVEL="WARNING",
        # Its own cluster name: runs of other tests or sessions on the same Redis never meet this one.
        ERKWEB_Q_NAME=f"erkweb-test-{secrets.token_hex(3)}",
        **extra,
    )
    subprocess.run([*MANAGE, "migrate", "--noinput"], env=env, check=True, capture_output=True)
    env["_PORT"] = str(port)
    return env


def run_both_models(env, tmp_path) -> tuple[dict, dict]:
    procs = [
        start(["simulator", "--port", env["_PORT"]], env, tmp_path / "simulator.log"),
        start(["qcluster"], env, tmp_path / "qcluster.log"),
    ]
    try:
        wait_for_http(env["ERKWEB_SIMULATOR_URL"] + "/_simulator/health")
        results = []
        for model in ("haiku", "local"):
            code, out, err = erk(
                env,
                "run", "audit-scan", "--docs-root", str(EXAMPLE_DOCS), "--agents", "5",
                "--model", model, "--as-of", "2026-11-28", "--wait", "--json",
            )  # fmt: skip
            assert code == 0, f"erk exited {code}: {err}\n{out[-2000:]}"
            results.append(last_json(out))
        return results[0], results[1]
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            proc.wait(timeout=30)


def check(haiku: dict, local: dict):
    assert haiku["status"] == local["status"] == "succeeded"
    assert len(haiku["batches"]) == 5 and all(b["status"] == "verified" for b in haiku["batches"])
    assert haiku["scanned"] == len(haiku["items"]) >= 40
    assert {p: i["signals"] for p, i in haiku["items"].items()} == {
        p: i["signals"] for p, i in local["items"].items()
    }


def test_postgresql_with_the_orm_broker(tmp_path, pg_url):
    env = scale_out_env(tmp_path, pg_url)
    haiku, local = run_both_models(env, tmp_path)
    check(haiku, local)
    # The rows are in PostgreSQL, not in a SQLite file.
    assert not (tmp_path / "data" / "erkweb.sqlite3").exists()
    code, out, _ = erk(env, "show", haiku["run_id"], "--json")
    assert code == 0 and json.loads(out)["items"] == haiku["items"]


def test_redis_as_the_broker(tmp_path, pg_url):
    if not listening(REDIS):
        missing("Redis on 127.0.0.1:6379")
    env = scale_out_env(tmp_path, pg_url, ERKWEB_REDIS_URL="redis://127.0.0.1:6379/0")
    haiku, local = run_both_models(env, tmp_path)
    check(haiku, local)
