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


# --- every result carries text; every error a tool meets comes back as a tool error -------------------
def _call_as(uid: int, box: Toolbox, name: str, args: dict, conn) -> None:
    os.setgroups([])
    os.setgid(uid)
    os.setuid(uid)
    try:
        conn.send(("returned", box.call(name, args)))
    except Exception as exc:
        conn.send(("raised", type(exc).__name__, str(exc)))


def as_nobody(box: Toolbox, name: str, args: dict):
    """``box.call(name, args)`` in a child process as the unprivileged user 65534: what it returned or
    raised. Root reads a chmod 000 file regardless, so permission errors are only met by a real user.
    (forkserver: the child is forked from a fresh single-threaded process, not from pytest's.)"""
    import multiprocessing

    context = multiprocessing.get_context("forkserver")
    receive, send = context.Pipe(duplex=False)
    child = context.Process(target=_call_as, args=(65534, box, name, args, send))
    child.start()
    try:
        return receive.recv() if receive.poll(30) else ("no answer",)
    finally:
        child.join(10)


@pytest.fixture
def open_box():
    """A toolbox in a folder every user can enter (pytest's tmp_path is private to root)."""
    import shutil
    import tempfile
    from pathlib import Path

    base = Path(tempfile.mkdtemp(prefix="erkweb-tools-"))
    base.chmod(0o755)
    docs, repo, scratch = base / "repo" / "docs", base / "repo", base / "scratch"
    docs.mkdir(parents=True)
    scratch.mkdir()
    for folder in (repo, docs, scratch):
        folder.chmod(0o777)
    yield Toolbox(read_root=docs, repo_root=repo, output_path=scratch / "batch-1.md", docs_root=docs)
    shutil.rmtree(base)


def test_reading_an_empty_file_says_so_instead_of_returning_nothing(box):
    from runs.tools import EMPTY_FILE_RESULT

    (box.read_root / "empty.md").write_bytes(b"")
    assert box.call("read_file", {"path": "empty.md"}) == EMPTY_FILE_RESULT == "(empty file: 0 bytes)"


def test_every_tool_result_carries_text(box):
    out = str(box.output_path)
    results = [
        box.call("write_file", {"path": out, "content": ""}),
        box.call("path_exists", {"path": "nothing/here"}),
        Toolbox(box.read_root, box.repo_root, box.output_path, docs_root=box.read_root).call(
            "search_docs", {"query": "zzz-not-there"}
        ),
    ]
    assert results == [f"wrote 0 characters to {out}", "false", "no matches"]


def test_a_file_the_worker_may_not_read_is_a_tool_error(open_box):
    from runs.tools import ToolFailed

    secret = open_box.read_root / "locked.md"
    secret.write_text("locked\n")
    secret.chmod(0o000)
    outcome = as_nobody(open_box, "read_file", {"path": "locked.md"})
    assert outcome == ("raised", "ToolFailed", "read_file locked.md: Permission denied (PermissionError)")
    assert issubclass(ToolFailed, ToolError)
    # search_docs meets the same file while searching: an error result too, not a crash.
    outcome = as_nobody(open_box, "search_docs", {"query": "locked"})
    assert outcome[:2] == ("raised", "ToolFailed") and "Permission denied" in outcome[2]


def test_an_output_file_the_worker_may_not_write_is_a_tool_error(open_box):
    open_box.output_path.write_text("")
    open_box.output_path.chmod(0o444)
    outcome = as_nobody(open_box, "write_file", {"path": str(open_box.output_path), "content": "x"})
    assert outcome == ("raised", "ToolFailed", f"cannot write {open_box.output_path}: Permission denied")


def test_a_folder_where_a_file_was_expected(box):
    (box.read_root / "folder.md").mkdir()
    with pytest.raises(ToolError, match=r"^folder.md is a folder, not a file$"):
        box.call("read_file", {"path": "folder.md"})
    box.output_path.mkdir()  # the output path is a folder: the write meets IsADirectoryError
    with pytest.raises(ToolError, match=r"^cannot write .*batch-1.md: Is a directory$"):
        box.call("write_file", {"path": str(box.output_path), "content": "x"})


def test_something_other_than_a_file_is_refused_without_opening_it(box):
    """A socket or a FIFO where a doc was (opening a FIFO would block the batch until its time ran out)."""
    import socket

    os.mkfifo(box.read_root / "fifo.md")
    with pytest.raises(ToolError, match=r"^fifo.md is not a regular file$"):
        box.call("read_file", {"path": "fifo.md"})
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(box.read_root / "socket.md"))
        with pytest.raises(ToolError, match=r"^socket.md is not a regular file$"):
            box.call("read_file", {"path": "socket.md"})


def test_any_os_error_while_reading(box, monkeypatch):
    import errno
    from pathlib import Path

    def failing_open(self, *args, **kwargs):
        raise OSError(errno.EIO, os.strerror(errno.EIO))

    monkeypatch.setattr(Path, "open", failing_open)
    with pytest.raises(ToolError, match=r"^read_file a.md: Input/output error \(OSError\)$"):
        box.call("read_file", {"path": "a.md"})


def test_text_that_is_not_utf8(box):
    # A lone surrogate (JSON allows "\ud800") cannot be a file name or file text; refused, not raised.
    with pytest.raises(ToolError, match="path is not valid UTF-8"):
        box.call("read_file", {"path": "a\ud800.md"})
    with pytest.raises(ToolError, match="content is not valid UTF-8"):
        box.call("write_file", {"path": str(box.output_path), "content": "ok \ud800"})
    assert not box.output_path.exists(), "refused before the file was opened (not truncated to nothing)"
    # A message never carries the surrogate back: the next request must stay sendable.
    with pytest.raises(ToolError) as refused:
        box.call("write_file", {"path": "x\udc80" * 300, "content": "x"})
    str(refused.value).encode("utf-8")
    assert len(str(refused.value)) < 400
    # Bytes that are not UTF-8 inside a doc are read with replacement characters, not an error.
    (box.read_root / "latin1.md").write_bytes(b"caf\xe9\n")
    assert box.call("read_file", {"path": "latin1.md"}) == "caf\ufffd\n"


def test_any_exception_inside_a_tool_becomes_a_tool_error(box, monkeypatch):
    def broken(self, rel):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(Toolbox, "path_exists", broken)
    with pytest.raises(ToolError, match=r"^path_exists src: disk on fire \(RuntimeError\)$"):
        box.call("path_exists", {"path": "src"})
