"""Shared fixtures: small docs trees, the simulator on a free port, and tasks run in-process."""

from pathlib import Path

import pytest


def write_docs(root: Path, docs: dict[str, str | bytes]) -> Path:
    """Write ``{relative path: text}`` under ``root`` and return ``root``."""
    for rel, content in docs.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
    return root


SMALL_TREE = {
    "docs/learned/arch/overview.md": (
        "---\ntitle: Overview\n---\n\n# Overview\n\nThe runner always returns a report.\n"
        "See src/acme/cli.py:12 and src/acme/missing.py for details.\n\n"
        "```python\nimport os\nfrom acme import cli\n```\n\n1. one\n2. two\n3. three\n\nUse `BatchRunner`.\n"
    ),
    "docs/learned/arch/old.md": (
        "---\ntitle: Old\nlast_audited: 2026-01-02 09:00 PT\naudit_result: edited\n"
        "redirect_to: arch/overview.md\n---\n\nMoved. It never raises.\n"
    ),
    "docs/learned/cli/flags.md": (
        "# Flags\n\nLine 4 says `load_config()` must be called. tests/test_cli.py exists.\n"
    ),
    "docs/learned/cli/recent.md": "---\nlast_audited: 2026-11-25\n---\n\nRecently audited.\n",
    "docs/learned/cli/index.md": "<!-- AUTO-GENERATED index -->\n- flags.md\n",
    "docs/learned/testing/fixtures.md": "---\ntitle: Fixtures\n---\n\n" + "A line of prose.\n" * 120,
    "docs/learned/testing/steps.md": "1) a\n2) b\n\n   more\n3) c\n\nThe tool will do it.\n",
    "src/acme/cli.py": "def main():\n    pass\n",
    "tests/test_cli.py": "def test_main():\n    pass\n",
}
AS_OF = "2026-11-28"


@pytest.fixture
def repo(tmp_path) -> Path:
    """A small repository with docs under docs/learned, some path references broken on purpose."""
    return write_docs(tmp_path / "repo", SMALL_TREE)


@pytest.fixture
def docs_root(repo) -> Path:
    return repo / "docs" / "learned"


@pytest.fixture
def sync_tasks(monkeypatch):
    """Run django-q2 tasks in-process, at enqueue time (the cluster's behaviour, without the cluster)."""
    from django_q.conf import Conf

    monkeypatch.setattr(Conf, "SYNC", True)


@pytest.fixture
def held_tasks(monkeypatch):
    """A broker that keeps the batch tasks it is given and delivers none: the list of their batches'
    primary keys, for a test to deliver (``engine.execute_batch``) when it wants, or never."""
    from runs import queue

    held: list[int] = []
    monkeypatch.setattr(queue, "send", lambda batch: held.append(batch.pk))
    return held


@pytest.fixture
def simulator(monkeypatch):
    """The Messages API simulator on a free loopback port, with the SDK pointed at it."""
    from runs.simulator.server import start_simulator

    with start_simulator() as handle:
        monkeypatch.setenv("ANTHROPIC_BASE_URL", handle.url)
        yield handle


@pytest.fixture
def proxy(simulator):
    """A recording proxy in front of the simulator (tests/api_fixtures.py)."""
    from tests.api_fixtures import Proxy

    handle = Proxy(simulator.url)
    yield handle
    handle.stop()
