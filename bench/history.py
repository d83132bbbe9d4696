"""``make bench-scale``'s page timings: a history of many runs, seeded through the models, and a run
page polled while 100 batches run.

The history is seeded with ``bulk_create`` as the engine leaves runs: each with its params, a manifest
holding its items and partition, a summary with gather's path lists, a report, one batch per agent with
its verified output, and its items (audit-scan's twelve signals each); a succeeded run with the listing
its ``succeed`` stores (``Run.listing``, counted here from the items made) and every run with its search
terms (``runs/models/search.py``). The pages are then asked for through Django's test client, in this
process: the time is the server's (URL routing, the queries, the template), with no network.
"""

import random
import statistics
import time
from collections import Counter
from datetime import timedelta

TIERS = ("HIGH", "MODERATE", "LOW", "SKIP")
MODELS = ("haiku", "sonnet", "opus", "local", "claude-haiku-5-5")
STATUSES = ("succeeded",) * 8 + ("failed", "cancelled")
SIGNALS = ("lines", "code_blocks", "file_path_refs", "broken_paths", "import_count", "behavioral_claims")


def seed_history(runs: int, items: int, *, seed: int = 11) -> None:
    from django.db import transaction
    from django.utils import timezone

    from runs.models import Batch, ItemResult, Run, RunSearchTerm
    from runs.models.search import search_texts, terms_of

    rng = random.Random(seed)
    start = timezone.now() - timedelta(minutes=5 * runs)  # the newest made just now
    chunk = 250  # runs per transaction: a few thousand rows per bulk_create
    for first in range(0, runs, chunk):
        made = []
        with transaction.atomic():
            for n in range(first, min(first + chunk, runs)):
                made.append(_run(rng, n, items, start + timedelta(minutes=5 * n)))
            Run.objects.bulk_create([run for run, _ in made])
            # bulk_create sets the primary keys on SQLite and PostgreSQL; the batches and items follow.
            batches = []
            for run, docs in made:
                for index, share in enumerate(_round_robin(docs, run.agents), start=1):
                    batches.append(_batch(run, index, share))
            Batch.objects.bulk_create(batches)
            by_run: dict[int, list] = {}
            for batch in batches:
                by_run.setdefault(batch.run_id, []).append(batch)
            results, terms = [], []
            for run, docs in made:
                groups: Counter = Counter()
                if run.status == "succeeded":
                    for batch in by_run[run.pk]:
                        for doc in batch.inputs:
                            tier = rng.choice(TIERS)
                            groups[tier] += 1
                            results.append(_item(rng, run, batch, doc, docs.index(doc), tier))
                run.item_count, run.group_counts = sum(groups.values()), dict(groups)
                terms += [
                    RunSearchTerm(run=run, term=t) for t in terms_of(search_texts(run.run_id, run.params))
                ]
            ItemResult.objects.bulk_create(results, batch_size=2000)
            RunSearchTerm.objects.bulk_create(terms, batch_size=2000)
            Run.objects.bulk_update([run for run, _ in made], ["item_count", "group_counts"])


def _round_robin(items: list[str], n: int) -> list[list[str]]:
    return [items[i::n] for i in range(n)]


def _run(rng: random.Random, n: int, items: int, created):
    from runs.models import Run

    project = f"/srv/team/project-{n % 300:03d}"
    docs = [f"area-{k % 6}/doc-{k:03d}.md" for k in range(items)]
    status = rng.choice(STATUSES)
    model = rng.choice(MODELS)
    agents = rng.choice((1, 5, 10, 20))
    report = "# Doc Audit Scan Results\n\n| Doc | Score | Tier |\n| --- | --- | --- |\n" + "".join(
        f"| {doc} | {rng.randint(0, 14)} | {rng.choice(TIERS)} |\n" for doc in docs
    )
    return (
        Run(
            run_id=f"audit-scan-{created:%Y%m%d-%H%M%S}-{n:04x}",
            operation="audit-scan",
            status=status,
            model=model,
            model_id="local" if model == "local" else "claude-haiku-5-5",
            agents=agents,
            params={"docs_root": f"{project}/docs", "repo_root": project, "category": None},
            manifest={"items": docs, "partition": _round_robin(docs, agents), "params": {}},
            summary={
                "scanned": items,
                "skipped": 40,
                "excluded": 40,
                "skipped_paths": [f"{project}/docs/skipped-{k}.md" for k in range(40)],
                "excluded_paths": [f"{project}/docs/excluded-{k}.md" for k in range(40)],
                "notes": [],
            },
            stages=1,
            current_stage=1,
            report=report if status == "succeeded" else "",
            error="1 batch failed (1): batch 1: empty file" if status == "failed" else "",
            input_tokens=rng.randint(10_000, 500_000),
            output_tokens=rng.randint(1_000, 50_000),
            cost_usd=rng.randint(0, 10**6) / 10**6,
            created_at=created,
            started_at=created,
            finished_at=created + timedelta(seconds=rng.randint(5, 600)),
        ),
        docs,
    )


def _batch(run, index: int, share: list[str]):
    from runs.models import Batch

    verified = run.status == "succeeded"
    return Batch(
        run=run,
        index=index,
        inputs=share,
        output_path=f"batch-{index}.md",
        model_id=run.model_id,
        status="verified" if verified else "failed",
        attempts=1,
        turns=4,
        output=("| doc | lines |\n" + "".join(f"| {d} | 40 |\n" for d in share)) if verified else "",
    )


def _item(rng: random.Random, run, batch, doc: str, position: int, tier: str):
    from runs.models import ItemResult

    data = {key: rng.randint(0, 300) for key in SIGNALS} | {"path": doc, "last_audited": "none"}
    return ItemResult(
        run=run, batch=batch, key=doc, position=position, score=rng.randint(0, 14), group=tier, data=data
    )


def timed(client, url: str, params: dict | None = None, *, htmx: bool = False, repeat: int = 15):
    """Median and spread (min to max) in ms of ``repeat`` requests, after one to warm up."""
    headers = {"HX-Request": "true"} if htmx else {}
    response = client.get(url, params or {}, headers=headers)
    assert response.status_code == 200, (url, response.status_code)
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        response = client.get(url, params or {}, headers=headers)
        times.append((time.perf_counter() - began) * 1000)
        assert response.status_code == 200
    return statistics.median(times), min(times), max(times), response.content.decode()


def history_timings(runs: int) -> list[tuple[str, tuple]]:
    """The history's pages, each timed: (what, (median, min, max, body))."""
    from django.test import Client

    from runs.models import Run

    client = Client(HTTP_HOST="127.0.0.1")
    page_150 = min(150, max(1, runs // 50))
    failed_on_sonnet = {"model": "sonnet", "status": "failed"}
    timings = [
        ("first page", timed(client, "/")),
        ("filtered page (model=sonnet, status=failed)", timed(client, "/", failed_on_sonnet)),
        (f"page {page_150}", timed(client, "/", {"page": page_150})),
        ("search fragment (q=project-042)", timed(client, "/", {"q": "project-042"}, htmx=True)),
        ("search fragment, every run matching (q=audit)", timed(client, "/", {"q": "audit"}, htmx=True)),
    ]  # fmt: skip
    # Timed pages that showed the wrong runs would prove nothing: each shows what it should.
    project_042 = sum(1 for n in range(runs) if n % 300 == 42)
    shown = {what: body for what, (*_, body) in timings}
    assert f"({runs} runs)" in shown["first page"]
    assert f"page {page_150} of " in shown[f"page {page_150}"]
    assert f"({project_042} runs)" in shown["search fragment (q=project-042)"] or project_042 <= 50
    assert "/srv/team/project-042/docs" in shown["search fragment (q=project-042)"]
    assert f"({runs} runs)" in shown["search fragment, every run matching (q=audit)"]
    filtered = Run.objects.filter(model="sonnet", status="failed").count()
    assert f"({filtered} runs)" in shown["filtered page (model=sonnet, status=failed)"] or filtered <= 50
    return timings


def seed_polled_run(batches: int, items_per_batch: int = 20):
    """A running run of ``batches`` batches, each with a long transcript and (verified ones) their
    output: the poll must read neither."""
    from django.utils import timezone

    from runs.models import Batch, Run, TranscriptEntry

    now = timezone.now()
    docs = [f"docs/doc-{k:04d}.md" for k in range(batches * items_per_batch)]
    run = Run.objects.create(
        run_id=f"audit-scan-{now:%Y%m%d-%H%M%S}-9999",
        operation="audit-scan",
        status="running",
        model="haiku",
        model_id="claude-haiku-5-5",
        agents=batches,
        params={"docs_root": "/srv/poll/docs", "repo_root": "/srv/poll", "category": None},
        manifest={"items": docs, "partition": _round_robin(docs, batches)},
        summary={"scanned": len(docs)},
        stages=1,
        current_stage=1,
        started_at=now,
    )
    rows = [
        Batch(
            run=run,
            index=i,
            inputs=share,
            output_path=f"batch-{i}.md",
            model_id=run.model_id,
            status="verified" if i % 2 else "running",
            attempts=1,
            turns=4,
            output="x" * 20_000 if i % 2 else "",
            started_at=now,
        )
        for i, share in enumerate(_round_robin(docs, batches), start=1)
    ]
    Batch.objects.bulk_create(rows)
    TranscriptEntry.objects.bulk_create(
        TranscriptEntry(batch=b, attempt=1, sequence=s, role="assistant", content={"text": "y" * 4000})
        for b in rows
        for s in range(1, 9)
    )
    return run


def poll_timing(run) -> tuple:
    from django.test import Client

    return timed(Client(HTTP_HOST="127.0.0.1"), f"/runs/{run.run_id}/", htmx=True)
