"""``make bench-scale``'s runs: audit-scan through a real worker cluster and the simulator, timed in parts.

One simulator (a fixed latency per call) and one ``qcluster`` serve every run; each run's figures come
from its rows, timed by the database's clock: created -> first batch claimed (the dispatch), the claims'
spread, the longest agent (claim -> file written), and the tail: the last file written -> the run
finished (verification of that file, aggregation, the report), which should not grow with the docs.
"""

import contextlib
import importlib
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from audit_scan import free_port, make_corpus, wait_until

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class RunFigures:
    docs: int
    agents: int
    wall: float  # created -> finished
    longest: float  # the longest batch's agent time
    dispatch: float  # created -> first batch claimed
    claims_spread: float  # first claim -> last claim
    tail: float  # last file written -> run finished
    verify_last: float  # last file written -> its batch verified
    prepare: float  # gather and partition, before the run exists (not in wall)

    @property
    def overhead(self) -> float:
        return self.wall / self.longest


def simulator_env() -> dict[str, str]:
    """Where the simulator will listen, for the settings (set before Django starts) and the services."""
    url = f"http://127.0.0.1:{free_port()}"
    return {"ANTHROPIC_BASE_URL": url, "ERKWEB_SIMULATOR_URL": url}


@contextlib.contextmanager
def services(env: dict, latency_ms: int):
    """The simulator (at ``env``'s ERKWEB_SIMULATOR_URL) and a cluster as subprocesses, for as long as
    the block runs."""
    from runs.claude.endpoint import simulator_health
    from runs.cluster import cluster_alive

    manage = [sys.executable, str(ROOT / "manage.py")]
    url = env["ERKWEB_SIMULATOR_URL"]
    port = url.rsplit(":", 1)[1]
    commands = [
        [*manage, "simulator", "--port", str(port), "--latency-ms", str(latency_ms)],
        [*manage, "qcluster"],
    ]
    procs = [
        subprocess.Popen(c, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for c in commands
    ]
    try:
        wait_until(lambda: simulator_health(url) is not None, 30, "the simulator starting")
        wait_until(cluster_alive, 60, "the worker cluster starting")
        yield url
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=60)


def corpus(work: Path, docs: int) -> Path:
    root = work / f"docs-{docs}"
    if not root.exists():
        make_corpus(root, docs)
    return root


def measure(docs_root: Path, agents: int, model: str = "haiku") -> RunFigures:
    from runs import engine
    from runs.models import Run

    began = time.monotonic()
    prepared = engine.prepare_run("audit-scan", {"docs_root": str(docs_root)}, model=model, agents=agents)
    prepare = time.monotonic() - began
    run = engine.launch(prepared)
    wait_until(lambda: Run.objects.get(pk=run.pk).is_finished, 900, "the run finishing")
    run.refresh_from_db()
    if run.status != "succeeded":
        raise SystemExit(f"bench: the run {run.run_id} ended {run.status}: {run.error}")
    batches = list(run.batches.all())
    finished = run.finished_at
    assert finished is not None
    times = [(b.started_at, b.written_at, b.finished_at) for b in batches]
    assert all(started and written and ended for started, written, ended in times), "every batch ran"
    started = sorted(t[0] for t in times if t[0])
    last_written, last_ended = max((t[1], t[2]) for t in times if t[1] and t[2])

    def seconds(a: datetime, b: datetime) -> float:
        return (b - a).total_seconds()

    return RunFigures(
        docs=run.summary["scanned"],
        agents=len(batches),
        wall=seconds(run.created_at, finished),
        longest=max(b.agent_seconds or 0.0 for b in batches),
        dispatch=seconds(run.created_at, started[0]),
        claims_spread=seconds(started[0], started[-1]),
        tail=seconds(last_written, finished),
        verify_last=seconds(last_written, last_ended),
        prepare=prepare,
    )


def spread(values: list[float], fmt: str = ".3f") -> str:
    """The median, and min to max."""
    return f"{statistics.median(values):{fmt}}  ({min(values):{fmt}} to {max(values):{fmt}})"


def parts_rows(figures: list[RunFigures]) -> list[tuple[str, str]]:
    f = figures
    return [
        ("  orchestration overhead (wall / longest agent)", spread([x.overhead for x in f])),
        ("  wall time of the run, s", spread([x.wall for x in f], ".2f")),
        ("  longest batch agent time, s", spread([x.longest for x in f], ".2f")),
        ("  created -> first batch claimed, s", spread([x.dispatch for x in f])),
        ("  first claim -> last claim, s", spread([x.claims_spread for x in f])),
        ("  last file written -> run finished (tail), s", spread([x.tail for x in f])),
        ("    of which: that file verified, s", spread([x.verify_last for x in f])),
        ("  gather + partition, before the run exists, s", spread([x.prepare for x in f])),
    ]


def stage_gaps(work: Path, runs: int = 3, model: str = "haiku") -> list[float]:
    """learn's four stages, ``runs`` times: for each later stage, its last predecessor batch verified ->
    its first batch claimed (the driver's next-stage step, the broker's pick-up and the claim)."""
    sys.path.insert(0, str(ROOT))
    from runs import engine
    from runs.models import Run

    # The tests' small learn repository (two commits, two sessions, review comments).
    fixtures = importlib.import_module("tests.learn_fixtures")
    made = fixtures.make_learn_repo(work / "learn")
    params = {
        "title": fixtures.TITLE,
        "repo_root": str(made["repo"]),
        "sessions": [str(made["sessions"])],
        "comments": str(made["comments"]),
    }
    gaps = []
    for _ in range(runs):
        run = engine.launch(engine.prepare_run("learn", params, model=model))
        wait_until(lambda pk=run.pk: Run.objects.get(pk=pk).is_finished, 300, "the learn run finishing")
        run.refresh_from_db()
        if run.status != "succeeded":
            raise SystemExit(f"bench: the learn run {run.run_id} ended {run.status}: {run.error}")
        batches = list(run.batches.all())
        for stage in range(2, run.stages + 1):
            ended = max(b.finished_at for b in batches if b.stage == stage - 1 and b.finished_at)
            began = min(b.started_at for b in batches if b.stage == stage and b.started_at)
            gaps.append((began - ended).total_seconds())
    return gaps
