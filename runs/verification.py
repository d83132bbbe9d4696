"""Verification: every output file is checked before anything reads it.

This step alone moves a batch from ``written`` to ``verified`` or ``failed``. The checks every operation
shares (the file exists, is a regular file, is not empty) are here; the operation's check
(``Operation.check_output``) tests its own format and that the file covers exactly the batch's inputs.
"""

from pathlib import Path

from .models import Batch
from .operations import get_operation
from .operations.base import OutputRejected, Repair

MISSING_FILE = "missing file"
EMPTY_FILE = "empty file"


def check_output_file(batch: Batch) -> tuple[str | None, Repair | None]:
    """(the reason the batch's output file is not acceptable or None, the operation's repair of it if any)."""
    path = Path(batch.output_path)
    if path.is_symlink() or not path.is_file():
        return MISSING_FILE, None
    text = path.read_text(encoding="utf-8", errors="replace")
    if not text.strip():
        return EMPTY_FILE, None
    try:
        return None, get_operation(batch.run.operation).check_output(batch.run, batch, text)
    except OutputRejected as exc:
        return exc.reason, None


def verify_batch(batch: Batch, attempt: int) -> bool:
    """Set the batch verified or failed from its file; True when verified.

    A repaired file is written back before the batch is verified, so every later reader (the next stage,
    aggregation, the pages) sees the repaired text; each repair is kept as a protocol warning.
    """
    reason, repair = check_output_file(batch)
    if reason is not None:
        batch.fail(reason, attempt)
        return False
    if repair is not None and repair.text is not None:
        Path(batch.output_path).write_text(repair.text, encoding="utf-8")
    return batch.mark_verified(attempt, warnings=list(repair.warnings) if repair else [])
