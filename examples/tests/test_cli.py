from __future__ import annotations

from acme.cli import main
from acme.commands.plan import plan_group
from click.testing import CliRunner


def test_help_lists_commands() -> None:
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    assert "docs-sync" in result.output
    assert "plan" in result.output


def test_plan_save_writes_file(acme_ctx, fake_git) -> None:
    result = CliRunner().invoke(plan_group, ["save", "Batch by size"], obj=acme_ctx)
    assert result.exit_code == 0
    saved = acme_ctx.repo_root / ".acme/plans/batch-by-size.md"
    assert "branch: feature/batching" in saved.read_text(encoding="utf-8")


def test_plan_submit_pushes_branch(acme_ctx, fake_git) -> None:
    runner = CliRunner()
    runner.invoke(plan_group, ["save", "Batch by size"], obj=acme_ctx)
    result = runner.invoke(plan_group, ["submit", "batch-by-size"], obj=acme_ctx)
    assert result.exit_code == 0
    assert fake_git.pushed_branches == ["feature/batching"]


def test_plan_submit_unknown_slug(acme_ctx) -> None:
    result = CliRunner().invoke(plan_group, ["submit", "nope"], obj=acme_ctx)
    assert result.exit_code == 1
    assert "no saved plan named nope" in result.output
