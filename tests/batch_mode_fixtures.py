"""What the batch-mode tests share: a run started in batch mode, and the sweep played by hand."""

from datetime import date

from runs import engine
from runs.models import Run

from .conftest import AS_OF


def start(docs_root, *, mode="batch", model="haiku", agents=2, **options) -> Run:
    """An audit-scan run of ``docs_root`` (batch mode unless told otherwise), as the database has it."""
    run = engine.create_run(
        "audit-scan",
        {"docs_root": str(docs_root)},
        model=model,
        agents=agents,
        as_of=date.fromisoformat(AS_OF),
        mode=mode,
        **options,
    )
    return Run.objects.get(pk=run.pk)


def drive(run, simulator, rounds=40) -> Run:
    """What the sweep does every few seconds, with the simulator's clock moved on in between."""
    for _ in range(rounds):
        engine.advance(run.pk)
        run = Run.objects.get(pk=run.pk)
        if run.is_finished:
            return run
        simulator.advance_clock(1)
    raise AssertionError(f"stuck: {[(b.index, b.status, bool(b.conversation)) for b in run.batches.all()]}")
