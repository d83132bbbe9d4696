"""Repo-root discovery."""

from __future__ import annotations

from pathlib import Path


class NotInRepoError(Exception):
    """Raised when no enclosing git repository is found."""


def find_repo_root(start: Path) -> Path:
    """Walk up from ``start`` to the first folder that holds ``.git``."""
    current = start.resolve()
    for candidate in (current, *current.parents):
        if (candidate / ".git").exists():
            return candidate
    raise NotInRepoError(f"{start} is not inside a git repository")


def docs_root_for(repo_root: Path, docs_dir: str) -> Path:
    return repo_root / docs_dir
