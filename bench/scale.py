#!/usr/bin/env python
"""``make bench-scale``: erkweb at scale, with figures.

- the history at 10,000 runs of 60 items (seeded through the models, bench/history.py): the first page,
  a filtered page, page 150 and the search fragment, in ms of server time (median of 15 requests, with
  the spread, min to max); the run page's poll with 100 batches.

Each part runs on its own throw-away data folder (SQLite, as `make run`; ``--database-url`` runs the
pages on another database, which it empties first: give it one of its own). Ratios and the goals met
are the figures to quote: single times depend on how busy the machine is.
"""

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

PAGE_GOAL_MS = 150
POLL_GOAL_MS = 50


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

    if database_url:
        call_command("flush", interactive=False, verbosity=0)
    call_command("migrate", verbosity=0)


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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--items", type=int, default=60)
    parser.add_argument("--batches", type=int, default=100, help="the polled run's batches")
    parser.add_argument("--database-url", help="time the pages on this database (it is emptied first)")
    args = parser.parse_args()

    setup_django(Path(tempfile.mkdtemp(prefix="erkweb-bench-scale-")), args.database_url)
    from django.db import connection

    rows = pages(args)
    width = max(len(k) for k, _ in rows)
    print(f"erkweb bench-scale: pages on {connection.vendor}")
    for key, value in rows:
        print(f"  {key:<{width}}  {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
