"""``erk apply RUN_ID [--doc PATH ...] [--json]`` and ``erk revert RUN_ID --doc PATH``: the same code as
the run page's buttons (applying.py). Exit 0 when everything asked for was applied (or reverted), 1 when
a doc was in conflict or could not be written (nothing was written for it), 2 for bad arguments."""

import argparse
import json
from typing import Any

from ..presentation import Command, Output
from . import applying

EXIT_OK, EXIT_CONFLICT = 0, 1


def _apply_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run_id", help="an audit-doc run")
    parser.add_argument(
        "--doc", nargs="+", metavar="PATH", default=[], help="only these docs (default: every verified one)"
    )
    parser.add_argument("--json", action="store_true", help="print the outcomes as one JSON object")


def _revert_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run_id", help="the audit-doc run whose applied audit to revert")
    parser.add_argument("--doc", required=True, metavar="PATH", help="the doc to put back")


def _print(outcomes: list[applying.Outcome], as_json: bool, out: Output) -> int:
    code = EXIT_OK if all(o.done for o in outcomes) else EXIT_CONFLICT
    if as_json:
        out.write(json.dumps({"docs": [o.data() for o in outcomes], "exit": code}, indent=2) + "\n")
    else:
        for outcome in outcomes:
            out.write(f"{outcome.status}: {outcome.message}\n")
    return code


def apply_command(options: dict[str, Any], out: Output) -> int:
    run = applying.audit_run(options["run_id"])
    return _print(applying.apply_run(run, options["doc"]), options["json"], out)


def revert_command(options: dict[str, Any], out: Output) -> int:
    run = applying.audit_run(options["run_id"])
    return _print([applying.revert(run, options["doc"])], False, out)


COMMANDS = [
    Command("apply", "apply an audit-doc run's audits to their docs", _apply_arguments, apply_command),
    Command(
        "revert", "put back a doc an audit-doc run's audit was applied to", _revert_arguments, revert_command
    ),
]
