"""The report of an audit-doc run, composed from its item rows (one per doc: ``Audit.data()``).

A run of the ``local`` executor says on its first line that its audits are a heuristic's
(specs/audit-doc.md, "The local executor"): a baseline, never to be read as a model's judgement.
"""

from collections.abc import Callable, Sequence
from typing import Any

from runs.markdown import table_cell

from .findings import COLLATERAL_TAGS
from .verdict import VERDICTS

HEURISTIC_NOTE = (
    "_Audited by the **local heuristic** (erkweb's deterministic executor, no LLM): a baseline from "
    "path checks and code searches, not a model's judgement._"
)


def verdict_counts(verdicts: Sequence[str]) -> dict[str, int]:
    return {name: sum(1 for v in verdicts if v == name) for name in VERDICTS}


def _finding_line(finding: dict[str, Any]) -> str:
    evidence = f": {' '.join(finding['evidence'].split())}" if finding.get("evidence") else ""
    return f"- **{finding['status']}** {finding['kind']} `{finding['subject']}`{evidence}"


def _collateral_line(item: dict[str, Any]) -> str:
    where = item["path"] if item.get("line") is None else f"{item['path']}:{item['line']}"
    tag = COLLATERAL_TAGS.get(item["tag"], item["tag"])
    return f"- [{item['tag']}] {tag}: `{where}`: {' '.join(item['text'].split())}"


def render_report(
    audits: Sequence[dict[str, Any]], *, heuristic: bool, doc_link: Callable[[str], str] | None = None
) -> str:
    """``audits`` in the run's doc order; ``doc_link(doc)`` is a doc's history link, when there is one."""
    out = ["# Doc Audit Results", ""]
    if heuristic:
        out += [HEURISTIC_NOTE, ""]
    counts = verdict_counts([a["verdict"] for a in audits])
    out.append(
        f"{len(audits)} doc{'s' if len(audits) != 1 else ''} audited: "
        + ", ".join(f"{n} {name}" for name, n in counts.items() if n)
        + "."
    )
    out += ["", "| Doc | Verdict | Bad | Good | Verified | Broken | Revision |"]
    out.append("| --- | --- | ---: | ---: | ---: | ---: | --- |")
    for a in audits:
        name = table_cell(a["doc"])
        shown = f"[{name}]({doc_link(a['doc'])})" if doc_link else name
        revision = "proposed" if a["revised"] else "none"
        out.append(
            f"| {shown} | {a['verdict']} | {a['bad']}% | {a['good']}% | {a['verified']} | {a['broken']} "
            f"| {revision} |"
        )
    for a in audits:
        out += ["", f"## {' '.join(a['doc'].split())}", ""]
        out.append(f"**{a['verdict']}**: {a['bad']}% of its lines bad, {a['good']}% good.")
        out += ["", " ".join(a["summary"].split()), "", "| Section | Lines | Category | Note |"]
        out.append("| --- | ---: | --- | --- |")
        for row in a["sections"]:
            cells = (table_cell(row["name"]), row["size"], row["category"], table_cell(row["note"]))
            out.append("| {} | {} | {} | {} |".format(*cells))
        out += ["", "Findings:", ""]
        out += [_finding_line(f) for f in a["findings"]] or ["_None._"]
        if a["collateral"]:
            out += ["", "Collateral (for you to look at; never applied):", ""]
            out += [_collateral_line(c) for c in a["collateral"]]
    out.append("")
    return "\n".join(out)
