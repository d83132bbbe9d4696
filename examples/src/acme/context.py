"""The one object every command receives."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from acme_core.paths import find_repo_root

from acme.config import AcmeConfig, load_config
from acme.gateways.git import GitGateway, RealGit


@dataclass(frozen=True)
class AcmeContext:
    """Immutable bundle of config and gateways.

    Build it once in the CLI entry point with ``create_context()`` and pass it
    down. Tests build it with fakes instead; nothing below the CLI layer may
    construct a gateway itself.
    """

    repo_root: Path
    config: AcmeConfig
    git: GitGateway
    dry_run: bool = False


def create_context(*, cwd: Path, dry_run: bool) -> AcmeContext:
    repo_root = find_repo_root(cwd)
    config = load_config(repo_root)
    return AcmeContext(
        repo_root=repo_root,
        config=config,
        git=RealGit(),
        dry_run=dry_run,
    )
