"""In-memory git for tests. Records mutations so tests can assert on them."""

from __future__ import annotations

from pathlib import Path

from acme.gateways.git import GitGateway


class FakeGit(GitGateway):
    def __init__(self, *, branch: str = "main", clean: bool = True) -> None:
        self._branch = branch
        self._clean = clean
        self.pushed_branches: list[str] = []

    def current_branch(self, repo_root: Path) -> str:
        return self._branch

    def push_branch(self, repo_root: Path, branch: str) -> None:
        self.pushed_branches.append(branch)

    def is_clean(self, repo_root: Path) -> bool:
        return self._clean
