"""The agent's tools stay inside their roots, whatever path the model writes."""

import os

import pytest

from runs.tools import Toolbox, ToolError, confine


@pytest.fixture
def box(tmp_path):
    docs = tmp_path / "repo" / "docs"
    (docs / "sub").mkdir(parents=True)
    (docs / "a.md").write_text("alpha\n")
    (docs / "sub" / "b.md").write_text("beta\n")
    (tmp_path / "repo" / "src").mkdir()
    (tmp_path / "repo" / "src" / "mod.py").write_text("x = 1\n")
    (tmp_path / "secret.txt").write_text("do not read\n")
    scratch = tmp_path / "scratch" / "run-1"
    scratch.mkdir(parents=True)
    return Toolbox(read_root=docs, repo_root=tmp_path / "repo", output_path=scratch / "batch-1.md")


def test_read_file_inside_root(box):
    assert box.call("read_file", {"path": "a.md"}) == "alpha\n"
    assert box.call("read_file", {"path": "sub/b.md"}) == "beta\n"
    assert box.call("read_file", {"path": "sub/../a.md"}) == "alpha\n"  # stays inside: allowed


@pytest.mark.parametrize("path", ["../../secret.txt", "../src/mod.py", "sub/../../../secret.txt"])
def test_read_file_refuses_dotdot_out_of_root(box, path):
    with pytest.raises(ToolError, match="leaves its root"):
        box.call("read_file", {"path": path})


def test_read_file_refuses_absolute_paths(box, tmp_path):
    with pytest.raises(ToolError, match="absolute"):
        box.call("read_file", {"path": str(tmp_path / "secret.txt")})
    with pytest.raises(ToolError, match="absolute"):
        box.call("read_file", {"path": str(box.read_root / "a.md")})  # even one inside the root


def test_read_file_refuses_symlink_out_of_root(box, tmp_path):
    os.symlink(tmp_path / "secret.txt", box.read_root / "link.md")
    os.symlink(tmp_path, box.read_root / "linkdir")
    with pytest.raises(ToolError, match="leaves its root"):
        box.call("read_file", {"path": "link.md"})
    with pytest.raises(ToolError, match="leaves its root"):
        box.call("read_file", {"path": "linkdir/secret.txt"})


def test_symlink_within_root_is_fine(box):
    os.symlink(box.read_root / "a.md", box.read_root / "alias.md")
    assert box.call("read_file", {"path": "alias.md"}) == "alpha\n"


def test_read_file_missing_and_bad_arguments(box):
    with pytest.raises(ToolError, match="no such file"):
        box.call("read_file", {"path": "nope.md"})
    with pytest.raises(ToolError, match="non-empty string"):
        box.call("read_file", {"path": ""})
    with pytest.raises(ToolError, match="non-empty string"):
        box.call("read_file", {})
    with pytest.raises(ToolError, match="NUL"):
        box.call("read_file", {"path": "a\x00.md"})
    with pytest.raises(ToolError, match="unknown tool"):
        box.call("run_shell", {"cmd": "ls"})


def test_read_file_reads_at_most_one_mib_with_replacement(box):
    (box.read_root / "big.md").write_bytes(b"\xe9" + b"x" * (2 * 1024 * 1024))
    text = box.call("read_file", {"path": "big.md"})
    assert text[0] == "\ufffd"
    assert len(text) == 1024 * 1024


def test_path_exists_is_confined_to_the_repo_root(box, tmp_path):
    assert box.call("path_exists", {"path": "src/mod.py"}) == "true"
    assert box.call("path_exists", {"path": "src"}) == "true"
    assert box.call("path_exists", {"path": "src/missing.py"}) == "false"
    with pytest.raises(ToolError, match="leaves its root"):
        box.call("path_exists", {"path": "../secret.txt"})
    with pytest.raises(ToolError, match="absolute"):
        box.call("path_exists", {"path": "/etc/passwd"})
    os.symlink(tmp_path / "secret.txt", tmp_path / "repo" / "src" / "out")
    with pytest.raises(ToolError, match="leaves its root"):
        box.call("path_exists", {"path": "src/out"})


def test_write_file_only_writes_the_output_path(box, tmp_path):
    out = str(box.output_path)
    assert box.call("write_file", {"path": out, "content": "one\n"}) == f"wrote 4 characters to {out}"
    assert box.call("write_file", {"path": out, "content": "two\n", "append": True})
    assert box.output_path.read_text() == "one\ntwo\n"
    box.call("write_file", {"path": out, "content": "fresh\n"})
    assert box.output_path.read_text() == "fresh\n"
    for other in (
        "batch-2.md",
        str(box.output_path.parent / "batch-2.md"),
        "../../escape.md",
        str(tmp_path / "x"),
    ):
        with pytest.raises(ToolError, match="may only write"):
            box.call("write_file", {"path": other, "content": "x"})
    assert not (box.output_path.parent / "batch-2.md").exists()
    assert box.writes == 3


def test_write_file_does_not_follow_a_symlink_at_the_output_path(box, tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("original\n")
    os.symlink(victim, box.output_path)
    with pytest.raises(ToolError, match="cannot write"):
        box.call("write_file", {"path": str(box.output_path), "content": "pwned"})
    assert victim.read_text() == "original\n"


def test_write_file_needs_strings(box):
    with pytest.raises(ToolError, match="string"):
        box.call("write_file", {"path": str(box.output_path), "content": 12})


def test_confine_rejects_home_and_empty():
    from pathlib import Path

    with pytest.raises(ToolError):
        confine(Path("/tmp"), "~/x")
    with pytest.raises(ToolError):
        confine(Path("/tmp"), "   ")
