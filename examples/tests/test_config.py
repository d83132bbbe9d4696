from __future__ import annotations

from pathlib import Path

import pytest
from acme.config import AcmeConfig, ConfigError, load_config


def test_missing_file_gives_defaults(tmp_path: Path) -> None:
    assert load_config(tmp_path) == AcmeConfig()


def test_reads_batch_size(tmp_path: Path) -> None:
    (tmp_path / "acme.toml").write_text("[acme]\nbatch_size = 3\n", encoding="utf-8")
    assert load_config(tmp_path).batch_size == 3


@pytest.mark.parametrize("value", ["0", "-1", '"five"'])
def test_rejects_bad_batch_size(tmp_path: Path, value: str) -> None:
    (tmp_path / "acme.toml").write_text(f"[acme]\nbatch_size = {value}\n", encoding="utf-8")
    with pytest.raises(ConfigError):
        load_config(tmp_path)
