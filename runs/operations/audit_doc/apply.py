"""Applying an audit to its doc, and reverting it (specs/audit-doc.md, "Applying").

Applying writes one file, the doc, and nothing else: never outside the docs root, never over a doc that
changed since its audit. The caller keeps what ``apply_audit`` returns (the original bytes and the hash
of what was written: the engine stores them in the database), and gives them back to ``revert_doc``.

Confinement does not trust the path or the tree: the doc's path is resolved (symlinks followed) and
must stay inside the docs root; then every folder on the way is opened from the root with O_NOFOLLOW and
the doc is read and replaced relative to its folder's descriptor, so a symlink swapped in after the check
is refused rather than followed. The new content goes to a temporary file in the doc's own folder, is
flushed to disk, and is renamed over the doc (atomic on POSIX): a reader sees the old doc or the new one,
never half of one. The doc is read again just before the rename, so an edit that lands meanwhile is a
conflict, not lost.
"""

import contextlib
import hashlib
import os
import secrets
import stat
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from runs.operations.audit_scan.docs import MAX_DOC_BYTES

from .printable import printable as shown
from .stamp import CLEAN, EDITED, StampError, readable, stamp, stamp_time

# A doc erkweb audits is read from its first MiB; a much bigger file is not a doc to rewrite.
MAX_APPLY_BYTES = 16 * 1024 * 1024


class ApplyError(Exception):
    """Nothing was written; ``reason`` says why, for the user."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class Conflict(ApplyError):
    """The doc is not what it was when erkweb looked at it (audited, or applied): nothing was written."""


@dataclass(frozen=True)
class Applied:
    doc: str
    result: str  # "edited" or "clean": what the stamp says
    last_audited: str  # the stamp's time, "YYYY-MM-DD HH:MM PT"
    original: bytes  # what the doc held before: what revert writes back
    written: bytes

    @property
    def original_sha256(self) -> str:
        return sha256(self.original)

    @property
    def written_sha256(self) -> str:
        return sha256(self.written)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class _Doc:
    """An open handle on a doc's folder, reached from the docs root without following a symlink."""

    def __init__(self, docs_root: Path, doc: str):
        if not isinstance(doc, str) or not doc.strip() or "\x00" in doc or os.path.isabs(doc):
            raise ApplyError(f"not a doc path relative to the docs root: {shown(doc)}")
        try:
            real_root = os.path.realpath(docs_root)
            target = os.path.realpath(os.path.join(real_root, doc))
        except (ValueError, OSError) as exc:
            raise ApplyError(f"cannot resolve {shown(doc)}: {exc}") from None
        if not target.startswith(real_root.rstrip(os.sep) + os.sep):
            raise ApplyError(f"{shown(doc)} leaves the docs root: nothing is written there")
        self.doc = doc
        *folders, self.name = os.path.relpath(target, real_root).split(os.sep)
        try:
            fd = os.open(real_root, os.O_RDONLY | os.O_DIRECTORY)
            for folder in folders:
                try:
                    inner = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fd)
                finally:
                    os.close(fd)
                fd = inner
        except OSError as exc:
            raise Conflict(f"{shown(doc)}: its folder cannot be opened ({exc.strerror})") from None
        self.dir_fd = fd

    def close(self) -> None:
        os.close(self.dir_fd)

    def read(self, then: str = "nothing written") -> tuple[bytes, int]:
        """The doc's bytes and permission bits; Conflict when it is gone or not a regular file."""
        try:
            fd = os.open(self.name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=self.dir_fd)
        except FileNotFoundError:
            raise Conflict(f"{shown(self.doc)} does not exist: {then}") from None
        except OSError as exc:
            raise Conflict(f"{shown(self.doc)} cannot be read ({exc.strerror}): {then}") from None
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            os.close(fd)
            raise Conflict(f"{shown(self.doc)} is not a regular file: {then}")
        with os.fdopen(fd, "rb") as fh:
            data = fh.read(MAX_APPLY_BYTES + 1)
        if len(data) > MAX_APPLY_BYTES:
            raise ApplyError(f"{shown(self.doc)} is over {MAX_APPLY_BYTES // (1024 * 1024)} MiB: {then}")
        return data, stat.S_IMODE(info.st_mode)

    def replace(self, data: bytes, mode: int, expected_sha256: str, what: str) -> None:
        """Write ``data`` over the doc, atomically, if it still has ``expected_sha256``."""
        temp = f".{self.name}.erkweb-{secrets.token_hex(6)}.tmp"
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
        try:
            fd = os.open(temp, flags, mode, dir_fd=self.dir_fd)
        except OSError as exc:
            raise ApplyError(f"{shown(self.doc)}: cannot write in its folder ({exc.strerror})") from None
        try:
            with os.fdopen(fd, "wb") as fh:
                os.fchmod(fh.fileno(), mode)  # the doc keeps its permissions, whatever the umask
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            if sha256(self.read()[0]) != expected_sha256:
                raise Conflict(f"{shown(self.doc)} changed {what}: nothing written")
            os.rename(temp, self.name, src_dir_fd=self.dir_fd, dst_dir_fd=self.dir_fd)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temp, dir_fd=self.dir_fd)
            raise
        with contextlib.suppress(OSError):
            os.fsync(self.dir_fd)


@dataclass(frozen=True)
class Snapshot:
    """A doc as its agent is given it, and the hash applying checks the doc against later."""

    text: str  # the first MAX_DOC_BYTES bytes, bad UTF-8 replaced (audit-scan's reading)
    sha256: str  # of exactly the bytes the text was made from
    truncated: bool  # the doc is bigger: its hash never matches the whole file, so nothing is applied


def snapshot(docs_root: Path, doc: str) -> Snapshot:
    """Read a doc for its audit, confined like applying; ApplyError when it cannot be read."""
    handle = _Doc(docs_root, doc)
    try:
        data, _mode = handle.read(then="it cannot be audited")
    finally:
        handle.close()
    given = data[:MAX_DOC_BYTES]
    return Snapshot(given.decode("utf-8", errors="replace"), sha256(given), len(data) > MAX_DOC_BYTES)


def _encode(text: str) -> bytes:
    try:
        return text.encode("utf-8", errors="surrogateescape")
    except UnicodeEncodeError:
        raise ApplyError("the new text is not valid UTF-8 (it holds a lone surrogate)") from None


def apply_audit(
    docs_root: Path,
    doc: str,
    *,
    recorded_sha256: str,
    revised: str | None,
    now: datetime,
    before_write: Callable[[Applied], None] | None = None,
) -> Applied:
    """Stamp the doc (and write the revised document, when there is one), unless it changed since its
    audit. ``recorded_sha256`` is the hash of the bytes the agent was given; ``now`` is the time of
    applying (timezone-aware). ``before_write`` is given what will be written before it is (the caller
    records it first); if it raises, nothing is written. Raises Conflict or ApplyError, and then nothing
    was written."""
    handle = _Doc(docs_root, doc)
    try:
        original, mode = handle.read()
        if sha256(original) != recorded_sha256:
            raise Conflict(f"{shown(doc)} changed since the audit: nothing written")
        current = original.decode("utf-8", errors="surrogateescape")
        edited = revised is not None and revised != readable(current)
        result = EDITED if edited else CLEAN
        when = stamp_time(now)
        try:
            text = stamp(
                revised if edited and revised is not None else current, last_audited=when, audit_result=result
            )
        except StampError as exc:
            raise ApplyError(f"{shown(doc)}: {exc}; nothing written") from None
        done = Applied(doc=doc, result=result, last_audited=when, original=original, written=_encode(text))
        if before_write is not None:
            before_write(done)
        handle.replace(done.written, mode, recorded_sha256, "since the audit")
    finally:
        handle.close()
    return done


def revert_doc(docs_root: Path, doc: str, *, original: bytes, written_sha256: str) -> None:
    """Put the original bytes back, only while the doc still holds exactly what erkweb wrote."""
    handle = _Doc(docs_root, doc)
    try:
        current, mode = handle.read()
        if sha256(current) != written_sha256:
            raise Conflict(f"{shown(doc)} changed since the audit was applied: not reverted")
        handle.replace(original, mode, written_sha256, "since the audit was applied")
    finally:
        handle.close()
