"""learn's git input (specs/learn.md, "Inputs"): the repository, the range, its diff and commit messages.

git runs as a subprocess, in the repository's top level, with ``GIT_PAGER=cat`` and ``LC_ALL=C``, and
never with user text where git could read an option: revisions starting with ``-`` are refused, every
command ends its revisions with ``--``, and only the resolved hashes reach ``diff`` and ``log``.

Settled beyond the spec:

- A range is exactly ``BASE..HEAD`` (two dots, both sides given); ``A...B`` and ``A..`` are refused.
  Each side must name a commit (``rev-parse --verify <rev>^{commit}``). An empty range (``A..A``) is
  allowed and gives an empty diff and log.
- The repository's own configuration must not change the output nor run programs: no external diff
  (``--no-ext-diff``), no textconv filters, no signature checks, the ``a/`` and ``b/`` prefixes.
  ``GIT_*`` variables of the calling environment (``GIT_DIR``...) are dropped so that the repo root
  given is the repository read, and lazy fetches of a partial clone are off: nothing reaches the network.
- Output is decoded as UTF-8 with bad bytes replaced: a diff may touch files in any encoding.
"""

import os
import subprocess
from pathlib import Path

from runs.errors import InputError

DEFAULT_RANGE = "HEAD~1..HEAD"
TIMEOUT_S = 120

# The log, one block per commit, newest first, like `git log`'s medium format with a strict ISO date:
#   commit <full hash>
#   Author: <name> <email>
#   Date:   <author date, ISO 8601>
#   <blank line>
#       <subject>
#       <blank line>
#       <body, every line indented by four spaces>
LOG_FORMAT = "commit %H%nAuthor: %an <%ae>%nDate:   %aI%n%n%w(0,4,4)%B"

_CONFIG = (
    "-c", "core.fsmonitor=false",
    "-c", "diff.noprefix=false",
    "-c", "diff.mnemonicPrefix=false",
    "-c", "log.showSignature=false",
)  # fmt: skip


class _GitMissing(Exception):
    pass


def _env() -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if not name.startswith("GIT_")}
    env.update(
        GIT_PAGER="cat",
        LC_ALL="C",
        GIT_TERMINAL_PROMPT="0",
        GIT_NO_LAZY_FETCH="1",
        GIT_OPTIONAL_LOCKS="0",
    )
    return env


def _git(cwd: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    try:
        return subprocess.run(
            ["git", *_CONFIG, *args],
            cwd=cwd,
            env=_env(),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=TIMEOUT_S,
            check=False,
        )
    except FileNotFoundError as exc:
        raise _GitMissing from exc


def _out(result: subprocess.CompletedProcess[bytes]) -> str:
    return result.stdout.decode("utf-8", errors="replace")


def _err(result: subprocess.CompletedProcess[bytes]) -> str:
    lines = result.stderr.decode("utf-8", errors="replace").strip().splitlines()
    return lines[0] if lines else f"git exited with status {result.returncode}"


def _run(cwd: Path, *args: str, field: str) -> subprocess.CompletedProcess[bytes]:
    try:
        return _git(cwd, *args)
    except _GitMissing:
        raise InputError("git is not installed (no `git` on PATH)", field) from None
    except subprocess.TimeoutExpired:
        raise InputError(f"git {args[0]} took longer than {TIMEOUT_S} s in {cwd}", field) from None


def check_repo(repo_root: Path) -> Path:
    """The top level of the git work tree holding ``repo_root``, resolved; an input error otherwise."""
    path = Path(repo_root)
    if not path.exists():
        raise InputError(f"repo root does not exist: {path}", "repo_root")
    if not path.is_dir():
        raise InputError(f"repo root is not a folder: {path}", "repo_root")
    result = _run(path, "rev-parse", "--show-toplevel", field="repo_root")
    top = _out(result).strip()
    if result.returncode != 0 or not top:
        raise InputError(f"{path} is not a git repository ({_err(result)})", "repo_root")
    return Path(top).resolve()


def _split_range(rev_range: str) -> tuple[str, str]:
    text = rev_range.strip()
    base, dots, head = text.partition("..")
    base, head = base.strip(), head.strip()
    if not dots or not base or not head or head.startswith(".") or ".." in head:
        raise InputError(f"revision range {rev_range!r} must look like BASE..HEAD", "range")
    for rev in (base, head):
        if rev.startswith("-"):
            raise InputError(f"revision {rev!r} must not start with '-'", "range")
        if "\x00" in rev or "\n" in rev:
            raise InputError(f"revision {rev!r} holds a control character", "range")
    return base, head


def check_range(repo_root: Path, rev_range: str) -> tuple[str, str]:
    """``BASE..HEAD`` as the full hashes of both commits; an input error names a side git cannot resolve."""
    base, head = _split_range(rev_range)
    root = check_repo(repo_root)
    shas = []
    for rev in (base, head):
        result = _run(root, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}", field="range")
        sha = _out(result).strip()
        if result.returncode != 0 or not sha:
            raise InputError(f"unknown revision {rev!r} in range {rev_range!r}", "range")
        shas.append(sha)
    return shas[0], shas[1]


def diff_and_log(repo_root: Path, rev_range: str) -> tuple[str, str]:
    """The range's diff (``git diff A..B``) and its commit messages (LOG_FORMAT, newest first)."""
    base, head = check_range(repo_root, rev_range)
    span = f"{base}..{head}"
    root = check_repo(repo_root)
    diff = _run(root, "diff", "--no-color", "--no-ext-diff", "--no-textconv", span, "--", field="range")
    if diff.returncode != 0:
        raise InputError(f"git diff {rev_range} failed: {_err(diff)}", "range")
    log = _run(root, "log", "--no-color", f"--format={LOG_FORMAT}", span, "--", field="range")
    if log.returncode != 0:
        raise InputError(f"git log {rev_range} failed: {_err(log)}", "range")
    return _out(diff), _out(log)
