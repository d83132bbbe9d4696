"""The simulated audit-scan agent: reads its docs, checks their path references, writes the batch file.

It plays the protocol the way a careful model would, and its numbers are exact because it measures with
the operation's own code (signals.measure, batchfile.format_batch), from what the tools answered:

1. a short thinking block, then one read_file per doc, all in one turn (stop_reason tool_use);
2. from the read results, path_candidates of every doc; one path_exists per distinct candidate, all in
   one turn (straight to 3 when there are none);
3. write_file with format_batch of measure() for every doc that could be read (a failed read is left
   out, as a model would leave it out);
4. after a successful write, the final message (stop_reason end_turn).

Everything is derived from the conversation, so turns can go to any server thread, or a restarted
server. A misbehaviour (faults.py) changes one of those steps; see `play`.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from runs.operations.audit_scan import batchfile, prompts, signals
from runs.operations.base import final_message
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
WRONG_FINAL = "Done! All docs measured."


def miscount(record: dict[str, Any]) -> dict[str, Any]:
    """About one doc in three gets a few signals wrong, deterministically (the same doc, the same way,
    in every run): what a model that counts by eye does to long docs, code blocks and path checks."""
    digest = hashlib.sha256(record["path"].encode()).digest()
    if digest[0] % 3:
        return record
    wrong = dict(record)
    wrong["lines"] = max(0, record["lines"] + (digest[1] % 7) - 3)
    if digest[2] % 2:
        wrong["code_blocks"] = record["code_blocks"] + 1
    if record["broken_paths"] and digest[3] % 2:
        wrong["broken_paths"] = 0
    if digest[4] % 3 == 0:
        wrong["behavioral_claims"] = record["behavioral_claims"] + 2
    return wrong


def _malformed(content: str) -> str:
    """The batch file with `lines: many` in its 2nd block (the 1st when there is only one)."""
    blocks = content.rstrip("\n").split("\n\n") if content.strip() else ["path: unknown.md\nlines: 0"]
    index = 1 if len(blocks) > 1 else 0
    blocks[index] = re.sub(r"(?m)^lines: .*$", "lines: many", blocks[index])
    return "\n\n".join(blocks) + "\n"


class AuditScanPlayer(Player):
    name = "audit-scan"
    marker = prompts.OPERATION_MARKER
    behaviours = frozenset(MISBEHAVIOURS) - {"drift"}  # drift is learn's tripwire JSON only
    without_assignment = (
        "I could not find my batch assignment (run id, batch number, output path and the "
        "docs to measure) in the first message, so I have nothing to scan."
    )

    def assignment(self, conversation: Conversation) -> prompts.BatchAssignment | None:
        return prompts.parse_batch_message(conversation.first_user_text)

    def play_assignment(
        self, conversation: Conversation, assignment: prompts.BatchAssignment, behaviour: str | None
    ) -> Turn:
        paths = list(assignment.paths)
        output_path = assignment.output_path
        reads: dict[str, str] = {}
        read_failed: list[str] = []
        exists: dict[str, bool] = {}
        read_requested = path_checks_requested = False
        writes: list[tuple[dict[str, Any], dict[str, Any]]] = []
        for use, result in conversation.tool_results():
            name, tool_input = use.get("name"), use.get("input") or {}
            if name == "read_file":
                read_requested = True
                if result_ok(result):
                    reads[str(tool_input.get("path"))] = file_text(result)
                else:
                    read_failed.append(str(tool_input.get("path")))
            elif name == "path_exists":
                path_checks_requested = True
                # An error (say, a path that leaves the repo root) means nothing usable exists there.
                exists[str(tool_input.get("path"))] = result_ok(result) and (
                    result_text(result).strip().lower() == "true"
                )
            elif name == "write_file":
                writes.append((use, result))
        read_requested = read_requested or any(
            use.get("name") == "read_file" for use in conversation.tool_uses().values()
        )

        # Turn 4: the write came back.
        if writes:
            return after_write(
                writes[-1][1],
                behaviour,
                final=final_message(output_path),
                wrong_final=WRONG_FINAL,
                refused="I tried to save the results next to the docs, but the write tool refused that path, "
                "so I am stopping here without an output file.",
            )

        # Turn 1: read every doc, all at once.
        if not read_requested and paths:
            plan = (
                f"Batch {assignment.index} of {assignment.count} in {assignment.run_id}: {len(paths)} docs "
                f"to measure. I'll read them all at once, check their path references, then write "
                f"{output_path}."
            )
            blocks = [thinking(plan)]
            blocks += [tool_use("read_file", {"path": path}, behaviour) for path in paths]
            return Turn(blocks, stop_reason="tool_use")

        if behaviour == "no-write":
            return Turn([text(final_message(output_path))])

        measured = [path for path in paths if path in reads]
        # Turn 2: check the path references that decide broken_paths.
        if not path_checks_requested:
            candidates: list[str] = []
            for path in measured:
                for candidate in signals.path_candidates(reads[path]):
                    if candidate not in candidates:
                        candidates.append(candidate)
            if candidates:
                note = (
                    f"I have read {len(measured)} of {len(paths)} docs. {len(candidates)} distinct path "
                    "references decide broken_paths; I'll check them all at once."
                )
                blocks = [thinking(note)]
                blocks += [
                    tool_use("path_exists", {"path": candidate}, behaviour) for candidate in candidates
                ]
                return Turn(blocks, stop_reason="tool_use")

        # Turn 3: measure and write.
        records = [
            signals.measure(path, reads[path], lambda rel: exists.get(rel, False)) for path in measured
        ]
        if behaviour == "missing-item" and records:
            records = records[:-1]
        if behaviour == "miscount":
            records = [miscount(record) for record in records]
        content = batchfile.format_batch(records) if records else ""
        if behaviour == "empty-file":
            content = ""
        elif behaviour == "malformed-file":
            content = _malformed(content)
        note = f"Measured {len(records)} docs"
        if read_failed:
            note += f" ({len(read_failed)} could not be read and are left out: {', '.join(read_failed)})"
        note += f"; {len(exists)} path checks came back. Writing the 13-line blocks to {output_path}."

        if behaviour == "inline":
            return Turn(
                [
                    thinking(note),
                    text(f"Here are the measurements for batch {assignment.index}:\n\n{content}"),
                ]
            )
        target_path = OUTSIDE_PATH if behaviour == "write-outside" else output_path
        write = tool_use("write_file", {"path": target_path, "content": content}, behaviour)
        turn = Turn([thinking(note), write], stop_reason="tool_use")
        if behaviour == "max-tokens":
            # Run out of output tokens halfway through the file.
            turn.truncate_at = tokens.count_block(turn.content[0]) + max(1, tokens.count_block(write) // 2)
        return turn
