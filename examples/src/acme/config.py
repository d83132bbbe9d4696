"""Load ``acme.toml`` from the repo root."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_BATCH_SIZE = 5
CONFIG_FILE_NAME = "acme.toml"


@dataclass(frozen=True)
class AcmeConfig:
    batch_size: int = DEFAULT_BATCH_SIZE
    docs_dir: str = "docs/learned"
    trunk_branch: str = "main"
    extra_labels: tuple[str, ...] = field(default_factory=tuple)


class ConfigError(Exception):
    """Raised when acme.toml exists but cannot be used."""


def load_config(repo_root: Path) -> AcmeConfig:
    path = repo_root / CONFIG_FILE_NAME
    if not path.exists():
        return AcmeConfig()

    data = tomllib.loads(path.read_text(encoding="utf-8"))
    section = data.get("acme", {})
    if not isinstance(section, dict):
        raise ConfigError(f"{path}: [acme] must be a table")

    batch_size = section.get("batch_size", DEFAULT_BATCH_SIZE)
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ConfigError(f"{path}: batch_size must be a positive integer")

    return AcmeConfig(
        batch_size=batch_size,
        docs_dir=section.get("docs_dir", "docs/learned"),
        trunk_branch=section.get("trunk_branch", "main"),
        extra_labels=tuple(section.get("extra_labels", ())),
    )
