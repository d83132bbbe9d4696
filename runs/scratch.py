"""A host's scratch folder for a run: its working copy of the run's files, made from the database.

The database is the record: a run's prepared inputs are ``RunFile`` rows, a verified batch's output is
``Batch.output``. Paths are stored relative to the run's scratch folder and placed, on whichever host
executes a batch, under that host's own ``ERKWEB_DATA_DIR/scratch/<run-id>/``. Before an agent starts,
``materialise`` writes there what it is to read (its inputs: prepared files, and the outputs of earlier
stages), so no host ever needs another host's disk. The folder also stays as the user's files.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from django.conf import settings

from .paths import PathRefused, confine

if TYPE_CHECKING:
    from .models import Batch, Run


def run_scratch(run: Run) -> Path:
    """This host's scratch folder of ``run``."""
    return Path(settings.SCRATCH_DIR) / run.run_id


def output_file(batch: Batch) -> Path:
    """Where ``batch``'s output file is on this host."""
    return Path(run_scratch(batch.run) / batch.output_path)


def materialise(run: Run, batch: Batch) -> None:
    """Write into this host's scratch folder what ``batch``'s agent reads: the manifest, and each of its
    inputs that is a file the run prepared or the output of an earlier stage; make its output's folder."""
    from .models import Batch, BatchStatus, RunFile

    scratch = run_scratch(run)
    _write(scratch, "manifest.json", json.dumps(run.manifest, indent=2) + "\n")
    wanted = set(batch.inputs)
    for path, content in RunFile.objects.filter(run=run, path__in=wanted).values_list("path", "content"):
        _write(scratch, path, content)
        wanted.discard(path)
    earlier = Batch.objects.filter(
        run=run, stage__lt=batch.stage, status=BatchStatus.VERIFIED, output_path__in=wanted
    )
    for path, content in earlier.values_list("output_path", "output"):
        _write(scratch, path, content)
    _confined(scratch, batch.output_path).parent.mkdir(parents=True, exist_ok=True)


def write_report(run: Run) -> Path | None:
    """The run's report as a file in this host's scratch folder, for the user; None if it cannot be
    written (the report is in the database: nothing depends on the file)."""
    try:
        return _write(run_scratch(run), "report.md", run.report)
    except OSError:
        return None


def _confined(scratch: Path, rel: str) -> Path:
    try:
        return confine(scratch, rel)
    except PathRefused:
        raise ValueError(f"{rel!r} would leave the run's scratch folder") from None


def _write(scratch: Path, rel: str, text: str) -> Path:
    """Write ``text`` at ``rel`` atomically (two batches of a host may materialise the same file at once)."""
    path = _confined(scratch, rel)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path
