"""Verification: every output file is checked before anything reads it.

This step alone moves a batch from ``written`` to ``verified`` or ``failed``. The file is an agent's
output, so it is read as hostile input: the checks every operation shares come first (a regular file,
not through a symlink, within ``ERKWEB_OUTPUT_MAX_BYTES``, UTF-8 text with no NUL, not empty), then the
operation's check (``Operation.check_output``) of its own format and of the batch's inputs. Whatever goes
wrong in any of it (a parser that raises, a recursion too deep) fails the batch with a reason: no
output can leave a batch ``written`` or crash the worker.
"""

import contextlib
import logging
import os
import stat
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction

from .models import Batch, ItemResult
from .operations import get_operation
from .operations.base import Checked, OutputRejected
from .scratch import output_file

log = logging.getLogger(__name__)

MISSING_FILE = "missing file"
EMPTY_FILE = "empty file"
# How much of a rejected file is kept for the batch page: enough to see what went wrong.
REJECTED_EXCERPT_BYTES = 64 * 1024


def read_output(path: Path) -> str:
    """The text of an output file, or OutputRejected naming why it is not acceptable as one."""
    try:
        # O_NOFOLLOW: a symlink at the path is refused, not followed; O_NONBLOCK: a FIFO put there does
        # not block the open.
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except FileNotFoundError:
        raise OutputRejected(MISSING_FILE) from None
    except OSError as exc:
        if path.is_symlink():
            raise OutputRejected("not a file: a symlink") from None
        if path.is_dir():
            raise OutputRejected("not a file: a folder") from None
        raise OutputRejected(f"cannot read the file: {exc.strerror}") from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise OutputRejected("not a file: a folder")
        if not stat.S_ISREG(info.st_mode):
            raise OutputRejected("not a regular file")
        limit = settings.ERKWEB_OUTPUT_MAX_BYTES
        if info.st_size > limit:
            raise OutputRejected(f"file too large: {info.st_size:,} bytes (the limit is {limit:,})")
        data = _read(fd, limit + 1)  # bounded even if the file grows after the fstat
    finally:
        os.close(fd)
    if len(data) > limit:
        raise OutputRejected(f"file too large: over {limit:,} bytes")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise OutputRejected(f"not UTF-8 text: invalid byte at offset {exc.start:,}") from None
    nul = text.find("\x00")
    if nul >= 0:
        raise OutputRejected(f"not text: a NUL character at offset {nul:,}")
    if not text.strip():
        raise OutputRejected(EMPTY_FILE)
    return text


def _read(fd: int, limit: int) -> bytes:
    chunks, size = [], 0
    while size < limit and (chunk := os.read(fd, min(1024 * 1024, limit - size))):
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def rejected_excerpt(path: Path) -> str:
    """The start of a rejected file as safe text (for the batch page): bounded, invalid UTF-8 and NUL
    replaced. Empty for what is not a readable regular file."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return ""
    try:
        data = _read(fd, REJECTED_EXCERPT_BYTES) if stat.S_ISREG(os.fstat(fd).st_mode) else b""
    finally:
        os.close(fd)
    return data.decode("utf-8", errors="replace").replace("\x00", "\ufffd")


def check_output_file(batch: Batch) -> tuple[str | None, Checked | None]:
    """(the reason the batch's output file is not acceptable or None, what the operation's check made
    of it)."""
    try:
        text = read_output(output_file(batch))
        return None, get_operation(batch.run.operation).check_output(batch.run, batch, text)
    except OutputRejected as exc:
        return exc.reason, None
    except RecursionError:
        return "output nested too deeply to check", None
    except Exception as exc:  # a parser's bug on odd output fails the batch, never the worker
        log.exception("checking batch %s of %s raised", batch.index, batch.run.run_id)
        return f"could not check the file: {type(exc).__name__}", None


def verify_batch(batch: Batch, attempt: int) -> bool:
    """Set the batch verified or failed from its file (as attempt ``attempt``); True when verified.

    Verified, the output (repaired, if the operation repaired drift, each repair kept as a protocol
    warning) is saved with the batch and its items as rows, in the transaction of the ``verified``
    transition: from then on the database is the record, and nothing needs this host's file. A repaired
    file is also written back, for the user.
    """
    path = output_file(batch)
    reason, checked = check_output_file(batch)
    if reason is not None or checked is None:
        batch.fail(reason or "not checked", attempt, rejected_output=rejected_excerpt(path))
        return False
    try:
        with transaction.atomic():
            verified = batch.mark_verified(
                attempt, output=checked.text, warnings=list(checked.warnings), report_part=checked.part
            )
            if not verified:
                return False  # superseded meanwhile: the attempt that holds the batch decides
            _save_items(batch, checked.items)
    except Exception as exc:
        log.exception("saving the items of batch %s of %s failed", batch.index, batch.run.run_id)
        batch.fail(f"could not save its items: {type(exc).__name__}", attempt)
        return False
    with contextlib.suppress(OSError):
        if path.read_text(encoding="utf-8") != checked.text:
            path.write_text(checked.text, encoding="utf-8")
    return True


def _save_items(batch: Batch, items: Sequence[Any]) -> None:
    run = batch.run
    order = {key: n for n, key in enumerate(run.manifest.get("items", []))}
    ItemResult.objects.filter(batch=batch).delete()  # an earlier attempt's, if it got this far
    ItemResult.objects.bulk_create(
        ItemResult(
            run=run,
            batch=batch,
            key=item.key,
            # The run's gathered order; items the run did not gather (learn's) after those, as parsed.
            position=order.get(item.key, len(order) + n),
            score=item.score,
            group=item.group,
            data=item.data,
        )
        for n, item in enumerate(items)
    )
