"""The simulated audit-doc agent: reads its doc, checks it against the code, writes its audit file.

It plays the protocol of audit-doc's system prompt the way a careful model would, and writes what
erkweb's ``local`` executor writes (runs/operations/audit_doc/local.py), computed from what the tools
answered, so a simulated run can be checked byte for byte:

1. a short thinking block, then ``read_file`` of the doc at the path its message gives (stop_reason
   tool_use);
2. every ``path_exists`` and ``search_code`` call that ``local.checks`` lists for that doc, all in one
   turn (straight to 3 when there are none; a tool the request does not offer is not called, and then
   every path counts as missing and every search as ``no matches``);
3. ``write_file`` with the audit (a doc that could not be read is reported in text, and nothing is
   written);
4. after a successful write, the final message ``Output written to <path>`` (stop_reason end_turn).

Everything is derived from the conversation, so turns can go to any server thread, or a restarted
server. A misbehaviour (faults.py) changes one step: ``inline``, ``no-write``, ``empty-file``,
``write-outside``, ``max-tokens``, ``wrong-final`` and ``refusal`` as for the other players;
``malformed-file`` writes ``verified: many``; ``missing-item`` leaves the last section out of the table;
``miscount`` plays a weaker model: the doc's largest section gets another category (MISREAD) and the
first broken finding (else the last finding) is missed, and the verdict, counts and revised document
follow the rules from there, so the file still passes verification while its verdict may differ.
"""

from __future__ import annotations

import re
from typing import Any

from runs.operations.audit_doc import local, prompts
from runs.operations.audit_doc.record import Audit, SectionRow, format_audit
from runs.operations.audit_doc.search import NO_MATCHES
from runs.operations.audit_doc.verdict import (
    BROKEN_STATUSES,
    CONTEXTUAL,
    DRIFT_RISK,
    DUPLICATIVE,
    EXAMPLES,
    HIGH_VALUE,
    INACCURATE,
    REFERENCE_CACHE,
)
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
WRONG_FINAL = "Done! The doc is audited."
# What the weaker model takes each category for.
MISREAD = {
    DUPLICATIVE: CONTEXTUAL,
    INACCURATE: CONTEXTUAL,
    DRIFT_RISK: HIGH_VALUE,
    EXAMPLES: CONTEXTUAL,
    HIGH_VALUE: CONTEXTUAL,
    CONTEXTUAL: DUPLICATIVE,
    REFERENCE_CACHE: DUPLICATIVE,
}


def miscounted(doc: str, found: local.Assessment) -> Audit:
    """The audit a weaker model writes: one section misread, one finding missed, the rules kept."""
    rows = list(found.rows)
    if rows:
        largest = max(range(len(rows)), key=lambda i: (rows[i].size, -i))
        row = rows[largest]
        rows[largest] = SectionRow(row.name, MISREAD[row.category], "", row.size)
    findings = list(found.findings)
    if findings:
        missed = next((i for i, f in enumerate(findings) if f.status in BROKEN_STATUSES), len(findings) - 1)
        del findings[missed]
    return local.audit_of(doc, rows, findings, found.revised)


def _without_last_row(content: str) -> str:
    """The file with the Sections table's last row left out."""
    lines = content.split("\n")
    rows = [i for i, line in enumerate(lines) if line.startswith("| ") and i > lines.index("## Sections") + 2]
    table_end = lines.index("## Findings")
    rows = [i for i in rows if i < table_end]
    if rows:
        del lines[rows[-1]]
    return "\n".join(lines)


class AuditDocPlayer(Player):
    name = "audit-doc"
    marker = prompts.OPERATION_MARKER
    behaviours = frozenset(MISBEHAVIOURS) - {"drift"}  # drift is learn's tripwire JSON only
    without_assignment = (
        "I could not find my assignment (run id, batch, output file, the doc and its "
        "sections) in the first message, so I have nothing to audit."
    )

    def assignment(self, conversation: Conversation) -> prompts.DocAssignment | None:
        return prompts.parse_doc_message(conversation.first_user_text)

    def play_assignment(
        self, conversation: Conversation, assignment: prompts.DocAssignment, behaviour: str | None
    ) -> Turn:
        output_path = assignment.output_path
        doc_text: str | None = None
        read_error = ""
        exists: dict[str, bool] = {}
        searches: dict[str, str] = {}
        writes: list[tuple[dict[str, Any], dict[str, Any]]] = []
        for use, result in conversation.tool_results():
            name, tool_input = use.get("name"), use.get("input") or {}
            if name == "read_file" and str(tool_input.get("path")) == assignment.read_path:
                if result_ok(result):
                    doc_text = file_text(result)
                else:
                    read_error = result_text(result).strip()
            elif name == "path_exists":
                # An error (say, a path that leaves the repo root) means nothing usable exists there.
                exists[str(tool_input.get("path"))] = result_ok(result) and (
                    result_text(result).strip().lower() == "true"
                )
            elif name == "search_code":
                searches[str(tool_input.get("query"))] = (
                    result_text(result) if result_ok(result) else NO_MATCHES
                )
            elif name == "write_file":
                writes.append((use, result))
        requested = {use.get("name") for use in conversation.tool_uses().values()}

        # Turn 4: the write came back.
        if writes:
            return after_write(
                writes[-1][1],
                behaviour,
                final=final_message(output_path),
                wrong_final=WRONG_FINAL,
                refused="I tried to save the audit next to the doc, but the write tool refused that path, "
                "so I am stopping here without an output file.",
            )

        # Turn 1: read the doc.
        if "read_file" not in requested:
            plan = (
                f"Batch {assignment.index} of {assignment.count} in {assignment.run_id}: I audit "
                f"{assignment.doc} ({len(assignment.sections)} sections). I'll read it, check its paths and "
                f"symbols against the code all at once, then write {output_path}."
            )
            read = tool_use("read_file", {"path": assignment.read_path}, behaviour)
            return Turn([thinking(plan), read], stop_reason="tool_use")

        if doc_text is None:
            why = read_error or "no answer"
            return Turn([text(f"I could not read {assignment.doc} ({why}), so I cannot audit it.")])
        if behaviour == "no-write":
            return Turn([text(final_message(output_path))])

        # Turn 2: every check the doc needs, at once.
        checks = local.checks(doc_text)
        paths = list(checks.paths) if "path_exists" in conversation.tool_names else []
        queries = list(checks.queries) if "search_code" in conversation.tool_names else []
        if (paths or queries) and not requested & {"path_exists", "search_code"}:
            note = (
                f"{assignment.doc} mentions {len(paths)} paths and module files to check and needs "
                f"{len(queries)} searches; I'll make them all at once."
            )
            blocks = [thinking(note)]
            blocks += [tool_use("path_exists", {"path": path}, behaviour) for path in paths]
            blocks += [tool_use("search_code", {"query": query}, behaviour) for query in queries]
            return Turn(blocks, stop_reason="tool_use")

        # Turn 3: audit and write.
        found = local.assess(
            doc_text,
            exists=lambda rel: exists.get(rel, False),
            search=lambda query: searches.get(query, NO_MATCHES),
        )
        if behaviour == "miscount":
            audit = miscounted(assignment.doc, found)
        else:
            audit = local.audit_of(assignment.doc, found.rows, found.findings, found.revised)
        content = format_audit(audit)
        if behaviour == "empty-file":
            content = ""
        elif behaviour == "malformed-file":
            content = re.sub(r"(?m)^verified: .*$", "verified: many", content, count=1)
        elif behaviour == "missing-item":
            content = _without_last_row(content)
        note = (
            f"{len(exists)} path checks and {len(searches)} searches came back. Verdict {audit.verdict} "
            f"(bad {audit.bad}%, good {audit.good}%); writing the audit to {output_path}."
        )
        if behaviour == "inline":
            return Turn([thinking(note), text(f"Here is the audit of {assignment.doc}:\n\n{content}")])
        target_path = OUTSIDE_PATH if behaviour == "write-outside" else output_path
        write = tool_use("write_file", {"path": target_path, "content": content}, behaviour)
        turn = Turn([thinking(note), write], stop_reason="tool_use")
        if behaviour == "max-tokens":
            # Run out of output tokens halfway through the file.
            turn.truncate_at = tokens.count_block(turn.content[0]) + max(1, tokens.count_block(write) // 2)
        return turn
