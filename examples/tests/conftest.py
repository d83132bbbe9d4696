from __future__ import annotations

from pathlib import Path

import pytest
from acme.config import AcmeConfig
from acme.context import AcmeContext
from acme.gateways.fake_git import FakeGit


@pytest.fixture
def fake_git() -> FakeGit:
    return FakeGit(branch="feature/batching")


@pytest.fixture
def acme_ctx(tmp_path: Path, fake_git: FakeGit) -> AcmeContext:
    return AcmeContext(
        repo_root=tmp_path,
        config=AcmeConfig(),
        git=fake_git,
        dry_run=False,
    )
