"""``python manage.py up``: the whole app in one command, stopped cleanly by Ctrl-C.

Starts, in this order, the Messages API simulator (only when no ANTHROPIC_API_KEY, no
ANTHROPIC_AUTH_TOKEN and no ANTHROPIC_BASE_URL are set), a django-q2 worker cluster (``qcluster``) and
the web server on 127.0.0.1. Children run in their own sessions, so Ctrl-C reaches only this process,
which then stops them in reverse order and waits for them: no orphaned workers keep running batches
afterwards.

``--host`` is handed to the children as ERKWEB_HOST, so a web server told to listen off loopback
(``--host 0.0.0.0``) puts every page behind a login (erkweb/loopback.py).
"""

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from urllib.parse import urlparse

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from erkweb.loopback import is_loopback, login_required_for
from runs.claude.endpoint import simulator_health, simulator_is_default
from runs.cluster import wait_for_cluster

MANAGE = [sys.executable, str(settings.BASE_DIR / "manage.py")]


class Command(BaseCommand):
    help = "Run erkweb: web server, workers, and the simulator when no API key is set."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--host", default=settings.ERKWEB_HOST, help="off loopback, every page needs a login"
        )
        parser.add_argument("--port", type=int, default=settings.ERKWEB_PORT)
        parser.add_argument("--no-simulator", action="store_true", help="never start the simulator")
        parser.add_argument(
            "--simulator-rule",
            action="append",
            default=[],
            metavar="RULE",
            help="a fault rule for the simulator, e.g. miscount:model=haiku (see `simulator --help`)",
        )

    def handle(
        self,
        *args: object,
        host: str,
        port: int,
        no_simulator: bool,
        simulator_rule: list[str],
        **options: object,
    ) -> None:
        call_command("migrate", interactive=False, verbosity=0)
        # The children's settings decide from ERKWEB_HOST whether pages need a login: tell them where
        # the web server really listens.
        self.env = {**os.environ, "ERKWEB_HOST": host, "ERKWEB_PORT": str(port)}
        login = login_required_for(host)
        children: list[tuple[str, subprocess.Popen[bytes]]] = []
        stopping = False

        def stop(*_: object) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        try:
            with_simulator = self._needs_simulator(no_simulator)
            if with_simulator:
                url = urlparse(settings.ERKWEB_SIMULATOR_URL)
                rules = [arg for rule in simulator_rule for arg in ("--rule", rule)]
                simulator = self._spawn(
                    "simulator", "--host", url.hostname or "127.0.0.1", "--port", str(url.port or 80), *rules
                )
                children.append(("simulator", simulator))
                self._await(
                    lambda: simulator_health(settings.ERKWEB_SIMULATOR_URL) is not None, "simulator", children
                )
            children.append(("workers", self._spawn("qcluster")))
            self._await(lambda: wait_for_cluster(0.5), "worker cluster", children)
            children.append(("web", self._spawn("runserver", f"{host}:{port}", "--noreload", "--insecure")))
            self.stdout.write(
                f"\nerkweb is running at http://{host}:{port}/ with {settings.ERKWEB_WORKERS} workers"
                + (" and the offline simulator (no API key set)" if with_simulator else "")
                + (". Every page needs a login" if login else "")
                + ". Press Ctrl-C to stop.\n"
            )
            self._say_what_listening_off_loopback_needs(host, login)
            while not stopping:
                for name, proc in children:
                    if proc.poll() is not None:
                        raise CommandError(f"{name} exited with code {proc.returncode}; stopping")
                time.sleep(0.3)
        finally:
            self._stop_all(children)

    def _say_what_listening_off_loopback_needs(self, host: str, login: bool) -> None:
        if is_loopback(host):
            return
        if not login:
            self.stderr.write(
                f"ERKWEB_REQUIRE_LOGIN is off while listening on {host}: anyone who reaches this port "
                "can start runs and read every report."
            )
        elif not get_user_model().objects.exists():
            self.stdout.write(
                "Nobody can log in yet: create a login with `python manage.py createsuperuser`."
            )
        if not os.environ.get("ERKWEB_ALLOWED_HOSTS"):
            self.stdout.write(
                "Set ERKWEB_ALLOWED_HOSTS to the names this host is reached by (now only loopback's)."
            )

    def _needs_simulator(self, no_simulator: bool) -> bool:
        if no_simulator or not simulator_is_default():
            return False
        if simulator_health(settings.ERKWEB_SIMULATOR_URL) is not None:
            self.stdout.write(f"using the simulator already running at {settings.ERKWEB_SIMULATOR_URL}")
            return False
        return True

    def _spawn(self, *args: str) -> subprocess.Popen[bytes]:
        return subprocess.Popen([*MANAGE, *args], start_new_session=True, env=self.env)

    def _await(
        self,
        ready: Callable[[], object],
        name: str,
        children: list[tuple[str, subprocess.Popen[bytes]]],
        timeout: float = 30.0,
    ) -> None:
        deadline = time.monotonic() + timeout
        while not ready():
            for child_name, proc in children:
                if proc.poll() is not None:
                    raise CommandError(f"{child_name} exited with code {proc.returncode} while starting")
            if time.monotonic() > deadline:
                raise CommandError(f"the {name} did not start within {timeout:.0f} s")
            time.sleep(0.2)

    def _stop_all(self, children: list[tuple[str, subprocess.Popen[bytes]]]) -> None:
        for _name, proc in reversed(children):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 20
        for name, proc in reversed(children):
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.stderr.write(f"{name} did not stop in time; killing it")
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        if children:
            self.stdout.write("erkweb stopped.")
