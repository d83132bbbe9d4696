"""``make bench``'s spend figures: what the three levers do to the bill on the bench corpus.

Every run here goes to a simulator of its own, started fresh for that run and without quirks, so that no
run reads a shared prompt another run left in the cache and two runs of one partition bill alike:

- live mode and batch mode with 5 agents, side by side, and the check that batch mode's bill is exactly
  half of its own usage priced at the standard rates (its cache writes being 1-hour ones), call by call,
  each rounded to $0.000001 as every call is;
- ``--agents auto`` and every fixed count from 1 to 20, each billed by a run, and the check that auto
  bills no more than the cheapest of them.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
FIXED_COUNTS = range(1, 21)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class FreshSimulator:
    """A simulator process of its own for one run, with an empty prompt cache and no quirks."""

    def __init__(self, latency_ms: int):
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.latency_ms = latency_ms

    def __enter__(self) -> FreshSimulator:
        from runs.claude.endpoint import simulator_health

        command = [sys.executable, str(ROOT / "manage.py"), "simulator", "--port", str(self.port)]
        command += ["--latency-ms", str(self.latency_ms), "--no-quirks"]
        self.proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while simulator_health(self.url) is None:
            if time.monotonic() > deadline:
                raise SystemExit("bench: a simulator did not start within 30 s")
            time.sleep(0.1)
        os.environ["ANTHROPIC_BASE_URL"] = self.url  # where the next run is created to go
        return self

    def __exit__(self, *exc: object) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)


def _run(docs_root: Path, model: str, latency_ms: int, wait: Callable[..., None], **options: Any) -> Any:
    from runs import engine
    from runs.models import Run

    with FreshSimulator(latency_ms):
        prepared = engine.prepare_run("audit-scan", {"docs_root": str(docs_root)}, model=model, **options)
        run = engine.launch(prepared)
        wait(lambda: Run.objects.get(pk=run.pk).is_finished, 900, f"the run {run.run_id} finishing")
    run = Run.objects.get(pk=run.pk)
    if run.status != "succeeded":
        raise SystemExit(f"bench: the run {run.run_id} ended {run.status}: {run.error}")
    return prepared, run


def half_of_normal(run: Any) -> tuple[Decimal, Decimal]:
    """(the run's usage at the standard rates, the sum of each call's half of it rounded as billed)."""
    from runs.claude.pricing import CENT_PRECISION
    from runs.models import TranscriptEntry

    prices = run.manifest["stage_models"]["1"]["prices"]
    normal, halves = Decimal(0), Decimal(0)
    for entry in TranscriptEntry.objects.filter(batch__run=run, role="assistant"):
        usage = {k: v for k, v in entry.content["usage"].items() if k != "service_tier"}
        # Unrounded: call_cost rounds each call, and the half is taken before that.
        exact = _exact(prices, usage)
        normal += exact
        halves += (exact / 2).quantize(CENT_PRECISION)
    return normal, halves


def _exact(prices: dict[str, Any], usage: dict[str, Any]) -> Decimal:
    from runs.claude.pricing import MILLION, long_prompt_multiplier, prompt_tokens

    rate = long_prompt_multiplier(prices, prompt_tokens(usage)) / MILLION
    writes, writes_1h = usage.get("cache_write_tokens", 0), usage.get("cache_write_1h_tokens", 0)
    return rate * (
        usage.get("input_tokens", 0) * Decimal(str(prices["input"]))
        + usage.get("output_tokens", 0) * Decimal(str(prices["output"]))
        + (writes - writes_1h) * Decimal(str(prices["cache_write_5m"]))
        + writes_1h * Decimal(str(prices["cache_write_1h"]))
        + usage.get("cache_read_tokens", 0) * Decimal(str(prices["cache_read"]))
    )


def spend_rows(docs_root: Path, model: str, latency_ms: int, wait: Callable[..., None]) -> tuple[list, bool]:
    """The rows to print, and whether both checks held."""
    from runs.estimate import preview_estimate

    rows: list[tuple[str, str]] = []
    _, live = _run(docs_root, model, latency_ms, wait, agents=5)
    prepared, batch = _run(docs_root, model, latency_ms, wait, agents=5, mode="batch")
    figure = preview_estimate(prepared, prepared.op.system_prompt(None, None))
    normal, halves = half_of_normal(batch)
    halved = batch.cost_usd == halves
    rows += [
        ("bill, live mode / batch mode (5 agents)", f"${live.cost_usd:.4f} / ${batch.cost_usd:.4f}"),
        (
            "offline estimate, live mode / batch mode",
            f"${figure.live_cost_usd:.4f} / ${figure.batch_cost_usd:.4f}",
        ),
        ("batch mode's usage at standard rates (1h writes)", f"${normal:.6f}"),
        (
            "batch bill == half of it, call by call",
            f"${batch.cost_usd:.6f} == ${halves:.6f}: {'yes' if halved else 'NO'}",
        ),
        ("message batches of the batch-mode run", str(batch.message_batches.count())),
    ]
    bills = {}
    for count in FIXED_COUNTS:
        _, run = _run(docs_root, model, latency_ms, wait, agents=count)
        bills[count] = run.cost_usd
    prepared, auto = _run(docs_root, model, latency_ms, wait, agents="auto")
    cheapest = min(bills.values())
    best = min(n for n, bill in bills.items() if bill == cheapest)
    held = auto.cost_usd <= cheapest
    rows.append(("bill by fixed agent count", ", ".join(f"{n}: ${bill:.4f}" for n, bill in bills.items())))
    rows.append(
        (
            f"--agents auto ({auto.manifest['agents']})",
            f"${auto.cost_usd:.4f}; cheapest fixed: {best} at ${cheapest:.4f}; auto <= min: "
            f"{'yes' if held else 'NO'}",
        )
    )
    return rows, halved and held
