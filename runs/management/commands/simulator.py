"""``python manage.py simulator``: run the offline Messages API simulator in the foreground.

    python manage.py simulator --port 8765 --latency-ms 200 \
        --rule rate-limit:times=2,retry_after=3600 --rule empty-file:batch=2

Point the SDK at it with ANTHROPIC_BASE_URL=http://127.0.0.1:8765 and any non-empty ANTHROPIC_API_KEY.
Rules can also be changed while it runs: GET/POST/DELETE /_simulator/rules. It plays the real API's
quirks (an empty text block before some tool calls, Message Batch results out of request order) unless
started with --no-quirks. It also speaks the Message Batches API; a batch ends --batch-delay-ms after its
creation (its requests spread over that time), and batches live in its memory only.
"""

from __future__ import annotations

import argparse
import ipaddress
import logging
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from runs.simulator.faults import (
    ANSWER_ACTIONS,
    BATCH_ACTIONS,
    HTTP_FAULTS,
    MISBEHAVIOURS,
    REQUEST_ACTIONS,
    STREAM_ACTIONS,
    Rule,
    parse_rule,
)
from runs.simulator.message_batches import DEFAULT_DELAY_MS
from runs.simulator.server import make_server, server_url


def rule_argument(spec: str) -> Rule:
    """argparse type for --rule: `BEHAVIOUR[:key=value,...]`."""
    try:
        return parse_rule(spec)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def is_loopback(host: str) -> bool:
    if host.strip("[]").lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name other than localhost: it may resolve to anything


def _faults(actions: frozenset[str]) -> str:
    return ", ".join(name for name, fault in HTTP_FAULTS.items() if fault.action in actions)


class Command(BaseCommand):
    help = "Run erkweb's offline Messages API simulator (loopback only unless --allow-remote)."
    requires_system_checks: list[str] = []  # it needs neither the database nor the app's checks

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
        parser.add_argument("--port", type=int, default=8765, help="port to listen on (default 8765)")
        parser.add_argument(
            "--latency-ms",
            type=int,
            default=0,
            help="wait this long before answering every /v1/messages call",
        )
        parser.add_argument(
            "--batch-delay-ms",
            type=int,
            default=DEFAULT_DELAY_MS,
            help=f"a Message Batch ends this long after its creation (default {DEFAULT_DELAY_MS})",
        )
        parser.add_argument(
            "--rule",
            dest="rules",
            action="append",
            type=rule_argument,
            default=[],
            metavar="BEHAVIOUR[:key=value,...]",
            help=(
                "a fault rule, repeatable; keys: run, batch, model, times, latency_ms, retry_after "
                "(rate-limit), after_events (break-stream, stream-error). HTTP faults: "
                f"{_faults(REQUEST_ACTIONS)}. Stream faults (streamed requests only): "
                f"{_faults(STREAM_ACTIONS)}. Answer faults: {_faults(ANSWER_ACTIONS)}. "
                f"Message Batch faults (batch requests only): {_faults(BATCH_ACTIONS)}; in a batch, an "
                "HTTP fault ends that request errored. "
                f"Misbehaviours: {', '.join(MISBEHAVIOURS)}"
            ),
        )
        parser.add_argument(
            "--no-quirks",
            action="store_true",
            help="do not play the real API's quirks (an empty text block before some tool calls)",
        )
        parser.add_argument(
            "--allow-remote", action="store_true", help="allow a host that is not a loopback address"
        )

    def handle(self, *args: object, **options: Any) -> None:
        host, port, latency_ms = options["host"], options["port"], options["latency_ms"]
        if not is_loopback(host) and not options["allow_remote"]:
            raise CommandError(
                f"{host} is not a loopback address: the simulator accepts any API key, so it listens on "
                "loopback only. Pass --allow-remote to listen there anyway."
            )
        if latency_ms < 0:
            raise CommandError("--latency-ms must be 0 or more")
        batch_delay_ms = options["batch_delay_ms"]
        if batch_delay_ms < 0:
            raise CommandError("--batch-delay-ms must be 0 or more")
        try:
            server = make_server(
                host,
                port,
                latency_ms,
                options["rules"],
                quirks=not options["no_quirks"],
                batch_delay_ms=batch_delay_ms,
            )
        except OSError as exc:
            raise CommandError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None

        logger = logging.getLogger("runs.simulator")
        if options["verbosity"] >= 2:
            logger.setLevel(logging.DEBUG)
        url = server_url(server)
        quirks = "off" if options["no_quirks"] else "on"
        self.stdout.write(
            f"erkweb simulator listening on {url} (latency {latency_ms} ms, batch delay {batch_delay_ms} ms, "
            f"quirks {quirks})"
        )
        for rule in options["rules"]:
            self.stdout.write(f"  rule: {rule.to_dict()}")
        self.stdout.write(f"  use it with: ANTHROPIC_BASE_URL={url} ANTHROPIC_API_KEY=simulator")
        self.stdout.flush()
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            self.stdout.write("simulator stopped")
        finally:
            server.server_close()
