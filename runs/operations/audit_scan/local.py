"""The ``local`` executor of audit-scan: exact signals computed in Python, no LLM.

Its batch files are the ground truth that LLM runs are compared against, so it must see the repository
the way the agent's ``path_exists`` tool does (runs/tools.py): a path that leaves the repo root, through
``..`` or a symlink, does not count as existing there.
"""

import os
from collections.abc import Callable, Sequence
from pathlib import Path

from .batchfile import format_batch
from .docs import read_text
from .signals import measure


def exists_under(repo_root: Path) -> Callable[[str], bool]:
    """``exists(rel)``: a file or folder exists at <repo root>/<rel> without leaving the repo root."""
    real_root = os.path.realpath(repo_root)

    def exists(rel: str) -> bool:
        if os.path.isabs(rel):
            return False
        target = os.path.realpath(os.path.join(real_root, rel))
        inside = target == real_root or target.startswith(real_root.rstrip(os.sep) + os.sep)
        # os.path.exists, not Path.exists: it answers False instead of raising for a name too long.
        return inside and os.path.exists(target)

    return exists


def local_batch_text(paths: Sequence[str], docs_root: Path, repo_root: Path) -> str:
    exists = exists_under(repo_root)
    records = []
    for path in paths:
        text, _truncated = read_text(docs_root / path)
        records.append(measure(path, text, exists))
    return format_batch(records)
