"""Entry point: ``acme``."""

from __future__ import annotations

from pathlib import Path

import click

from acme import __version__
from acme.commands.plan import plan_group
from acme.commands.sync import sync_command
from acme.config import ConfigError
from acme.context import create_context


def user_output(message: str) -> None:
    """All human-facing output goes to stderr so stdout stays machine-readable."""
    click.echo(message, err=True)


@click.group()
@click.version_option(__version__)
@click.option("--dry-run", is_flag=True, help="Print what would change; change nothing.")
@click.pass_context
def main(click_ctx: click.Context, dry_run: bool) -> None:
    """acme: plan-driven batch runner."""
    try:
        click_ctx.obj = create_context(cwd=Path.cwd(), dry_run=dry_run)
    except ConfigError as error:
        user_output(f"Error: {error}")
        raise SystemExit(2) from error


main.add_command(plan_group)
main.add_command(sync_command)


if __name__ == "__main__":
    main()
