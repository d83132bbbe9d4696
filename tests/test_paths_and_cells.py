"""The two helpers every module shares: a path against its root (runs/paths.py) and a markdown table
cell (runs/markdown.py, read back by learn's markdown.row_cells). No database."""

import os

import pytest

from runs.markdown import table_cell
from runs.operations.learn.markdown import row_cells
from runs.paths import PathRefused, confine, inside, is_relative_path


@pytest.fixture
def tree(tmp_path):
    root = tmp_path / "root"
    (root / "sub").mkdir(parents=True)
    (root / "sub" / "a.md").write_text("a")
    (tmp_path / "outside.md").write_text("secret")
    os.symlink(tmp_path / "outside.md", root / "leak.md")
    os.symlink(root / "sub" / "a.md", root / "alias.md")
    os.symlink(tmp_path, root / "up")
    return root


def test_inside_follows_symlinks_on_both_sides(tree, tmp_path):
    assert inside(tree, tree) and inside(tree, tree / "sub" / "a.md")
    assert inside(tree, tree / "alias.md")  # a link that stays in the root
    assert not inside(tree, tree / "leak.md") and not inside(tree, tree / "up" / "outside.md")
    assert not inside(tree, tmp_path / "outside.md")
    # A root reached through a symlink is the same root.
    os.symlink(tree, tmp_path / "root-link")
    assert inside(tmp_path / "root-link", tree / "sub")
    # A sibling whose name starts like the root is not inside it.
    (tmp_path / "root2").mkdir()
    assert not inside(tree, tmp_path / "root2")


@pytest.mark.parametrize(
    ("rel", "message"),
    [
        ("", "path must be a non-empty string"),
        (None, "path must be a non-empty string"),
        ("a\x00b", "path must not contain NUL"),
        ("\ud800.md", "path is not valid UTF-8: \\ud800.md"),
        ("/etc/passwd", "absolute paths are not allowed: /etc/passwd"),
        ("~/x", "absolute paths are not allowed: ~/x"),
        ("../outside.md", "path leaves its root: ../outside.md"),
        ("sub/../../outside.md", "path leaves its root: sub/../../outside.md"),
        ("leak.md", "path leaves its root: leak.md"),
        ("up/outside.md", "path leaves its root: up/outside.md"),
    ],
)
def test_confine_refuses_with_the_reason(tree, rel, message):
    with pytest.raises(PathRefused) as refused:
        confine(tree, rel)
    assert str(refused.value) == message


def test_confine_resolves_what_stays_inside(tree):
    assert confine(tree, "sub/../sub/a.md") == (tree / "sub" / "a.md").resolve()
    assert confine(tree, "alias.md") == (tree / "sub" / "a.md").resolve()
    assert confine(tree, "new/file.md") == tree.resolve() / "new" / "file.md"  # need not exist yet


@pytest.mark.parametrize(
    ("text", "relative"),
    [
        ("tripwires.md", True),
        ("cli/flags.md", True),
        ("a..b.md", True),  # dots in a name are no parent step
        ("/abs/docs/x.md", False),
        ("\\share\\x.md", False),
        ("~/docs/x.md", False),
        ("C:\\docs\\x.md", False),
        ("c:docs", False),
        ("../outside.md", False),
        ("cli/../../x.md", False),
        ("a\\..\\b.md", False),
    ],
)
def test_is_relative_path(text, relative):
    assert is_relative_path(text) is relative


@pytest.mark.parametrize(
    ("text", "cell"),
    [
        ("plain", "plain"),
        ("two\nlines  and\ttabs", "two lines and tabs"),
        ("a|b", "a\\|b"),
        ("a\\|b", "a\\\\\\|b"),  # the backslash is doubled, then the pipe escaped
        ("a\\\\|b", "a\\\\\\\\\\|b"),
        ("C:\\docs", "C:\\docs"),  # a backslash before anything but a pipe is left alone
        ("ends\\", "ends\\"),
        ("`x|y`", "`x\\|y`"),
        (42, "42"),
    ],
)
def test_table_cell(text, cell):
    assert table_cell(text) == cell


@pytest.mark.parametrize("text", ["a|b", "a\\|b", "a\\\\|b", "ends\\", "C:\\x", "\\|\\", "`x|y` \\ z"])
def test_row_cells_reads_back_what_table_cell_wrote(text):
    assert row_cells(f"| {table_cell(text)} | two |") == [text, "two"]
    assert row_cells(f"{table_cell(text)} | two") == [text, "two"]


def test_a_cell_renders_as_one_cell(settings):
    """Python-Markdown's tables (the pages' renderer) read the escaped cell as the text it was."""
    from runs.rendering import render_markdown

    html = str(render_markdown(f"| A | B |\n| --- | --- |\n| {table_cell('a\\|b')} | c |\n"))
    assert "<td>a\\|b</td>" in html and "<td>c</td>" in html


def test_row_cells_stays_fast_on_hostile_rows():
    import time

    started = time.monotonic()
    for row in ["\\" * 500_000 + "x", "\\|" * 250_000, "x|" * 250_000]:
        row_cells(row)
    assert time.monotonic() - started < 5
