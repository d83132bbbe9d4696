"""learn's git input: the repository, the range, the diff and the commit messages, on real repositories."""

import subprocess
from pathlib import Path

import pytest

from runs.errors import InputError
from runs.operations.learn import git as learn_git
from runs.operations.learn.git import DEFAULT_RANGE, check_range, check_repo, diff_and_log


def git(repo: Path, *args: str) -> str:
    result = subprocess.run(
        ["git", "-c", "user.name=Tess Ter", "-c", "user.email=tess@example.com", *args],
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.strip()


def commit(repo: Path, files: dict[str, str], message: str) -> str:
    for rel, text in files.items():
        (repo / rel).parent.mkdir(parents=True, exist_ok=True)
        (repo / rel).write_text(text)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD")


@pytest.fixture
def repo(tmp_path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q")
    return root


@pytest.fixture
def history(repo):
    first = commit(repo, {"src/app.py": "print('one')\n"}, "Start the app")
    second = commit(repo, {"src/app.py": "print('two')\n", "docs/x.md": "# X\n"}, "Add docs\n\nWhy: clarity.")
    third = commit(repo, {"src/app.py": "print('three')\n"}, "Say three")
    return repo, [first, second, third]


def test_check_repo_gives_the_resolved_top_level_from_a_subfolder(history):
    repo, _ = history
    assert check_repo(repo / "src") == repo.resolve()
    assert check_repo(repo) == repo.resolve()


@pytest.mark.parametrize("make", ["missing", "file", "plain folder"])
def test_check_repo_refuses_what_is_not_a_git_repository(tmp_path, make):
    path = tmp_path / "thing"
    if make == "file":
        path.write_text("x")
    elif make == "plain folder":
        path.mkdir()
    with pytest.raises(InputError) as info:
        check_repo(path)
    assert info.value.field == "repo_root"
    assert str(path) in str(info.value)


def test_plain_folder_message_says_it_is_not_a_git_repository(tmp_path):
    path = tmp_path / "plain"
    path.mkdir()
    with pytest.raises(InputError, match="is not a git repository"):
        check_repo(path)


def test_missing_git_is_an_input_error(repo, monkeypatch):
    monkeypatch.setenv("PATH", str(repo))  # no git here
    with pytest.raises(InputError, match="git is not installed") as info:
        check_repo(repo)
    assert info.value.field == "repo_root"


def test_check_range_resolves_both_sides_to_full_hashes(history):
    repo, (first, second, third) = history
    assert check_range(repo, "HEAD~2..HEAD") == (first, third)
    assert check_range(repo, f"{first[:7]}..{second}") == (first, second)
    assert check_range(repo, DEFAULT_RANGE) == (second, third)


@pytest.mark.parametrize("bad", ["HEAD", "HEAD~1...HEAD", "..HEAD", "HEAD~1..", "A..B..C", ""])
def test_a_range_of_another_form_is_refused(history, bad):
    repo, _ = history
    with pytest.raises(InputError, match=r"must look like BASE\.\.HEAD") as info:
        check_range(repo, bad)
    assert info.value.field == "range"


def test_an_unknown_revision_is_named(history):
    repo, _ = history
    with pytest.raises(InputError, match="unknown revision 'no-such-branch'") as info:
        check_range(repo, "no-such-branch..HEAD")
    assert info.value.field == "range"
    with pytest.raises(InputError, match=r"unknown revision 'HEAD~5'"):
        check_range(repo, "HEAD~5..HEAD")


def test_a_revision_that_is_not_a_commit_is_unknown(history):
    repo, _ = history
    tree = git(repo, "rev-parse", "HEAD^{tree}")
    with pytest.raises(InputError, match=f"unknown revision '{tree}'"):
        check_range(repo, f"{tree}..HEAD")


@pytest.mark.parametrize("bad", ["--output=/tmp/x..HEAD", "HEAD..--all", "HEAD~1..-p"])
def test_a_revision_starting_with_a_dash_is_refused_before_git_runs(history, bad, monkeypatch):
    repo, _ = history

    def no_git(*args, **kwargs):
        raise AssertionError("git must not run")

    monkeypatch.setattr(learn_git, "_git", no_git)
    with pytest.raises(InputError, match="must not start with '-'") as info:
        check_range(repo, bad)
    assert info.value.field == "range"


def test_default_range_on_a_single_commit_names_head_1(repo):
    commit(repo, {"a.txt": "a\n"}, "only")
    with pytest.raises(InputError, match=r"unknown revision 'HEAD~1'"):
        diff_and_log(repo, DEFAULT_RANGE)


def test_diff_and_log_of_a_range(history):
    repo, (first, second, third) = history
    diff, log = diff_and_log(repo, f"{first}..HEAD")
    assert diff.startswith("diff --git a/docs/x.md b/docs/x.md\nnew file mode 100644\n")
    assert "-print('one')\n+print('three')\n" in diff
    assert "\x1b[" not in diff
    dates = {sha: git(repo, "log", "-1", "--format=%aI", sha) for sha in (second, third)}
    author = "Author: Tess Ter <tess@example.com>"
    assert log == (
        f"commit {third}\n{author}\nDate:   {dates[third]}\n\n    Say three\n\n"
        f"commit {second}\n{author}\nDate:   {dates[second]}\n\n    Add docs\n    \n    Why: clarity.\n\n"
    )
    assert first not in log


def test_default_range_is_the_last_commit(history):
    repo, (_, second, third) = history
    diff, log = diff_and_log(repo, DEFAULT_RANGE)
    assert "-print('two')\n+print('three')\n" in diff
    assert "docs/x.md" not in diff
    assert log.startswith(f"commit {third}\n")
    assert second not in log


def test_the_repositorys_config_does_not_change_the_output(history):
    repo, (first, _, _) = history
    git(repo, "config", "diff.external", "false")
    git(repo, "config", "diff.noprefix", "true")
    git(repo, "config", "color.ui", "always")
    git(repo, "config", "core.pager", "false")
    diff, log = diff_and_log(repo, f"{first}..HEAD")
    assert "diff --git a/src/app.py b/src/app.py" in diff
    assert "\x1b[" not in diff + log


def test_an_empty_range_has_an_empty_diff_and_log(history):
    repo, _ = history
    assert diff_and_log(repo, "HEAD..HEAD") == ("", "")


def test_git_environment_variables_of_the_caller_are_ignored(history, tmp_path, monkeypatch):
    repo, _ = history
    monkeypatch.setenv("GIT_DIR", str(tmp_path / "elsewhere"))
    assert check_repo(repo) == repo.resolve()
