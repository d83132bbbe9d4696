#!/usr/bin/env python
"""``make bench-scale``: erkweb at scale, with figures.

- runs (bench/dispatch.py): audit-scan on haiku through a real cluster and the simulator (500 ms a call):
  200 docs x 5 agents ten times, 200 x 20 and 2,000 x 20 three times each: each run's overhead (wall / its
  longest agent) and its parts, medians with the spread; the tail (last file written -> run finished)
  at 200 and at 2,000 docs with 20 agents, and their ratio; learn's stage-to-stage gap (a stage's last
  batch verified -> the next stage's first batch claimed), three runs of four stages;
- pages (bench/history.py): the history at 10,000 runs of 60 items (seeded through the models): the
  first page, a filtered page, page 150 and the search fragment, in ms of server time (median of 15
  requests, min to max); the run page's poll with 100 batches.

Each part runs in a process of its own, on its own throw-away data folder (SQLite, as `make run`;
``--database-url`` runs the pages on another database, which it empties first: give it one of its own).
Ratios, and whether the goals are met, are the figures to quote: single times depend on how busy the
machine is.
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

PAGE_GOAL_MS = 150
POLL_GOAL_MS = 50
OVERHEAD_GOALS = {(200, 5): 1.05, (2000, 20): 1.08}


def setup_django(data_dir: Path, database_url: str | None) -> None:
    os.environ.pop("ANTHROPIC_API_KEY", None)
    os.environ.update(
        ERKWEB_DATA_DIR=str(data_dir), DJANGO_SETTINGS_MODULE="erkweb.settings", ERKWEB_LOG_LEVEL="WARNING"
    )
    if database_url:
        os.environ["DATABASE_URL"] = database_url
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    if database_url:  # a database of its own, emptied: the figures are for exactly the seeded history
        call_command("flush", interactive=False, verbosity=0)


def pages(args) -> list[tuple[str, str]]:
    import history

    began = time.monotonic()
    history.seed_history(args.runs, args.items)
    seeded = time.monotonic() - began
    rows = [("history seeded", f"{args.runs:,} runs x {args.items} items in {seeded:.0f} s")]
    worst = 0.0
    for what, (median, low, high, _body) in history.history_timings(args.runs):
        worst = max(worst, median)
        rows.append((f"  {what}", f"{median:6.1f} ms  ({low:.1f} to {high:.1f})"))
    rows.append(("  slowest page / goal", f"{worst:.1f} / {PAGE_GOAL_MS} ms: {_met(worst <= PAGE_GOAL_MS)}"))
    run = history.seed_polled_run(args.batches)
    median, low, high, body = history.poll_timing(run)
    assert "batch 1" in body.lower() or "batch-1" in body or f"/{run.run_id}/batches/1/" in body, (
        "the poll shows the batches"
    )
    rows.append((f"run page poll, {args.batches} batches", f"{median:6.1f} ms  ({low:.1f} to {high:.1f})"))
    rows.append(("  poll / goal", f"{median:.1f} / {POLL_GOAL_MS} ms: {_met(median <= POLL_GOAL_MS)}"))
    return rows


def _met(ok: bool) -> str:
    return "met" if ok else "NOT MET"


def runs(args) -> list[tuple[str, str]]:
    import dispatch

    work = Path(os.environ["ERKWEB_DATA_DIR"]).parent
    env = dict(os.environ, ERKWEB_WORKERS=str(max(agents for _, agents in args.shapes)))
    rows: list[tuple[str, str]] = []
    tails: dict[tuple[int, int], list[float]] = {}
    with dispatch.services(env, args.latency_ms):
        for (docs, agents), repeat in zip(args.shapes, args.repeats, strict=True):
            root = dispatch.corpus(work, docs)
            figures = [dispatch.measure(root, agents) for _ in range(repeat)]
            median = sorted(x.overhead for x in figures)[len(figures) // 2]
            goal = OVERHEAD_GOALS.get((docs, agents))
            verdict = f"  goal <= {goal}: {_met(median <= goal)}" if goal else ""
            rows.append((f"{docs} docs x {agents} agents, {repeat} run(s)", verdict.strip()))
            rows += dispatch.parts_rows(figures)
            tails[docs, agents] = [x.tail for x in figures]
        gaps = dispatch.stage_gaps(work)
        rows.append((f"learn, {len(gaps) // 3} run(s) of 4 stages", ""))
        rows.append(
            ("  a stage's last batch verified -> the next one's first claimed, s", dispatch.spread(gaps))
        )
    # The tail's growth with the docs alone: the fewest and the most docs among runs of as many agents.
    most_agents = max(agents for _, agents in tails)
    shapes = sorted(shape for shape in tails if shape[1] == most_agents)
    if len(shapes) > 1:
        few, many = shapes[0], shapes[-1]
        medians = {shape: dispatch.statistics.median(tails[shape]) for shape in (few, many)}
        rows.append(
            (
                f"tail at {many[0]:,} / at {few[0]:,} docs ({most_agents} agents)",
                f"{medians[many]:.3f} s / {medians[few]:.3f} s = {medians[many] / medians[few]:.2f}"
                "  (1.00: independent of the docs)",
            )
        )
    return rows


def _shape(text: str) -> tuple[int, int]:
    docs, _, agents = text.partition("x")
    return int(docs), int(agents)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=("runs", "pages"), help="one part only (default: both)")
    parser.add_argument("--runs", type=int, default=10_000, help="the seeded history's runs")
    parser.add_argument("--items", type=int, default=60)
    parser.add_argument("--batches", type=int, default=100, help="the polled run's batches")
    parser.add_argument("--database-url", help="time the pages on this database (it is emptied first)")
    parser.add_argument(
        "--shapes", type=_shape, nargs="+", default=[(200, 5), (200, 20), (2000, 20)], metavar="DOCSxAGENTS"
    )
    parser.add_argument("--repeats", type=int, nargs="+", default=[10, 3, 3], help="runs of each shape")
    parser.add_argument("--latency-ms", type=int, default=500)
    args = parser.parse_args()
    if not args.part:
        for part in ("runs", "pages"):
            code = subprocess.call([sys.executable, __file__, "--part", part, *sys.argv[1:]])
            if code:
                return code
        return 0

    work = Path(tempfile.mkdtemp(prefix="erkweb-bench-scale-"))
    if args.part == "runs":
        import dispatch

        os.environ.update(dispatch.simulator_env())
        # Gathering 2,000 docs on a busy 2-core machine can pass the 2 s a form allows it.
        os.environ.setdefault("ERKWEB_GATHER_MAX_SECONDS", "60")
    setup_django(work / "data", args.database_url if args.part == "pages" else None)
    from django.db import connection

    rows = pages(args) if args.part == "pages" else runs(args)
    width = max(len(k) for k, _ in rows)
    print(f"erkweb bench-scale: {args.part} on {connection.vendor}", flush=True)
    for key, value in rows:
        print(f"  {key:<{width}}  {value}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
