"""The simulated learn agent: reads its inputs, searches the docs, writes its file with the local analyser.

It plays the protocol of learn's shared system prompt the way a careful model would, and writes what
erkweb's ``local`` executor would write (runs/operations/learn/local/ ``analyse``), computed from what
the tools answered, so a simulated run can be checked byte for byte:

1. a short thinking block, then one ``read_file`` per input and, for the docs-checker, one
   ``search_docs`` per search hint (when the request offers that tool), all in one turn (stop_reason
   tool_use); an agent with nothing to read or search goes straight to 2;
2. ``write_file`` with ``analyse(kind, ...)`` of the inputs that could be read (a failed read is left
   out, as a model would leave it out; a failed search counts as ``no matches``);
3. after a successful write, the final message ``Output written to <path>`` (stop_reason end_turn).

Everything is derived from the conversation, so turns can go to any server thread, or a restarted
server. Misbehaviours (faults.py) change one step:

- ``inline``: the file's text is answered in a text block and never written;
- ``no-write``: after the reads, the final message without a write;
- ``empty-file``: writes an empty file;
- ``malformed-file``: markdown: the 2nd required heading is left without text (the next heading follows
  at once); the tripwire JSON: cut before its last closing brace (not JSON);
- ``missing-item``: markdown: the last required heading is dropped with its text; the tripwire JSON:
  every candidate loses ``target_doc_path`` (with no candidates, the ``candidates`` key goes);
- ``write-outside``: writes outside its output file, then gives up with a plain message;
- ``max-tokens``: stops with stop_reason max_tokens in the middle of the write;
- ``wrong-final``: writes correctly but ends with another message;
- ``refusal``: refuses at once (stop_reason refusal);
- ``drift`` (learn only): the tripwire-extractor writes ``tripwire_candidates`` for ``candidates`` and
  ``title``/``description`` for ``action``/``warning``, the drift erkweb repairs with a warning; every
  other agent behaves normally. The rule is taken by the first learn conversation it matches, so aim it
  at the extractor with ``batch=``.
"""

from __future__ import annotations

import json
from typing import Any

from runs.operations.base import final_message
from runs.operations.learn import prompts
from runs.operations.learn.agents import DOCS, HEADINGS, PLAN, TRIPWIRES
from runs.operations.learn.local import analyse
from runs.simulator import tokens
from runs.simulator.faults import MISBEHAVIOURS
from runs.simulator.players import (
    Conversation,
    Player,
    Turn,
    after_write,
    file_text,
    result_ok,
    result_text,
    text,
    thinking,
    tool_use,
)

OUTSIDE_PATH = "../../escape.md"
WRONG_FINAL = "Done! The analysis is complete."
NO_MATCHES = "no matches"


def _drop_section(content: str, heading: str, keep_heading: bool) -> str:
    """The markdown without the text under ``## heading`` (and without the heading unless kept)."""
    out: list[str] = []
    skipping = False
    for line in content.split("\n"):
        if line.startswith(("# ", "## ")):
            skipping = line.strip() == f"## {heading}"
            if skipping and keep_heading:
                out.append(line)
        if not skipping:
            out.append(line)
    return "\n".join(out)


def _malformed(kind: str, content: str) -> str:
    if kind == TRIPWIRES:
        return content[: content.rstrip().rfind("}")]
    headings = HEADINGS[kind]
    return _drop_section(content, headings[1 if len(headings) > 1 else 0], keep_heading=True)


def _missing_item(kind: str, content: str) -> str:
    if kind == TRIPWIRES:
        data = json.loads(content)
        if not data["candidates"]:
            return json.dumps({}, indent=2) + "\n"
        for candidate in data["candidates"]:
            candidate.pop("target_doc_path", None)
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    return _drop_section(content, HEADINGS[kind][-1], keep_heading=False)


def _drifted(content: str) -> str:
    data = json.loads(content)
    candidates = [
        {"title": c["action"], "description": c["warning"], "target_doc_path": c["target_doc_path"]}
        for c in data["candidates"]
    ]
    return json.dumps({"tripwire_candidates": candidates}, indent=2, ensure_ascii=False) + "\n"


EXTRA_TRIPWIRE = {
    "action": "Changing the retry settings without reading the runner docs",
    "warning": "Read the batch runner doc first: retries interact with the budget.",
    "target_doc_path": "tripwires.md",
}


def _miscounted(kind: str, content: str) -> str:
    """What a weaker model does to a plan: rates its first item lower, and invents one more tripwire."""
    if kind == PLAN:
        return content.replace("**HIGH**", "**MEDIUM**", 1)
    if kind == TRIPWIRES:
        data = json.loads(content)
        data["candidates"].append(EXTRA_TRIPWIRE)
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    return content


class LearnPlayer(Player):
    name = "learn"
    marker = prompts.OPERATION_MARKER
    behaviours = frozenset(MISBEHAVIOURS)
    without_assignment = (
        "I could not find my assignment (run id, batch, agent, title, output file and "
        "inputs) in the first message, so I have nothing to analyse."
    )

    def assignment(self, conversation: Conversation) -> prompts.LearnAssignment | None:
        return prompts.parse_batch_message(conversation.first_user_text)

    def play_assignment(
        self, conversation: Conversation, assignment: prompts.LearnAssignment, behaviour: str | None
    ) -> Turn:
        kind = assignment.kind
        output_path = assignment.output_path
        hints = list(assignment.hints) if kind == DOCS and "search_docs" in conversation.tool_names else []
        reads: dict[str, str] = {}
        read_failed: list[str] = []
        searches: dict[str, str] = {}
        writes: list[tuple[dict[str, Any], dict[str, Any]]] = []
        for use, result in conversation.tool_results():
            name, tool_input = use.get("name"), use.get("input") or {}
            if name == "read_file":
                if result_ok(result):
                    reads[str(tool_input.get("path"))] = file_text(result)
                else:
                    read_failed.append(str(tool_input.get("path")))
            elif name == "search_docs":
                searches[str(tool_input.get("query"))] = (
                    result_text(result) if result_ok(result) else NO_MATCHES
                )
            elif name == "write_file":
                writes.append((use, result))
        requested = any(
            use.get("name") in ("read_file", "search_docs") for use in conversation.tool_uses().values()
        )

        # Turn 3: the write came back.
        if writes:
            return after_write(
                writes[-1][1],
                behaviour,
                final=final_message(output_path),
                wrong_final=WRONG_FINAL,
                refused="I tried to save the analysis next to the run folder, but the write tool refused "
                "that path, so I am stopping here without an output file.",
            )

        # Turn 1: read every input and run every search, all at once.
        if not requested and (assignment.inputs or hints):
            plan = (
                f"Batch {assignment.index} of {assignment.count} in {assignment.run_id}: I am the {kind} "
                f"for “{assignment.title}”. I'll read my {len(assignment.inputs)} inputs"
                + (f" and search the docs for {len(hints)} hints" if hints else "")
                + f" at once, then write {output_path}."
            )
            blocks = [thinking(plan)]
            blocks += [tool_use("read_file", {"path": path}, behaviour) for path in assignment.inputs]
            blocks += [tool_use("search_docs", {"query": hint}, behaviour) for hint in hints]
            return Turn(blocks, stop_reason="tool_use")

        if behaviour == "no-write":
            return Turn([text(final_message(output_path))])

        # Turn 2: analyse and write.
        inputs = {path: reads[path] for path in assignment.inputs if path in reads}
        content = analyse(
            kind,
            title=assignment.title,
            hints=assignment.hints,
            inputs=inputs,
            search=lambda query: searches.get(query, NO_MATCHES),
        )
        if behaviour == "empty-file":
            content = ""
        elif behaviour == "malformed-file":
            content = _malformed(kind, content)
        elif behaviour == "missing-item":
            content = _missing_item(kind, content)
        elif behaviour == "drift" and kind == TRIPWIRES:
            content = _drifted(content)
        elif behaviour == "miscount":
            content = _miscounted(kind, content)
        note = f"Read {len(inputs)} of {len(assignment.inputs)} inputs"
        if read_failed:
            note += f" ({len(read_failed)} could not be read and are left out: {', '.join(read_failed)})"
        if hints:
            note += f"; {len(searches)} searches came back"
        note += f". Writing the {kind} file to {output_path}."

        if behaviour == "inline":
            return Turn([thinking(note), text(f"Here is the {kind} output:\n\n{content}")])
        target_path = OUTSIDE_PATH if behaviour == "write-outside" else output_path
        write = tool_use("write_file", {"path": target_path, "content": content}, behaviour)
        turn = Turn([thinking(note), write], stop_reason="tool_use")
        if behaviour == "max-tokens":
            # Run out of output tokens halfway through the file.
            turn.truncate_at = tokens.count_block(turn.content[0]) + max(1, tokens.count_block(write) // 2)
        return turn
