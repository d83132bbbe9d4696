"""``python manage.py erk``: start, watch and inspect runs from the command line.

Exit codes: 0 the run succeeded (or the command did what it says), 1 the run failed or was cancelled,
2 bad input or no worker cluster; bad input is one line on stderr and creates nothing.
"""

import argparse
import json
import sys
import time
from datetime import date

from django.conf import settings
from django.core.management.base import BaseCommand

from runs import engine
from runs.budget import parse_budget
from runs.cluster import cluster_alive, wait_for_cluster
from runs.compare import CompareError, compare_runs, comparison_json, comparison_text
from runs.errors import InputError
from runs.export import EXPORT_FORMATS, export_run
from runs.models import Run
from runs.operations import get_operation, operation_names, operations
from runs.operations.presentation import LinesField, param_fields
from runs.summary import run_json, run_text

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
START_CLUSTER_HINT = "start one with `make run` (or `python manage.py qcluster`)"
# A running cluster's workers beat at least this often; one being started gets as long to show up.
CLUSTER_WAIT = min(10.0, settings.ERKWEB_WORKER_STALE)
BUDGET_HELP = (
    "the run's budget in US dollars: refused if its estimate is over it, stopped before a turn could "
    "cross it (default ERKWEB_DEFAULT_MAX_COST)"
)


class UsageError(Exception):
    pass


class Command(BaseCommand):
    help = "Start, watch and inspect erkweb runs."

    def add_arguments(self, parser):
        # The operations' own subcommands (erk apply, say), after the ones every run has.
        added = {cmd.name: cmd for op in operations() for cmd in op.presentation.commands()}
        names = ["run", "show", "retry", "cancel", "export", "compare", *added]
        sub = parser.add_subparsers(dest="action", required=True, metavar="{" + ",".join(names) + "}")

        run = sub.add_parser("run", help="start a run")
        run.add_argument("operation", help=f"one of: {', '.join(operation_names())}")
        # Each operation's params, as its presentation declares them for the new-run form.
        for entry in param_fields([(op.name, op.presentation.form_fields()) for op in operations()]):
            label = str(entry.field.label or entry.name.replace("_", " ")).lower()
            help_text = entry.help(prefixed=True)
            field = entry.field
            # extend: --doc a --doc b is both docs, as --doc a b is (the default store keeps only b).
            extra = (
                {"nargs": "+", "action": "extend", "metavar": field.metavar}
                if isinstance(field, LinesField)
                else {}
            )
            run.add_argument(
                f"--{entry.name.replace('_', '-')}",
                dest=entry.name,
                help=f"{label} ({help_text})" if help_text else label,
                **extra,
            )
        counted = [op.name for op in operations() if op.takes_agent_count]
        run.add_argument(
            "--agents",
            help=f"{', '.join(counted)}: number of batches, one agent each, or auto: the count that costs "
            "least (default 5)",
        )
        defaults = "; ".join(f"{op.name}: {op.default_model}" for op in operations())
        run.add_argument(
            "--model", help=f"local, haiku, sonnet, opus or a claude-... id (default {defaults})"
        )
        staged = "; ".join(f"{op.name}: 1-{op.stages}" for op in operations() if op.stages > 1)
        run.add_argument(
            "--stage-model",
            action="append",
            default=[],
            metavar="STAGE=M",
            help=f"a model for one stage ({staged})",
        )
        # The old name, so scripts written before the rename keep working; not shown in the help.
        run.add_argument("--tier-model", action="append", dest="stage_model", help=argparse.SUPPRESS)
        run.add_argument(
            "--as-of", help="the date age rules are measured from, YYYY-MM-DD (default: today, UTC)"
        )
        run.add_argument("--max-cost", metavar="USD", help=BUDGET_HELP)
        run.add_argument(
            "--mode",
            default="live",
            help="live (every turn streamed; the default) or batch (every turn a request of a Message Batch, "
            "at half price)",
        )
        run.add_argument(
            "--wait", action="store_true", help="wait for the run to end; exit 0 only if it succeeded"
        )
        run.add_argument(
            "--json",
            action="store_true",
            help="print the run as one JSON object alone (progress goes to stderr)",
        )

        show = sub.add_parser("show", help="print a run")
        show.add_argument("run_id")
        show.add_argument("--json", action="store_true")

        retry = sub.add_parser("retry", help="retry the failed batches of a failed run")
        retry.add_argument("run_id")
        retry.add_argument(
            "--max-cost", metavar="USD", help="a new budget for the run, spent so far included"
        )
        retry.add_argument("--wait", action="store_true")
        retry.add_argument("--json", action="store_true")

        cancel = sub.add_parser("cancel", help="cancel a run: pending batches never start")
        cancel.add_argument("run_id")

        export = sub.add_parser("export", help="print a run as markdown, JSON or CSV")
        export.add_argument("run_id")
        export.add_argument("--format", default="md", help=f"one of {', '.join(EXPORT_FORMATS)} (default md)")

        compare = sub.add_parser("compare", help="compare two runs of the same operation, item by item")
        compare.add_argument("a")
        compare.add_argument("b")
        compare.add_argument("--json", action="store_true")

        for cmd in added.values():
            cmd.add_arguments(sub.add_parser(cmd.name, help=cmd.help))

    def handle(self, *args, **options):
        added = {cmd.name: cmd for op in operations() for cmd in op.presentation.commands()}
        try:
            if options["action"] in added:
                code = added[options["action"]].handle(options, self.stdout)
            else:
                code = getattr(self, f"do_{options['action']}")(options)
        except (InputError, UsageError) as exc:
            self.stderr.write(f"erk: {exc}")
            code = EXIT_USAGE
        sys.exit(code)

    # --- actions ---------------------------------------------------------------------------------------
    def do_run(self, o) -> int:
        op = get_operation(o["operation"])
        every_param = {name for other in operations() for name in other.param_fields}
        given = {name: o[name] for name in every_param if o.get(name)}
        unknown = [name for name in given if name not in op.param_fields]
        if unknown:
            flags = ", ".join(f"--{name.replace('_', '-')}" for name in unknown)
            raise UsageError(f"{op.name} does not take {flags}")
        if o["agents"] is not None and not op.takes_agent_count:
            raise UsageError(f"{op.name} decides its own agents: leave out --agents")
        if o["stage_model"] and op.stages == 1:
            raise UsageError(f"{op.name} has one stage: use --model, not --stage-model")
        agents: int | str = 5
        if o["agents"] is not None:
            agents = (
                "auto" if o["agents"].strip().lower() == "auto" else _whole_number(o["agents"], "--agents")
            )
        as_of = _date(o["as_of"]) if o["as_of"] else None
        prepared = engine.prepare_run(
            op.name,
            given,
            model=o["model"],
            agents=agents,
            as_of=as_of,
            stage_models=_stage_models(o["stage_model"]),
            max_cost=parse_budget(o["max_cost"]),
            mode=o["mode"],
        )
        if o["wait"] and not wait_for_cluster(timeout=CLUSTER_WAIT):
            raise UsageError(
                f"no worker cluster is running, so the run would never start: {START_CLUSTER_HINT}"
            )
        run = engine.launch(prepared)
        if not o["json"]:  # with --json the output is the JSON object alone (it holds the run id)
            self.stdout.write(run.run_id)
        return self._finish(run, o)

    def do_show(self, o) -> int:
        run = _get_run(o["run_id"])
        self._print(run, o["json"])
        return EXIT_OK

    def do_retry(self, o) -> int:
        run = _get_run(o["run_id"])
        if o["wait"] and not wait_for_cluster(timeout=CLUSTER_WAIT):
            raise UsageError(f"no worker cluster is running: {START_CLUSTER_HINT}")
        retried = engine.retry_failed(run, parse_budget(o["max_cost"]))
        self.stderr.write(f"retrying batch{'es' if len(retried) > 1 else ''} {', '.join(map(str, retried))}")
        return self._finish(run, o)

    def do_cancel(self, o) -> int:
        run = _get_run(o["run_id"])
        if not engine.cancel_run(run):
            raise UsageError(
                f"run {run.run_id} is {run.status}; only a pending or running run can be cancelled"
            )
        self.stdout.write(f"cancelled {run.run_id}")
        return EXIT_OK

    def do_export(self, o) -> int:
        run = _get_run(o["run_id"])
        if o["format"] not in EXPORT_FORMATS:
            raise UsageError(f"--format must be one of {', '.join(EXPORT_FORMATS)}, not {o['format']!r}")
        self.stdout.write(export_run(run, o["format"]), ending="")
        return EXIT_OK

    def do_compare(self, o) -> int:
        try:
            comparison = compare_runs(o["a"], o["b"])
        except CompareError as exc:
            raise UsageError(str(exc)) from None
        if o["json"]:
            self.stdout.write(json.dumps(comparison_json(comparison), indent=2))
        else:
            self.stdout.write(comparison_text(comparison))
        return EXIT_OK

    # --- helpers ---------------------------------------------------------------------------------------
    def _finish(self, run: Run, o) -> int:
        if not o.get("wait"):
            if o["json"]:
                self._print(run, True)
            return EXIT_OK
        run = self._wait(run)
        self._print(run, o["json"])
        return EXIT_OK if run.status == "succeeded" else EXIT_FAILED

    def _wait(self, run: Run) -> Run:
        last_line = ""
        cluster_seen = time.monotonic()
        while True:
            run.refresh_from_db()
            batches = list(run.batches.values_list("status", flat=True))
            line = f"{run.status}: {batches.count('verified')}/{len(batches)} batches verified"
            if line != last_line:
                self.stderr.write(line)
                last_line = line
            if run.is_finished:
                return run
            if cluster_alive():
                cluster_seen = time.monotonic()
            elif time.monotonic() - cluster_seen > 15:
                self._print(run, False)
                raise UsageError(
                    f"the worker cluster stopped; {run.run_id} resumes once one runs: {START_CLUSTER_HINT}"
                )
            time.sleep(0.25)

    def _print(self, run: Run, as_json: bool):
        run.refresh_from_db()
        if as_json:
            self.stdout.write(json.dumps(run_json(run), indent=2))
        else:
            self.stdout.write(run_text(run))


def _get_run(run_id: str) -> Run:
    run = Run.objects.filter(run_id=run_id).first()
    if run is None:
        raise UsageError(f"no run {run_id!r}")
    return run


def _stage_models(specs: list[str]) -> dict[int, str]:
    models = {}
    for spec in specs:
        stage, sep, model = spec.partition("=")
        if not sep or not stage.strip().isdigit() or not model.strip():
            raise UsageError(f"--stage-model must look like STAGE=MODEL (e.g. 3=opus), not {spec!r}")
        models[int(stage)] = model.strip()
    return models


def _whole_number(raw: str, flag: str) -> int:
    try:
        value = int(raw)
    except (TypeError, ValueError):
        raise UsageError(f"{flag} must be a whole number >= 1 or auto, not {raw!r}") from None
    if value < 1:
        raise UsageError(f"{flag} must be a whole number >= 1 or auto, not {value}")
    return value


def _date(raw: str) -> date:
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise UsageError(f"--as-of must be a date YYYY-MM-DD, not {raw!r}") from None
