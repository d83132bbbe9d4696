"""A small git repository with two commits, existing docs, review comments and two Claude Code session
logs (one real, one warm-up), made for learn's tests."""

import json
import subprocess
from pathlib import Path

SESSION_ID = "5f0c2a9e-1111-4c4c-9d9d-0123456789ab"
WARMUP_ID = "9a9a9a9a-2222-4d4d-8e8e-ba9876543210"
TITLE = "Add retry budget to the batch runner"


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-c", "user.name=Test", "-c", "user.email=test@example.com", *args],
        cwd=repo,
        check=True,
        capture_output=True,
        text=True,
        env={"GIT_CONFIG_NOSYSTEM": "1", "HOME": str(repo), "PATH": "/usr/bin:/bin", "LC_ALL": "C"},
    )
    return done.stdout


def _line(kind: str, content, session_id: str, n: int) -> dict:
    return {
        "type": kind,
        "sessionId": session_id,
        "uuid": f"{session_id[:8]}-{n:04d}",
        "timestamp": f"2026-11-27T10:{n:02d}:00Z",
        "message": {"role": kind, "content": content},
    }


def _tool(tool_id: str, name: str, **tool_input) -> dict:
    return {"type": "tool_use", "id": tool_id, "name": name, "input": tool_input}


def _result(tool_id: str, text: str, error: bool = False) -> dict:
    return {"type": "tool_result", "tool_use_id": tool_id, "content": text, "is_error": error}


PYTEST = "pytest tests/test_runner.py"
FAILURE = "FAILED tests/test_runner.py::test_budget - AttributeError: retry_budget"


def session_lines(session_id: str) -> list[dict]:
    """A session that hits the same error twice, gets corrected by the user, and ends green."""
    entries = [
        ("user", "Add a retry budget to BatchRunner so one flaky batch cannot retry forever."),
        (
            "assistant",
            [
                {"type": "thinking", "thinking": "Look at the runner first.", "signature": "x"},
                {"type": "text", "text": "I'll read the runner and run the tests."},
                _tool("t1", "Bash", command=PYTEST),
            ],
        ),
        ("user", [_result("t1", f"collected 3 items\n{FAILURE}\nError: 1 failed", error=True)]),
        (
            "assistant",
            [_tool("t2", "Edit", file_path="src/acme/runner.py", new_string="self.retry_budget = 3")],
        ),
        ("user", [_result("t2", "edited")]),
        ("user", "No, don't hard-code 3: read it from the config instead."),
        ("assistant", [_tool("t3", "Bash", command=PYTEST)]),
        ("user", [_result("t3", FAILURE, error=True)]),
        ("assistant", [_tool("t4", "Bash", command=PYTEST)]),
        ("user", [_result("t4", "3 passed")]),
        ("assistant", [{"type": "text", "text": "The budget now comes from `RunnerConfig.retry_budget`."}]),
    ]
    lines = [{"type": "summary", "summary": "Retry budget", "leafUuid": "x"}]
    lines += [_line(kind, content, session_id, n) for n, (kind, content) in enumerate(entries)]
    lines.append({"type": "file-history-snapshot", "messageId": "m", "snapshot": {}})
    lines.append(_line("user", "from another session", "other-session", 99))
    return lines


def warmup_lines(session_id: str) -> list[dict]:
    return [_line("assistant", [{"type": "text", "text": "Ready when you are."}], session_id, 0)]


def make_learn_repo(root: Path) -> dict:
    """The repository, its sessions folder and comments file; returns their paths."""
    repo = root / "acme"
    (repo / "src" / "acme").mkdir(parents=True)
    (repo / "docs" / "learned" / "runner").mkdir(parents=True)
    (repo / "src" / "acme" / "runner.py").write_text("class BatchRunner:\n    def run(self):\n        pass\n")
    (repo / "docs" / "learned" / "runner" / "batch-runner.md").write_text(
        "# Batch runner\n\nThe batch runner retries a failed batch.\nRetry budget: none yet.\n"
    )
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "Initial runner")
    (repo / "src" / "acme" / "runner.py").write_text(
        "class BatchRunner:\n"
        "    def __init__(self, config):\n"
        "        self.retry_budget = config.retry_budget\n\n"
        "    def run(self):\n        pass\n\n\n"
        "def spend_retry(runner):\n    runner.retry_budget -= 1\n"
    )
    (repo / "src" / "acme" / "config.py").write_text("class RunnerConfig:\n    retry_budget = 3\n")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "Add retry budget to the batch runner\n\nRead it from RunnerConfig.")

    sessions = root / "sessions"
    sessions.mkdir()
    (sessions / f"{SESSION_ID}.jsonl").write_text(
        "".join(json.dumps(x) + "\n" for x in session_lines(SESSION_ID))
    )
    (sessions / f"{WARMUP_ID}.jsonl").write_text(
        "".join(json.dumps(x) + "\n" for x in warmup_lines(WARMUP_ID))
    )
    (sessions / "agent-1234.jsonl").write_text(json.dumps(_line("user", "subagent", "agent", 0)) + "\n")
    comments = root / "comments.json"
    comments.write_text(
        json.dumps(
            [
                {
                    "path": "src/acme/runner.py",
                    "line": 3,
                    "author": "rev",
                    "body": "Please document the budget.",
                },
                {"path": "src/acme/config.py", "line": 2, "author": "rev", "body": "Why 3?"},
            ]
        )
    )
    return {"repo": repo, "sessions": sessions, "comments": comments, "docs": repo / "docs" / "learned"}
