"""Git gateway: the only module that shells out to git."""

from __future__ import annotations

import subprocess
from abc import ABC, abstractmethod
from pathlib import Path


class GitGateway(ABC):
    @abstractmethod
    def current_branch(self, repo_root: Path) -> str: ...

    @abstractmethod
    def push_branch(self, repo_root: Path, branch: str) -> None: ...

    @abstractmethod
    def is_clean(self, repo_root: Path) -> bool: ...


def _run_git(repo_root: Path, *args: str) -> str:
    result = subprocess.run(
        ["git", *args],
        cwd=repo_root,
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.strip()


class RealGit(GitGateway):
    def current_branch(self, repo_root: Path) -> str:
        return _run_git(repo_root, "rev-parse", "--abbrev-ref", "HEAD")

    def push_branch(self, repo_root: Path, branch: str) -> None:
        _run_git(repo_root, "push", "--set-upstream", "origin", branch)

    def is_clean(self, repo_root: Path) -> bool:
        return _run_git(repo_root, "status", "--porcelain") == ""
