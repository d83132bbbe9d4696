"""Shared helpers for the simulator tests: a docs tree, the agent's tools, and a small tool-use loop.

The loop and the tools here follow the contract (runs/tools.py executes the real ones) without importing
erkweb's agent code, so that the simulator is tested on its own.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import anthropic

from runs.operations.audit_scan import prompts
from runs.simulator.players import EMPTY_FILE_RESULT

EPHEMERAL = {"type": "ephemeral"}
MODEL = "claude-haiku-5-5"

TOOLS = [
    {
        "name": "read_file",
        "description": "Read a doc; the path is relative to the docs root.",
        "input_schema": {"type": "object", "properties": {"path": {"type": "string"}}, "required": ["path"]},
    },
    {
        "name": "path_exists",
        "description": "'true' or 'false': whether the path exists under the repo root.",
        "input_schema": {"type": "object", "properties": {"path": {"type": "string"}}, "required": ["path"]},
    },
    {
        "name": "write_file",
        "description": "Write the batch's output file (its absolute path only).",
        "input_schema": {
            "type": "object",
            "properties": {
                "path": {"type": "string"},
                "content": {"type": "string"},
                "append": {"type": "boolean"},
            },
            "required": ["path", "content"],
        },
    },
]

DOCS = {
    "alpha.md": """---
last_audited: 2026-01-05
audit_result: clean
---
# Alpha

The loader returns a plan and raises on bad input. See src/app.py and tests/missing_test.py, also
src/app.py again. Details at line 12 and in src/app.py:40.

1. Load the plan with `load_plan()`.
2. Check it with `PlanSchema`.
3. Save it.

```python
import os
from pathlib import Path
```
""",
    "beta/gamma.md": """# Gamma

No frontmatter here. It will always work, and it never fails.
Code lives in packages/core/ and .claude/commands/ghost.md; the `run_batch` helper does it.

```
from x import y
```
```
import json
""",
    "delta.md": """---
redirect_to: alpha.md
audit_result: edited
---
# Delta

Moved to alpha. Nothing to see: no paths, no code.
""",
}


def make_tree(root: Path) -> tuple[Path, Path]:
    """A repo with docs under docs/learned (and some of the paths they mention). Returns (repo, docs)."""
    repo = root / "repo"
    docs = repo / "docs" / "learned"
    for rel, text in DOCS.items():
        path = docs / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    (repo / "src").mkdir(parents=True)
    (repo / "src" / "app.py").write_text("print('hi')\n")
    (repo / "packages" / "core").mkdir(parents=True)
    return repo, docs


def client(url: str, max_retries: int = 0) -> anthropic.Anthropic:
    return anthropic.Anthropic(api_key="test", base_url=url, max_retries=max_retries)


def system_blocks(text: str = prompts.SYSTEM_PROMPT) -> list[dict]:
    return [{"type": "text", "text": text, "cache_control": EPHEMERAL}]


def batch_message(
    output: Path, paths: list[str], run_id: str = "audit-scan-20261101-120000-abcd", index=1, count=1
):
    return prompts.batch_message(
        run_id=run_id, index=index, count=count, output_path=str(output), paths=paths
    )


@dataclass
class Tools:
    """The three agent tools, confined like erkweb's, answering tool_use blocks with tool_result blocks."""

    docs: Path
    repo: Path
    output: Path
    read_as_blocks: bool = False  # answer read_file with a list of text blocks instead of a string
    calls: list[tuple[str, dict]] = field(default_factory=list)

    def _inside(self, root: Path, rel: str) -> Path:
        if not isinstance(rel, str) or not rel or os.path.isabs(rel):
            raise ValueError(f"bad path: {rel!r}")
        path = (root / rel).resolve()
        if not path.is_relative_to(root.resolve()):
            raise ValueError(f"path leaves its root: {rel}")
        return path

    def run(self, block) -> dict:
        self.calls.append((block.name, dict(block.input)))
        try:
            content = self._call(block.name, block.input)
        except ValueError as exc:
            return {
                "type": "tool_result",
                "tool_use_id": block.id,
                "content": f"error: {exc}",
                "is_error": True,
            }
        return {"type": "tool_result", "tool_use_id": block.id, "content": content}

    def _call(self, name: str, args: dict):
        if name == "read_file":
            path = self._inside(self.docs, args.get("path"))
            if not path.is_file():
                raise ValueError(f"no such file: {args.get('path')}")
            # erkweb's read_file never answers nothing: an empty file is EMPTY_FILE_RESULT.
            text = path.read_text() or EMPTY_FILE_RESULT
            return [{"type": "text", "text": text}] if self.read_as_blocks else text
        if name == "path_exists":
            return "true" if self._inside(self.repo, args.get("path")).exists() else "false"
        if name == "write_file":
            if os.path.normpath(args.get("path", "")) != str(self.output):
                raise ValueError(f"write_file may only write {self.output}, not {args.get('path')}")
            content = args.get("content", "")
            mode = "a" if args.get("append") else "w"
            with self.output.open(mode) as fh:
                fh.write(content)
            return f"wrote {len(content)} characters to {self.output}"
        raise ValueError(f"unknown tool: {name}")


def with_breakpoint(messages: list[dict]) -> list[dict]:
    """The messages with a cache breakpoint on the last block of the newest one (incremental caching)."""
    sent = list(messages)
    last = dict(sent[-1])
    last["content"] = [dict(block) for block in last["content"]]
    last["content"][-1]["cache_control"] = EPHEMERAL
    sent[-1] = last
    return sent


@dataclass
class Conversation:
    responses: list = field(default_factory=list)
    requests: list[list[dict]] = field(default_factory=list)  # the messages of each request
    messages: list[dict] = field(default_factory=list)

    @property
    def last(self):
        return self.responses[-1]

    @property
    def final_text(self) -> str:
        return "".join(block.text for block in self.last.content if block.type == "text")


def sendable(content) -> list[dict]:
    """Response blocks as request params, the way erkweb's loop sends them back: unchanged and in order,
    except empty or whitespace-only text blocks, which the API returns beside tool calls but refuses
    in a request (the simulator plays that quirk)."""
    blocks = [b.model_dump(mode="json", exclude_none=True) for b in content]
    return [b for b in blocks if not (b.get("type") == "text" and not b.get("text", "").strip())]


def drive(
    api: anthropic.Anthropic,
    tools: Tools,
    user_message: str,
    *,
    system: list[dict] | None = None,
    model: str = MODEL,
    max_tokens: int = 8000,
    max_turns: int = 8,
) -> Conversation:
    """Run the tool-use loop to its end: each assistant turn goes back (sendable), tools run locally."""
    convo = Conversation(messages=[{"role": "user", "content": [{"type": "text", "text": user_message}]}])
    for _ in range(max_turns):
        sent = with_breakpoint(convo.messages)
        convo.requests.append(sent)
        response = api.messages.create(
            model=model,
            max_tokens=max_tokens,
            system=system if system is not None else system_blocks(),
            tools=TOOLS,
            messages=sent,
        )
        convo.responses.append(response)
        convo.messages.append({"role": "assistant", "content": sendable(response.content)})
        if response.stop_reason != "tool_use":
            break
        results = [tools.run(block) for block in response.content if block.type == "tool_use"]
        convo.messages.append({"role": "user", "content": results})
    return convo
