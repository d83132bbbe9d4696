"""``acme plan``: save and submit plans."""

from __future__ import annotations

import click
from acme_core.frontmatter import parse_frontmatter

from acme.context import AcmeContext

PLAN_DIR = ".acme/plans"


@click.group("plan")
def plan_group() -> None:
    """Work with saved plans."""


@plan_group.command("save")
@click.argument("title")
@click.pass_obj
def save_plan(ctx: AcmeContext, title: str) -> None:
    branch = ctx.git.current_branch(ctx.repo_root)
    slug = title.lower().replace(" ", "-")[:40]
    path = ctx.repo_root / PLAN_DIR / f"{slug}.md"
    if ctx.dry_run:
        click.echo(f"would write {path}", err=True)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"---\ntitle: {title}\nbranch: {branch}\n---\n", encoding="utf-8")
    click.echo(str(path))


@plan_group.command("submit")
@click.argument("slug")
@click.pass_obj
def submit_plan(ctx: AcmeContext, slug: str) -> None:
    path = ctx.repo_root / PLAN_DIR / f"{slug}.md"
    if not path.exists():
        raise click.ClickException(f"no saved plan named {slug}")
    header, _body = parse_frontmatter(path.read_text(encoding="utf-8"))
    ctx.git.push_branch(ctx.repo_root, header["branch"])
    click.echo(header["branch"])
