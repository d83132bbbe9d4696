"""Verification: every batch file is checked before anything reads it.

This step alone moves a batch from ``written`` to ``verified`` or ``failed``. The checks every operation
shares (the file exists, is a regular file, is not empty) are here; the operation checks its own format
and that the file covers exactly the batch's items.
"""

from pathlib import Path

from .models import Batch
from .operations import get_operation
from .operations.base import VerificationError

MISSING_FILE = "missing file"
EMPTY_FILE = "empty file"


def check_batch_file(batch: Batch) -> str | None:
    """The reason the batch's file is not acceptable, or None when it is."""
    path = Path(batch.output_path)
    if path.is_symlink() or not path.is_file():
        return MISSING_FILE
    text = path.read_text(encoding="utf-8", errors="replace")
    if not text.strip():
        return EMPTY_FILE
    try:
        get_operation(batch.run.operation).verify(batch.run, batch, text)
    except VerificationError as exc:
        return exc.reason
    return None


def verify_batch(batch: Batch) -> bool:
    """Set the batch verified or failed from its file; True when verified."""
    reason = check_batch_file(batch)
    if reason is None:
        return batch.verify()
    batch.fail(reason)
    return False
