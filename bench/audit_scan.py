#!/usr/bin/env python
"""``make bench``: audit-scan through a real worker cluster and the simulator, with figures.

It generates a corpus (200 docs by default), starts the simulator with a fixed per-call latency and a
``qcluster`` as subprocesses on a throw-away data folder, runs audit-scan with 5 agents, and prints:

- wall time of the run and the longest batch's agent time, and their ratio: the orchestration overhead
  (1.00 would mean the run took exactly as long as its slowest agent; the goal is <= 1.10);
- the delay from run creation to the first batch starting;
- verification + aggregation time (last batch written -> run finished);
- the token economy: billed input tokens (input + 1.25 x cache writes + 0.1 x cache reads) divided by
  the docs' own size in tokens (4 characters a token). 1.0 is the physical limit: every doc read once;
- the preflight estimate of the run's cost (runs/estimate.py, its tokens counted by the endpoint's
  count_tokens, as the new-run preview does with a key) beside the cost the run was billed, and their
  ratio (the goal: within 15%), with the offline estimate (3.5 characters a token) for comparison.

Then the spend figures (bench/spend.py, ``--no-spend`` leaves them out): live and batch mode's bills
side by side, batch mode's bill checked against half its usage at the standard rates, and
``--agents auto``'s bill next to every fixed count from 1 to 20; the bench fails when a check does not
hold.

Ratios are the figures to quote: single times depend on how busy the machine is.
"""

import argparse
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

WORDS = [
    "batch",
    "agent",
    "worker",
    "config",
    "cache",
    "runner",
    "scratch",
    "manifest",
    "verify",
    "report",
    "queue",
    "retry",
    "tier",
    "score",
    "signal",
    "path",
    "module",
    "fixture",
    "partition",
    "gather",
    "commit",
    "branch",
    "session",
    "plan",
    "diff",
    "doc",
]
CLAIMS = ("returns", "raises", "must", "always", "never", "will", "does")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_doc(rng: random.Random, n: int) -> str:
    """One doc in erk's style, about 1,800 tokens like the docs erk audits, with every kind of signal."""
    lines = ["---", f"title: Generated doc {n}", "read_when:", f"  - working on {rng.choice(WORDS)}s"]
    if rng.random() < 0.5:
        lines.append(f"last_audited: 2026-{rng.randint(1, 10):02d}-{rng.randint(1, 28):02d} 10:00 PT")
        lines.append(f"audit_result: {rng.choice(['clean', 'edited'])}")
    lines += ["---", "", f"# {rng.choice(WORDS).title()} {rng.choice(WORDS)}", ""]
    for _ in range(rng.randint(30, 60)):
        kind = rng.random()
        if kind < 0.25:
            lines += ["```python", f"from acme.{rng.choice(WORDS)} import run", "", "run()", "```", ""]
        elif kind < 0.45:
            lines += [f"{i}. Run `{rng.choice(WORDS)}_{rng.choice(WORDS)}` first." for i in range(1, 5)] + [
                ""
            ]
        elif kind < 0.6:
            ref = f"src/acme/{rng.choice(WORDS)}.py"
            lines += [f"See {ref}:{rng.randint(1, 300)} and `BatchRunner` before changing it.", ""]
        else:
            words = [rng.choice(WORDS) for _ in range(rng.randint(20, 60))]
            if rng.random() < 0.4:
                words.insert(3, rng.choice(CLAIMS))
            lines += [" ".join(words).capitalize() + ".", ""]
    return "\n".join(lines) + "\n"


def make_corpus(root: Path, count: int, seed: int = 7) -> int:
    rng = random.Random(seed)
    total = 0
    for n in range(count):
        path = root / f"area-{n % 6}" / f"doc-{n:03d}.md"
        path.parent.mkdir(parents=True, exist_ok=True)
        text = make_doc(rng, n)
        path.write_text(text)
        total += len(text)
    (root / "src" / "acme").mkdir(parents=True, exist_ok=True)
    for word in WORDS[::2]:
        (root / "src" / "acme" / f"{word}.py").write_text("x = 1\n")
    return total


def wait_until(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise SystemExit(f"bench: {what} did not happen within {timeout:.0f} s")
        time.sleep(0.1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=200)
    parser.add_argument("--agents", type=int, default=5)
    parser.add_argument("--latency-ms", type=int, default=500)
    parser.add_argument("--model", default="haiku")
    parser.add_argument("--no-spend", action="store_true", help="leave out the spend figures (23 more runs)")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="erkweb-bench-"))
    docs_root = work / "docs"
    doc_chars = make_corpus(docs_root, args.docs)
    port = free_port()
    sim_url = f"http://127.0.0.1:{port}"
    os.environ.pop("ANTHROPIC_API_KEY", None)
    os.environ.update(
        ERKWEB_DATA_DIR=str(work / "data"),
        ANTHROPIC_BASE_URL=sim_url,
        ERKWEB_SIMULATOR_URL=sim_url,
        DJANGO_SETTINGS_MODULE="erkweb.settings",
        ERKWEB_LOG_LEVEL="WARNING",
    )
    import django

    django.setup()
    from django.core.management import call_command

    from runs import engine
    from runs.claude.endpoint import make_client, simulator_health
    from runs.claude.preflight import TokenCounter
    from runs.cluster import cluster_alive
    from runs.estimate import estimate
    from runs.models import Run

    call_command("migrate", verbosity=0)
    manage = [sys.executable, str(ROOT / "manage.py")]
    commands = [
        [*manage, "simulator", "--port", str(port), "--latency-ms", str(args.latency_ms)],
        [*manage, "qcluster"],
    ]
    procs = [
        subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for command in commands
    ]
    try:
        wait_until(lambda: simulator_health(sim_url) is not None, 30, "the simulator starting")
        wait_until(cluster_alive, 30, "the worker cluster starting")
        prepared = engine.prepare_run(
            "audit-scan", {"docs_root": str(docs_root)}, model=args.model, agents=args.agents
        )
        run = engine.launch(prepared)
        wait_until(lambda: Run.objects.get(pk=run.pk).is_finished, 600, "the run finishing")
        run.refresh_from_db()
        # The estimate of the same plan, made after the run so that its count_tokens calls take nothing
        # from the run's timings (the preview makes it before; counting needs no cache, so it is the same).
        shared_prompt = prepared.op.system_prompt(None, None)
        assert prepared.endpoint is not None, "a Claude model has an endpoint"
        counter = TokenCounter(make_client(prepared.endpoint))
        counted = estimate(prepared.plan, prepared.executor_for, shared_prompt, counter=counter)
        offline = estimate(prepared.plan, prepared.executor_for, shared_prompt)
        spend: list[tuple[str, str]] = []
        spend_ok = True
        if not args.no_spend:
            from spend import spend_rows  # bench/spend.py, beside this script

            spend, spend_ok = spend_rows(docs_root, args.model, args.latency_ms, wait_until)
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=30)

    batches = list(run.batches.all())
    if run.status != "succeeded":
        print(f"bench: the run {run.run_id} ended {run.status}: {run.error}", file=sys.stderr)
        return 1
    # A succeeded run has every timestamp and every batch its agent time.
    finished = run.finished_at or run.created_at
    wall = (finished - run.created_at).total_seconds()
    longest = max(b.agent_seconds or 0.0 for b in batches)
    first_start = min(b.started_at or finished for b in batches)
    last_written = max(b.written_at or finished for b in batches)
    billed_input = sum(
        b.input_tokens + 1.25 * b.cache_write_tokens + 0.1 * b.cache_read_tokens for b in batches
    )
    doc_tokens = doc_chars / 4
    scanned = run.summary["scanned"]

    rows = [
        ("docs scanned / agents / simulator latency", f"{scanned} / {len(batches)} / {args.latency_ms} ms"),
        ("turns per batch", ", ".join(str(b.turns) for b in batches)),
        ("wall time of the run", f"{wall:.2f} s"),
        ("longest batch agent time", f"{longest:.2f} s"),
        ("orchestration overhead (wall / longest batch)", f"{wall / longest:.3f}  (goal <= 1.10)"),
        ("run created -> first batch started", f"{(first_start - run.created_at).total_seconds():.3f} s"),
        ("verification + aggregation", f"{(finished - last_written).total_seconds():.3f} s"),
        ("docs' own size", f"{doc_tokens:,.0f} tokens ({doc_tokens / scanned:,.0f} per doc)"),
        ("billed input tokens", f"{billed_input:,.0f} ({billed_input / scanned:,.0f} per doc)"),
        (
            "token economy (billed input / docs' tokens)",
            f"{billed_input / doc_tokens:.3f}  (1.0 = each doc read once)",
        ),
        ("cost of the run (billed)", f"${run.cost_usd:.4f} ({run.model_id})"),
        ("estimate before the run (tokens counted)", f"${counted.cost_usd:.4f}"),
        ("estimate / billed", f"{float(counted.cost_usd) / float(run.cost_usd):.3f}  (goal 0.85 to 1.15)"),
        ("offline estimate (3.5 characters a token)", f"${offline.cost_usd:.4f}"),
    ]
    width = max(len(k) for k, _ in rows + spend)
    print(f"erkweb bench: audit-scan, run {run.run_id}")
    for key, value in rows:
        print(f"  {key:<{width}}  {value}")
    if spend:
        print("spend (each run on a fresh simulator without quirks):")
        for key, value in spend:
            print(f"  {key:<{width}}  {value}")
    return 0 if spend_ok else 1


if __name__ == "__main__":
    sys.exit(main())
