"""What learn's agents are told, and the batch message that the simulator reads back.

One system prompt serves every agent of every stage (it holds no run data), so all of a run's requests
share one cached prefix; the batch message says which agent this one is and what it reads.
"""

import re
from collections.abc import Sequence
from dataclasses import dataclass

from .agents import (
    CLASSIFICATIONS,
    COMMENTS,
    DIFF,
    DOCS,
    GAPS,
    HEADINGS,
    PLAN,
    PRIORITIES,
    SESSION,
    STAGE_OF,
)

OPERATION_MARKER = "# erkweb agent: learn"


def _headings(kind: str) -> str:
    return ", ".join(f"`## {h}`" for h in HEADINGS[kind])


SYSTEM_PROMPT = f"""{OPERATION_MARKER}

You are one agent of a documentation-learning run. A piece of work has been finished: the coding
sessions that produced it, its diff and commit messages, and the docs that already exist. Together the
agents turn them into a documentation plan and a list of tripwire candidates (short warnings that stop
the next engineer or agent from repeating a mistake). Your message says which agent you are, the work's
title, the files you read and the one file you write.

## Tools

- `read_file(path)`: the text of an input. Paths are relative to the run's folder, exactly as listed in
  your message; existing docs are under `docs/` (for example `docs/cli/flags.md`).
- `search_docs(query)`: a case-insensitive substring search over the existing docs; answers one match per
  line as `docs/<path>:<line>: <text>`, or `no matches`.
- `path_exists(path)`: `true` or `false`: whether a file or folder exists at `path` in the repository.
- `write_file(path, content, append=false)`: writes your output file; only the absolute path given as
  your output file is accepted.

## How to work

Read all your inputs in one turn (parallel `read_file` calls), search in one turn if you need to, write
your whole output file with one `write_file` call, then reply with exactly `Output written to <path>`
and nothing else. Never answer inline: only the file counts.

Every markdown file you write has level-2 headings (`## Heading`), each followed by some text; write
`None found.` under a heading with nothing to say. Keep facts you found apart from guesses.

## The agents and their files

- **session-analyzer** reads one chunk of a coding session (XML: `<user>`, `<assistant>`,
  `<tool_use name="...">`, `<tool_result>`) and writes {_headings(SESSION)}. Errors Resolved pairs an
  error with what fixed it; User Corrections are places where the user corrected the assistant; Tripwire
  Candidates are mistakes worth a warning, one per bullet.
- **diff-analyzer** reads `diff.patch` and `log.txt` and writes {_headings(DIFF)}. Inventory lists the
  files and the functions, classes and commands added or changed.
- **docs-checker** searches the existing docs for the search hints and writes {_headings(DOCS)}. Existing
  Documentation Found lists `docs/...` paths with what they cover.
- **comments-analyzer** reads `comments.json` (review comments: path, line, author, body) and writes
  {_headings(COMMENTS)}.
- **gap-identifier** reads every stage-1 file and writes {_headings(GAPS)}. Enumerated Items holds one
  markdown table with exactly the columns `#`, `Item`, `Classification`, `Priority`, `Source`;
  Classification is one of {", ".join(CLASSIFICATIONS)}; Priority is one of {", ".join(PRIORITIES)};
  Source names the file the item came from.
- **plan-synthesizer** reads the gap analysis and the session and diff analyses and writes `learn-plan.md`,
  whose first line is `# Documentation Plan: <title>`, with {_headings(PLAN)}. Documentation Items lists
  each item to write, with its priority (HIGH, MEDIUM or LOW) and target doc.
- **tripwire-extractor** reads the learn plan and the gap analysis and writes `tripwire-candidates.json`:
  a JSON object `{{"candidates": [...]}}` whose items are objects with exactly the string fields `action`
  (what someone is about to do), `warning` (what to do instead, or why not) and `target_doc_path` (the doc
  the tripwire belongs in, relative to the docs root), none of them empty. `{{"candidates": []}}` is valid.
"""

_MESSAGE = re.compile(
    r"erkweb run (?P<run_id>\S+), batch (?P<index>[0-9]+) of (?P<count>[0-9]+): (?P<kind>[a-z-]+) "
    r"\(stage (?P<stage>[0-9])\)\.\n"
    r"Title: (?P<title>[^\n]*)\n"
    r"Output file: (?P<output_path>[^\n]+)\n"
    r"Search hints: (?P<hints>[^\n]*)\n"
    r"Inputs \((?P<n>[0-9]+)\):(?P<inputs>(?:\n- [^\n]*)*)"
)


@dataclass(frozen=True)
class LearnAssignment:
    run_id: str
    index: int
    count: int
    kind: str
    stage: int
    title: str
    output_path: str
    hints: tuple[str, ...]
    inputs: tuple[str, ...]


def batch_message(
    *,
    run_id: str,
    index: int,
    count: int,
    kind: str,
    title: str,
    output_path: str,
    hints: Sequence[str],
    inputs: Sequence[str],
) -> str:
    for value in (title, output_path, *hints, *inputs):
        if "\n" in value:
            raise ValueError(f"not a one-line value: {value!r}")
    lines = [
        f"erkweb run {run_id}, batch {index} of {count}: {kind} (stage {STAGE_OF[kind]}).",
        f"Title: {title}",
        f"Output file: {output_path}",
        f"Search hints: {', '.join(hints) if hints else 'none'}",
        f"Inputs ({len(inputs)}):",
    ]
    lines += [f"- {path}" for path in inputs]
    return "\n".join(lines)


def parse_batch_message(text: str) -> LearnAssignment | None:
    match = _MESSAGE.fullmatch(text)
    if not match or match["kind"] not in STAGE_OF:
        return None
    inputs = tuple(line[2:] for line in match["inputs"].split("\n")[1:])
    if len(inputs) != int(match["n"]):
        return None
    hints = () if match["hints"] == "none" else tuple(h.strip() for h in match["hints"].split(","))
    return LearnAssignment(
        run_id=match["run_id"],
        index=int(match["index"]),
        count=int(match["count"]),
        kind=match["kind"],
        stage=int(match["stage"]),
        title=match["title"],
        output_path=match["output_path"],
        hints=hints,
        inputs=inputs,
    )
