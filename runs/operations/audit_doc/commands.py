"""``erk apply RUN_ID [--doc PATH ...] [--json]`` and ``erk revert RUN_ID --doc PATH``: the same code as
the run page's buttons (applying.py). Exit 0 when everything asked for was applied (or reverted), 1 when
a doc was in conflict or could not be written (nothing was written for it) or the run has no verified
audit to apply, 2 for bad arguments."""

import argparse
import json
from typing import Any

from runs.errors import InputError

from ..presentation import Command, Output
from . import applying, history, history_json

EXIT_OK, EXIT_CONFLICT = 0, 1


def _apply_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run_id", help="an audit-doc run")
    parser.add_argument(
        "--doc",
        nargs="+",
        action="extend",  # --doc a --doc b is both, as --doc a b is
        metavar="PATH",
        default=[],
        help="only these docs (default: every verified one)",
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
    outcomes = applying.apply_run(run, options["doc"])
    if not outcomes:
        # Nothing asked for was applied, which is not success: a script that checks the exit code
        # must not take a run whose every audit failed for an applied one.
        message = applying.nothing_applied(run)
        if options["json"]:
            out.write(json.dumps({"docs": [], "exit": EXIT_CONFLICT, "message": message}, indent=2) + "\n")
        else:
            out.write(message + "\n")
        return EXIT_CONFLICT
    return _print(outcomes, options["json"], out)


def revert_command(options: dict[str, Any], out: Output) -> int:
    run = applying.audit_run(options["run_id"])
    return _print([applying.revert(run, options["doc"])], False, out)


def _history_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--docs-root", required=True, metavar="DIR", help="a docs root that was scanned")
    parser.add_argument("--doc", metavar="PATH", help="one doc's history (relative to the docs root)")
    parser.add_argument("--json", action="store_true", help="print it as one JSON object")


def history_command(options: dict[str, Any], out: Output) -> int:
    """What /docs/?root= (or, with --doc, /docs/history/) shows; exit 2 when nothing is known of it."""
    root = history.root_key(options["docs_root"])
    if options.get("doc"):
        found = history.doc_history(root, options["doc"])
        if not (found.scans or found.audits or found.edits):
            raise InputError(f"no scan, audit or applied edit of {options['doc']} in {root}")
        data, text = history_json.doc_json(found), history_json.doc_text(found)
    else:
        root_found = history.root_history(root)
        if not root_found.scans:
            raise InputError(f"no succeeded scan of the docs root {root}")
        data, text = history_json.root_json(root_found), history_json.root_text(root_found)
    out.write((json.dumps(data, indent=2) if options["json"] else text) + "\n")
    return EXIT_OK


COMMANDS = [
    Command("apply", "apply an audit-doc run's audits to their docs", _apply_arguments, apply_command),
    Command(
        "revert", "put back a doc an audit-doc run's audit was applied to", _revert_arguments, revert_command
    ),
    Command(
        "history", "a docs root's scans over time, or one doc's story", _history_arguments, history_command
    ),
]
