#!/usr/bin/env python
"""``make bench-docs``: the audit loop's history pages when a docs root has been scanned many times.

A throw-away SQLite database (as `make run`) is seeded through the models with ``--scans`` succeeded
audit-scan runs of one docs root (``--items`` docs each, every doc's signals drifting a little from scan to
scan) among ``--others`` runs of other roots, plus an audit-doc run of that root with an applied edit.
Then, through Django's test client in this process (server time: routing, queries, template; no network),
each page is asked for ``--repeat`` times: the docs root's page, one doc's history, and the last scan's
run page (its since-the-last-scan and Audit top N panels). It prints the median and the spread in ms,
the number of queries each page makes, and the same figures at a tenth of the scans: the queries must not
grow with the scans, and the time should hardly.
"""

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TIERS = ("HIGH", "MODERATE", "LOW", "SKIP")
ROOT_DOCS = "/srv/bench/docs"


def setup_django(data_dir: Path) -> None:
    os.environ.pop("ANTHROPIC_API_KEY", None)
    os.environ.update(
        ERKWEB_DATA_DIR=str(data_dir), DJANGO_SETTINGS_MODULE="erkweb.settings", ERKWEB_LOG_LEVEL="WARNING"
    )
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def seed(scans: int, others: int, items: int, *, seed: int = 7) -> None:
    from django.apps import apps
    from django.db import transaction
    from django.utils import timezone

    from runs.models import Batch, ItemResult, Run

    # Looked up, not imported: outside runs/operations/ no module imports an operation's own.
    AppliedEdit = apps.get_model("audit_doc", "AppliedEdit")

    rng = random.Random(seed)
    docs = [f"area-{k % 6}/doc-{k:03d}.md" for k in range(items)]
    scores = {doc: rng.randint(0, 14) for doc in docs}
    start = timezone.now() - timedelta(minutes=5 * (scans + others + 1))
    total = scans + others
    for first in range(0, total, 200):
        with transaction.atomic():
            made = []
            for n in range(first, min(first + 200, total)):
                root = ROOT_DOCS if n < scans else f"/srv/other-{n % 97}/docs"
                created = start + timedelta(minutes=5 * n)
                run = Run(
                    run_id=f"audit-scan-{created:%Y%m%d-%H%M%S}-{n:04x}",
                    operation="audit-scan",
                    status="succeeded",
                    model="local",
                    model_id="local",
                    agents=1,
                    params={
                        "docs_root": root,
                        "repo_root": "/srv/bench",
                        "category": None,
                        "as_of": "2026-11-28",
                    },
                    manifest={"items": docs},
                    summary={"scanned": items},
                    created_at=created,
                    finished_at=created,
                )
                made.append(run)
            Run.objects.bulk_create(made)
            batches = [
                Batch(
                    run=run,
                    index=1,
                    inputs=docs,
                    output_path="batch-1.md",
                    model_id="local",
                    status="verified",
                )
                for run in made
            ]
            Batch.objects.bulk_create(batches)
            results = []
            for run, batch in zip(made, batches, strict=True):
                counts = dict.fromkeys(TIERS, 0)
                for position, doc in enumerate(docs):
                    scores[doc] = max(0, min(14, scores[doc] + rng.choice((-1, 0, 0, 1))))
                    score = scores[doc]
                    tier = (
                        "HIGH"
                        if score >= 10
                        else "MODERATE"
                        if score >= 6
                        else "LOW"
                        if score >= 3
                        else "SKIP"
                    )
                    counts[tier] += 1
                    signals = {
                        "path": doc,
                        "lines": 40 + score,
                        "broken_paths": score // 3,
                        "last_audited": "none",
                    }
                    results.append(
                        ItemResult(
                            run=run,
                            batch=batch,
                            key=doc,
                            position=position,
                            score=score,
                            group=tier,
                            data=signals,
                        )
                    )
                run.item_count, run.group_counts = items, counts
            ItemResult.objects.bulk_create(results, batch_size=2000)
            Run.objects.bulk_update(made, ["item_count", "group_counts"])
    audit = Run.objects.create(
        run_id=f"audit-doc-{timezone.now():%Y%m%d-%H%M%S}-beef",
        operation="audit-doc",
        status="succeeded",
        model="sonnet",
        model_id="claude-sonnet-5-5",
        agents=1,
        params={"docs_root": ROOT_DOCS, "repo_root": "/srv/bench", "doc": [docs[0]], "doc_sha256": {}},
        manifest={"items": [docs[0]]},
    )
    batch = Batch.objects.create(
        run=audit,
        index=1,
        inputs=[f"doc/{docs[0]}"],
        output_path="audit-1.md",
        model_id="x",
        status="verified",
    )
    data = {"doc": docs[0], "verdict": "NEEDS UPDATE", "bad": 20, "good": 80, "verified": 3, "broken": 1,
            "sections": [], "findings": [], "collateral": [], "summary": "s", "revised": True}  # fmt: skip
    ItemResult.objects.create(
        run=audit, batch=batch, key=docs[0], position=0, score=20, group="NEEDS UPDATE", data=data
    )
    text = "".join(f"line {k}\n" for k in range(200))
    written = text.replace("line 7\n", "line seven\n").encode()
    AppliedEdit.objects.create(
        run=audit, doc=docs[0], docs_root=ROOT_DOCS, result="edited", last_audited="2026-11-28 10:30 PT",
        verdict="NEEDS UPDATE", original=text.encode(), written=written, written_sha256="0" * 64,
    )  # fmt: skip


def timed(client, url: str, params: dict, repeat: int) -> tuple[float, float, float, int, str]:
    """(median ms, min, max, queries, body) of ``repeat`` requests after one to warm up (whose queries
    are counted: the test client's request_started resets Django's own query log)."""
    from django.db import connection

    queries: list[str] = []

    def count(execute, sql, *rest):
        queries.append(sql)
        return execute(sql, *rest)

    with connection.execute_wrapper(count):
        response = client.get(url, params)
    assert response.status_code == 200, (url, response.status_code)
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        response = client.get(url, params)
        times.append((time.perf_counter() - began) * 1000)
    return statistics.median(times), min(times), max(times), len(queries), response.content.decode()


def measure(repeat: int) -> list[tuple[str, tuple[float, float, float, int, str]]]:
    from django.test import Client

    from runs.models import Run

    client = Client(HTTP_HOST="127.0.0.1")
    last = Run.objects.filter(operation="audit-scan", params__docs_root=ROOT_DOCS).latest("created_at")
    doc = "area-0/doc-000.md"
    return [
        ("docs root page", timed(client, "/docs/", {"root": ROOT_DOCS}, repeat)),
        ("a doc's history", timed(client, "/docs/history/", {"root": ROOT_DOCS, "doc": doc}, repeat)),
        ("last scan's run page", timed(client, f"/runs/{last.run_id}/", {}, repeat)),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scans", type=int, default=1000, help="scans of the one docs root (default 1000)")
    parser.add_argument("--others", type=int, default=1000, help="runs of other roots (default 1000)")
    parser.add_argument("--items", type=int, default=60, help="docs a scan holds (default 60)")
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    for scans in (max(1, args.scans // 10), args.scans):
        with tempfile.TemporaryDirectory() as data:
            # Each size in a process of its own: Django is set up once per process.
            pid = os.fork()
            if pid == 0:
                setup_django(Path(data))
                began = time.monotonic()
                seed(scans, args.others, args.items)
                took = time.monotonic() - began
                sized = f"{scans:,} scans of one root (+{args.others:,} others) x {args.items} docs"
                print(f"{sized}, seeded in {took:.0f} s")
                for what, (median, low, high, queries, body) in measure(args.repeat):
                    assert ROOT_DOCS in body or "Since the last scan" in body, what
                    print(f"  {what:<24} {median:7.1f} ms  ({low:.1f} to {high:.1f})  {queries} queries")
                sys.stdout.flush()
                os._exit(0)
            _pid, status = os.waitpid(pid, 0)
            if status:
                sys.exit(1)


if __name__ == "__main__":
    main()
