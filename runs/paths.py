"""Is a path inside its root? The one answer for every place that checks a path against a root: the
agent's tools, gathering the docs, the engine's prepared files, learn's targets.

Agent output is untrusted, and so are the trees a run reads: a path may climb out with ``..``, be
absolute, or pass through a symlink that leads elsewhere. ``inside`` follows every symlink on both
sides before it compares; ``confine`` turns an agent's relative path into a file under its root or
refuses it; ``is_relative_path`` is the check for a path that is only text (a doc a plan points at).
"""

import os
import re
from pathlib import Path

SHOWN_CHARS = 200
_DRIVE = re.compile(r"[A-Za-z]:")


class PathRefused(ValueError):
    """A path that may not be used; the message says why and quotes the path (shortened)."""


def shown(value: object) -> str:
    """A value from the agent as it may appear in a message: short, and valid UTF-8 (a lone surrogate
    from the model's JSON would make the next request unsendable)."""
    text = value if isinstance(value, str) else repr(value)
    text = text.encode("utf-8", errors="backslashreplace").decode("utf-8")
    return text if len(text) <= SHOWN_CHARS else text[:SHOWN_CHARS] + "…"


def is_utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def inside(root: Path | str, path: Path | str) -> bool:
    """Whether ``path`` is ``root`` or lies under it, once both are followed through every symlink."""
    return Path(os.path.realpath(path)).is_relative_to(os.path.realpath(root))


def confine(root: Path, rel: object) -> Path:
    """``rel`` resolved under ``root``; PathRefused for anything else (not a non-empty UTF-8 string,
    a NUL, an absolute or ``~`` path, or a path that ends up outside the root, symlinks followed)."""
    if not isinstance(rel, str) or not rel.strip():
        raise PathRefused("path must be a non-empty string")
    if "\x00" in rel:
        raise PathRefused("path must not contain NUL")
    if not is_utf8(rel):
        raise PathRefused(f"path is not valid UTF-8: {shown(rel)}")
    if os.path.isabs(rel) or rel.startswith("~"):
        raise PathRefused(f"absolute paths are not allowed: {shown(rel)}")
    real_root = root.resolve()
    candidate = (real_root / rel).resolve()
    if not candidate.is_relative_to(real_root):
        raise PathRefused(f"path leaves its root: {shown(rel)}")
    return candidate


def is_relative_path(text: str) -> bool:
    """Whether ``text``, read as a path on any system, stays under whatever root it is joined to: it
    does not start with ``/``, ``\\``, ``~`` or a drive letter and has no ``..`` part."""
    if text.startswith(("/", "\\", "~")) or _DRIVE.match(text):
        return False
    return ".." not in re.split(r"[/\\]", text)
