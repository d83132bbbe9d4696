"""Login-free on loopback, every page behind Django's login anywhere else (issue 9 point 5).

ERKWEB_REQUIRE_LOGIN decides; unset, it follows the host the app is told to bind (ERKWEB_HOST, `up
--host`), never a request. The whole team layout (gunicorn, WhiteNoise, qcluster, PostgreSQL) with its
login is tested in tests/test_team.py.
"""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ImproperlyConfigured

from erkweb.loopback import is_loopback, login_required_for

ROOT = Path(__file__).resolve().parent.parent
LOGIN_MIDDLEWARE = "erkweb.login_required.LoginRequiredMiddleware"


@pytest.mark.parametrize("host", ["127.0.0.1", "127.8.9.10", "::1", "[::1]", "localhost", "LocalHost"])
def test_loopback_hosts(host):
    assert is_loopback(host)


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "[::]", "192.168.1.20", "10.0.0.1", "erkweb.internal"])
def test_hosts_others_can_reach(host):
    assert not is_loopback(host)


@pytest.mark.parametrize(
    ("host", "setting", "required"),
    [
        ("127.0.0.1", "", False),
        ("0.0.0.0", "", True),
        ("erkweb.internal", "", True),
        ("0.0.0.0", "false", False),  # explicit: say, behind a proxy that does its own login
        ("127.0.0.1", "true", True),
    ],
)
def test_the_setting_defaults_from_the_bound_host(monkeypatch, host, setting, required):
    monkeypatch.setenv("ERKWEB_REQUIRE_LOGIN", setting)
    assert login_required_for(host) is required


def test_a_bad_setting_is_one_clear_error(monkeypatch):
    monkeypatch.setenv("ERKWEB_REQUIRE_LOGIN", "sometimes")
    with pytest.raises(
        ImproperlyConfigured, match="ERKWEB_REQUIRE_LOGIN must be true or false, not 'sometimes'"
    ):
        login_required_for("0.0.0.0")


def settings_seen_with(**env) -> str:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("ERKWEB_HOST")}
    clean.pop("ERKWEB_REQUIRE_LOGIN", None)
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from django.conf import settings as s; "
            f"print(s.ERKWEB_REQUIRE_LOGIN, {LOGIN_MIDDLEWARE!r} in s.MIDDLEWARE)",
        ],
        env={**clean, "DJANGO_SETTINGS_MODULE": "erkweb.settings", **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip()


def test_the_settings_put_the_pages_behind_a_login_off_loopback_only():
    assert settings_seen_with() == "False False"
    assert settings_seen_with(ERKWEB_HOST="0.0.0.0") == "True True"
    assert settings_seen_with(ERKWEB_HOST="0.0.0.0", ERKWEB_REQUIRE_LOGIN="no") == "False False"


# --- the pages with the login on ---------------------------------------------------------------------
@pytest.fixture
def login_on(settings):
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, LOGIN_MIDDLEWARE]


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/", "/runs/new/", "/runs/x/", "/runs/x/export.csv", "/compare/?a=x&b=y"])
def test_every_page_sends_to_the_login_page(client, login_on, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"] == "/login/?next=" + urllib.parse.quote(path, safe="/")


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/runs/x/cancel/", "/runs/x/retry/", "/runs/new/"])
def test_every_action_does_too(client, login_on, path):
    response = client.post(path, {"operation": "audit-scan"})
    assert response.status_code == 302 and response["Location"].startswith("/login/?next=")


@pytest.mark.django_db
def test_an_htmx_request_whose_session_ended_loads_the_login_page_whole(client, login_on):
    response = client.get(
        "/runs/x/",
        headers={"HX-Request": "true", "HX-Current-URL": "http://testserver/runs/x/?tab=batches"},
    )
    assert response.status_code == 200 and response.content == b""
    assert response["HX-Redirect"] == "/login/?next=/runs/x/%3Ftab%3Dbatches"


@pytest.mark.django_db
def test_the_login_page_and_the_csp_report_endpoint_need_no_login(client, login_on):
    page = client.get("/login/")
    assert page.status_code == 200 and 'name="username"' in page.content.decode()
    report = client.post("/csp-report/", data='{"csp-report": {}}', content_type="application/csp-report")
    assert report.status_code == 204


@pytest.mark.django_db
def test_logged_in_the_pages_answer_and_the_header_offers_log_out(client, login_on):
    user = get_user_model().objects.create_user("lead", password="a-long-test-password")
    response = client.post("/login/", {"username": "lead", "password": "a-long-test-password", "next": "/"})
    assert response.status_code == 302 and response["Location"] == "/"
    body = client.get("/").content.decode()
    assert '<span>lead</span> <button type="submit">Log out</button>' in body
    assert client.post("/logout/").status_code == 302
    assert client.get("/").status_code == 302
    assert user.is_active


@pytest.mark.django_db
def test_on_loopback_nothing_asks_for_a_login(client):
    assert client.get("/").status_code == 200
    assert "Log out" not in client.get("/").content.decode()


# --- `up --host 0.0.0.0` -----------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_up_told_to_listen_off_loopback_puts_every_page_behind_a_login(tmp_path):
    """Started as a user would (`manage.py up --host 0.0.0.0`); only 127.0.0.1 is ever connected to."""
    port = free_port()
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC_", "DJANGO_SETTINGS", "ERKWEB_"))
    }
    env.update(ERKWEB_DATA_DIR=str(tmp_path / "data"), ERKWEB_WORKERS="1", ERKWEB_LOG_LEVEL="WARNING")
    log = tmp_path / "up.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, str(ROOT / "manage.py"), "up", "--host", "0.0.0.0", "--port", str(port),
             "--no-simulator"],
            env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while "Press Ctrl-C" not in log.read_text():
            assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        opener = urllib.request.build_opener(NoRedirect)
        while True:  # the web server starts listening a moment after `up` says it runs
            try:
                opener.open(f"http://127.0.0.1:{port}/runs/new/", timeout=10)
            except urllib.error.HTTPError as redirect:
                assert redirect.code == 302
                assert redirect.headers["Location"] == "/login/?next=/runs/new/"
                break
            except urllib.error.URLError:
                assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
                time.sleep(0.2)
            else:
                raise AssertionError("/runs/new/ answered without a login")
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=40) == 0
    text = log.read_text()
    assert f"erkweb is running at http://0.0.0.0:{port}/ with 1 workers. Every page needs a login." in text
    assert "Nobody can log in yet: create a login with `python manage.py createsuperuser`." in text
    assert "Set ERKWEB_ALLOWED_HOSTS to the names this host is reached by" in text


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None
