"""`deploy/team`: erkweb laid out as a team runs it (README "Running it for a team"), on one machine.

gunicorn serves the pages with WhiteNoise serving the static files, one qcluster runs the batches, and
PostgreSQL (127.0.0.1:5432, user postgres, trust auth: as on the development and CI machines) holds
everything, in a database made for the test. With ERKWEB_REQUIRE_LOGIN on, every page and action needs
a login; a user made with `createsuperuser` logs in through the browser, starts a run and sees it
succeed; SIGTERM stops the whole layout. The login-required default that follows the bound host is
tested in tests/test_login.py (this test listens on loopback only and turns the setting on).
"""

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

from .browser import CHROMIUM, CHROMIUM_FLAGS, watch_csp

pytestmark = [pytest.mark.team, pytest.mark.browser]

ROOT = Path(__file__).resolve().parent.parent
SHOTS = ROOT / "test-output" / "screenshots"
PG = ("127.0.0.1", 5432)
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
PASSWORD = "a-long-test-password-for-the-team"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def listening(address) -> bool:
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(address) == 0


@pytest.fixture
def team_db():
    if not listening(PG):
        if os.environ.get("CI"):
            pytest.fail("CI needs PostgreSQL on 127.0.0.1:5432 for the team layout's test")
        pytest.skip("no PostgreSQL on 127.0.0.1:5432")
    import psycopg

    name = f"erkweb_team_{secrets.token_hex(4)}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield f"postgres://postgres@127.0.0.1:5432/{name}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def fetch(url: str, data: bytes | None = None, headers=None) -> tuple[int, dict, bytes]:
    opener = urllib.request.build_opener(NoRedirect)
    request = urllib.request.Request(url, data=data, headers=headers or {})
    try:
        with opener.open(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def wait_for(url: str, proc: subprocess.Popen, log: Path, timeout: float = 180):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"deploy/team exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.3)
    raise AssertionError(f"{url} did not answer within {timeout} s:\n{log.read_text()[-3000:]}")


def count_runs(database_url: str) -> int:
    import psycopg

    with psycopg.connect(database_url.replace("postgres://", "postgresql://")) as conn:
        return conn.execute("SELECT count(*) FROM runs_run").fetchone()[0]


def test_the_team_layout_needs_a_login_runs_a_run_and_stops_cleanly(tmp_path, team_db):
    SHOTS.mkdir(parents=True, exist_ok=True)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC_", "DJANGO_SETTINGS", "ERKWEB_"))
    }
    env.update(
        DATABASE_URL=team_db,
        ERKWEB_SECRET_KEY=secrets.token_urlsafe(40),
        ERKWEB_DATA_DIR=str(tmp_path / "data"),
        # Loopback only (nothing from elsewhere can reach a test), with the login a team gets off it.
        ERKWEB_HOST="127.0.0.1",
        ERKWEB_PORT=str(port),
        ERKWEB_REQUIRE_LOGIN="true",
        ERKWEB_WORKERS="2",
        ERKWEB_Q_NAME=f"erkweb-team-{secrets.token_hex(3)}",
        ERKWEB_LOG_LEVEL="WARNING",
    )
    log = tmp_path / "team.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [str(ROOT / "deploy" / "team")],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_for(base + "/login/", proc, log)
        assert "Starting gunicorn" in log.read_text()

        # Before anyone logs in: every page and action sends to the login page, and nothing is created.
        for path in ["/", "/runs/new/", "/compare/?a=x&b=y", "/runs/x/", "/runs/x/export.json"]:
            status, headers, _ = fetch(base + path)
            assert status == 302, path
            assert headers["Location"].startswith("/login/?next="), path
        for path in ["/admin/", "/admin/runs/run/"]:  # the admin's index sends to the admin's own login
            status, headers, _ = fetch(base + path)
            assert status == 302 and headers["Location"].endswith(f"login/?next={path}"), path
        status, _, _ = fetch(base + "/runs/new/", data=b"operation=audit-scan&model=local")
        assert status in (302, 403)
        assert count_runs(team_db) == 0
        # Served by WhiteNoise (gunicorn serves no files), and the CSP report endpoint needs no login.
        status, headers, body = fetch(base + "/static/erkweb.css")
        assert status == 200 and headers["Content-Type"].startswith("text/css") and b"--accent" in body
        report = json.dumps({"csp-report": {"effective-directive": "img-src", "blocked-uri": "data"}})
        status, _, body = fetch(
            base + "/csp-report/", report.encode(), {"Content-Type": "application/csp-report"}
        )
        assert (status, body) == (204, b"")

        subprocess.run(
            [sys.executable, str(ROOT / "manage.py"), "createsuperuser", "--noinput", "--username", "lead",
             "--email", "lead@example.invalid"],
            env={**env, "DJANGO_SUPERUSER_PASSWORD": PASSWORD}, check=True, capture_output=True,
        )  # fmt: skip

        violations: list[dict] = []
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            watch_csp(context, violations)
            page = context.new_page()
            page.goto(base + "/runs/new/")
            expect(page.locator("h1")).to_have_text("Log in")
            page.screenshot(path=str(SHOTS / "team-login.png"))
            page.fill("input[name=username]", "lead")
            page.fill("input[name=password]", "not the password")
            page.click("button:has-text('Log in')")
            expect(page.locator(".form-errors")).to_contain_text("correct username and password")
            page.fill("input[name=password]", PASSWORD)
            page.click("button:has-text('Log in')")
            expect(page.locator("h1")).to_have_text("New run")  # back where the user was going
            expect(page.locator("header .account")).to_contain_text("lead")
            page.screenshot(path=str(SHOTS / "team-new-run.png"))

            page.fill("input[name=docs_root]", str(ROOT / "examples" / "docs" / "learned"))
            page.fill("input[name=agents]", "3")
            page.select_option("select[name=model]", "local")
            page.click("button:has-text('Start run')")
            expect(page.locator("#run-status")).to_have_text("succeeded", timeout=60_000)
            expect(page.locator("table.batches tbody tr")).to_have_count(3)
            expect(page.locator("article.report")).to_contain_text("Doc Audit Scan Results")
            page.screenshot(path=str(SHOTS / "team-run.png"))

            page.goto(base + "/admin/runs/run/")  # the same login lets a superuser into the admin
            expect(page.locator("#result_list tbody tr")).to_have_count(1)

            page.goto(base + "/")
            page.click("header .account button:has-text('Log out')")
            expect(page.locator("h1")).to_have_text("Log in")
            page.goto(base + "/")
            expect(page.locator("h1")).to_have_text("Log in")
            browser.close()
        assert violations == []
        assert count_runs(team_db) == 1
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        try:
            code = proc.wait(timeout=45)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            raise
    assert code == 0, log.read_text()[-3000:]
    with pytest.raises(ProcessLookupError):
        os.killpg(proc.pid, 0)  # gunicorn, its workers and the cluster are all gone
    assert "Shutting down: Master" in log.read_text()
